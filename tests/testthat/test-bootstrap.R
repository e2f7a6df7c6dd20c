# bootstrap(): simulate, refit through the prepared model, apply FUN; the
# replicates are those of refit() on simulate()'s responses, on any future
# plan.

test_that("the replicates are FUN of the refits to simulate()'s responses", {
  skip_if_not_installed("lme4")
  m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
  b <- bootstrap(m, fixef, nsim = 6, seed = 12)
  expect_s3_class(b, "boot")
  expect_identical(b$t0, fixef(m))
  expect_identical(b$R, 6L)
  ys <- simulate(m, nsim = 6, seed = 12)
  by_hand <- t(vapply(ys, function(y) fixef(lme4::refit(m, y)), fixef(m)))
  dimnames(by_hand) <- NULL
  expect_identical(unname(b$t), by_hand)
  # use.u = TRUE keeps the fitted random effects: simulate(re.form = NULL)
  bu <- bootstrap(m, fixef, nsim = 3, seed = 2, use.u = TRUE)
  yu <- simulate(m, nsim = 3, seed = 2, re.form = NULL)
  expect_identical(unname(bu$t[3, ]), unname(fixef(lme4::refit(m, yu[[3]]))))
  # the same seed gives the same replicates
  expect_identical(bootstrap(m, fixef, nsim = 6, seed = 12)$t, b$t)
})

test_that("a cbind() response reaches the refits whole, each replicate a matrix", {
  skip_if_not_installed("lme4")
  cbpp <- lme4_cbpp()
  cbpp$w <- rep(1:2, length.out = nrow(cbpp))
  for (w in list(NULL, cbpp$w)) {
    g <- glmmr(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp,
               family = binomial, weights = w)
    b <- bootstrap(g, function(fit) c(fixef(fit), ll = as.numeric(logLik(fit))),
                   nsim = 3, seed = 7)
    ys <- simulate(g, nsim = 3, seed = 7)
    for (j in 1:3) {
      # the fit from scratch of the simulated matrix (without the prior
      # weights: its rows add up to weights(g))
      d <- cbpp
      d$Y <- ys[[j]]
      fresh <- glmmr(Y ~ period + (1 | herd), d, family = binomial)
      expect_identical(unname(b$t[j, ]),
                       unname(c(fixef(fresh), as.numeric(logLik(fresh)))))
    }
  }
  ci <- confint(g, method = "boot", nsim = 20, seed = 2)
  expect_false(anyNA(ci))
  expect_true(all(ci[, 1] < ci[, 2]))
  expect_true(ci["period2", 1] < fixef(g)[["period2"]] && fixef(g)[["period2"]] < ci["period2", 2])
})

test_that("boot::boot.ci() reads the result", {
  skip_if_not_installed("boot")
  m <- glmmr(Reaction ~ Days + (1 | Subject), sleepstudy)
  b <- bootstrap(m, fixef, nsim = 40, seed = 3)
  ci <- boot::boot.ci(b, type = c("perc", "norm"), index = 2)
  # the normal interval is t0 - bias +- z * sd of the replicates
  z <- stats::qnorm(0.975)
  bias <- mean(b$t[, 2]) - b$t0[[2]]
  expect_equal(ci$normal[2:3], b$t0[[2]] - bias + c(-1, 1) * z * sd(b$t[, 2]),
               tolerance = 1e-10)
  expect_true(ci$percent[4] < b$t0[[2]] && b$t0[[2]] < ci$percent[5])
})

test_that("a failed refit leaves a row of NA and a warning", {
  m <- glmmr(Reaction ~ Days + (1 | Subject), sleepstudy)
  calls <- 0
  fun <- function(fit) {
    calls <<- calls + 1
    if (calls == 3) stop("no good") # the third call: the second replicate
    fixef(fit)
  }
  expect_warning(b <- bootstrap(m, fun, nsim = 4, seed = 1), "1 of 4 bootstrap refits failed")
  expect_true(all(is.na(b$t[2, ])))
  expect_false(anyNA(b$t[-2, ]))
  expect_identical(names(attr(b, "boot.fail.msgs")), "no good")
})

test_that("the replicates are the same on a two-worker multisession plan", {
  skip_on_cran()
  skip_if_not_installed("future")
  skip_if_not_installed("future.apply")
  m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
  seq_b <- bootstrap(m, fixef, nsim = 8, seed = 5)
  old <- future::plan(future::multisession, workers = 2)
  on.exit(future::plan(old), add = TRUE)
  par_b <- bootstrap(m, fixef, nsim = 8, seed = 5)
  expect_identical(par_b$t, seq_b$t)
})

test_that("bootstrap() checks its arguments", {
  m <- glmmr(Reaction ~ Days + (1 | Subject), sleepstudy)
  expect_error(bootstrap(m, fixef, nsim = 0), "`nsim` must be a positive whole number")
  expect_error(bootstrap(m, fixef, type = "semiparametric"), "`type` must be \"parametric\"")
  expect_error(bootstrap(m, fixef, nsims = 3), "unknown argument.*`nsims`")
  expect_error(bootstrap(m, function(f) "a"), "`FUN` must return a numeric vector")
})
