# broom.mixed's tidy(), glance() and augment() on glmmr fits (issue 13,
# part 3): what broom.mixed gives for lme4's fit of the same model, the same
# columns in the same order and the same values.

test_that("tidy() is broom.mixed's for an ML fit, every effects and conf.int", {
  skip_if_not_installed("broom.mixed")
  p <- sleep_pair()
  for (e in list("fixed", "ran_pars", "ran_vals", c("ran_pars", "fixed"),
                 c("fixed", "ran_pars", "ran_vals"))) {
    for (ci in c(FALSE, TRUE)) {
      expect_equal(generics::tidy(p$g, effects = e, conf.int = ci),
                   broom.mixed::tidy(p$l, effects = e, conf.int = ci),
                   tolerance = 1e-3, info = paste(paste(e, collapse = "+"), ci))
    }
  }
  expect_equal(generics::tidy(p$g, scales = c("vcov", NA)),
               broom.mixed::tidy(p$l, scales = c("vcov", NA)), tolerance = 1e-3)
  expect_equal(generics::tidy(p$g, effects = "fixed", conf.int = TRUE, conf.level = 0.8),
               broom.mixed::tidy(p$l, effects = "fixed", conf.int = TRUE, conf.level = 0.8),
               tolerance = 1e-3)
})

test_that("tidy() on two terms of one factor and on a REML fit", {
  skip_if_not_installed("broom.mixed")
  p <- sleep_pair(Reaction ~ Days + (1 | Subject) + (0 + Days | Subject))
  expect_equal(generics::tidy(p$g, effects = c("fixed", "ran_pars", "ran_vals")),
               broom.mixed::tidy(p$l, effects = c("fixed", "ran_pars", "ran_vals")),
               tolerance = 1e-3)
  r <- sleep_pair(REML = TRUE)
  expect_equal(generics::tidy(r$g, conf.int = TRUE), broom.mixed::tidy(r$l, conf.int = TRUE),
               tolerance = 1e-3)
  expect_equal(generics::glance(r$g), broom.mixed::glance(r$l), tolerance = 1e-3)
})

test_that("tidy() and glance() of gm1 are broom.mixed's (p-values, exponentiate)", {
  skip_if_not_installed("broom.mixed")
  g <- gm1_pair()
  expect_equal(generics::tidy(g$g, conf.int = TRUE), broom.mixed::tidy(g$l, conf.int = TRUE),
               tolerance = 1e-3)
  expect_equal(generics::tidy(g$g, effects = "fixed", conf.int = TRUE, exponentiate = TRUE),
               broom.mixed::tidy(g$l, effects = "fixed", conf.int = TRUE, exponentiate = TRUE),
               tolerance = 1e-3)
  expect_equal(generics::tidy(g$g, effects = "ran_vals", conf.int = TRUE),
               broom.mixed::tidy(g$l, effects = "ran_vals", conf.int = TRUE), tolerance = 1e-3)
  expect_equal(generics::glance(g$g), broom.mixed::glance(g$l), tolerance = 1e-3)
})

test_that("glance() and augment() of an LMM are broom.mixed's", {
  skip_if_not_installed("broom.mixed")
  p <- sleep_pair()
  expect_equal(generics::glance(p$g), broom.mixed::glance(p$l), tolerance = 1e-3)
  expect_equal(generics::augment(p$g), broom.mixed::augment(p$l), tolerance = 1e-3)
  # with prior weights (hat values and Cook's distances weigh the rows)
  d <- sleepstudy
  d$w <- rep(c(1, 2, 0.5), 60)
  l <- lme4::lmer(Reaction ~ Days + (Days | Subject), d, weights = w, REML = FALSE)
  g <- glmmr(Reaction ~ Days + (Days | Subject), d, weights = w)
  expect_equal(generics::augment(g), broom.mixed::augment(l), tolerance = 1e-3)
  nd <- sleepstudy[c(3, 40), ]
  expect_equal(generics::augment(g, newdata = nd)$.fitted,
               unname(predict(l, newdata = nd)), tolerance = 1e-4)
})

test_that("augment() of gm1 is broom.mixed's", {
  skip_if_not_installed("broom.mixed")
  g <- gm1_pair()
  # lme4 warns that the hat matrix "may not make sense for GLMMs"
  expect_equal(generics::augment(g$g), suppressWarnings(broom.mixed::augment(g$l)),
               tolerance = 1e-3)
})

test_that("the broom methods check their arguments", {
  skip_if_not_installed("generics")
  m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
  expect_error(generics::tidy(m, effects = "ran_coefs"), "`effects`")
  expect_error(generics::tidy(m, scales = c("vcov", NA, NA)), "`scales`")
  expect_error(generics::tidy(m, scales = "sd"), "`scales`")
  expect_error(generics::tidy(m, conf.int = NA), "`conf.int`")
  expect_error(generics::tidy(m, conf.level = 2), "`conf.level`")
  expect_error(generics::tidy(m, conf.method = "profile"), "`conf.method`")
  expect_error(generics::tidy(m, effectz = "fixed"), "unknown argument .*`effectz`")
  expect_error(generics::glance(m, foo = 1), "unknown argument .*`foo`")
  expect_error(generics::augment(m, foo = 1), "unknown argument .*`foo`")
  expect_error(generics::augment(m, data = sleepstudy[1:10, ]), "`data`")
  expect_error(generics::augment(m, newdata = 1), "`newdata`")
})
