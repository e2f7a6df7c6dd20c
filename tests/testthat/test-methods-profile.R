# profile(): zeta profiles of every parameter, with confint(), as.data.frame()
# and plot(); the intervals are confint(method = "profile")'s and lme4's.

test_that("confint() of a profile gives the profile intervals, and lme4's", {
  skip_if_not_installed("lme4")
  m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
  pr <- profile(m)
  expect_s3_class(pr, "profile.glmmr")
  ci <- confint(pr)
  direct <- confint(m, method = "profile")
  expect_identical(rownames(ci), rownames(direct))
  expect_equal(ci, direct, tolerance = 1e-3)
  ml <- lme4::lmer(Reaction ~ Days + (Days | Subject), sleepstudy, REML = FALSE)
  ref <- confint(profile(ml))
  # lme4 names them .sig01 (sd of the intercept), .sig02 (the correlation),
  # .sig03 (sd of Days), .sigma, then the fixed effects
  lme4_rows <- c("sd_(Intercept)|Subject" = ".sig01", "sd_Days|Subject" = ".sig03",
                 "cor_Days.(Intercept)|Subject" = ".sig02", sigma = ".sigma",
                 "(Intercept)" = "(Intercept)", Days = "Days")
  expect_equal(unname(ci), unname(ref[lme4_rows[rownames(ci)], ]), tolerance = 1e-4)
})

test_that("the profile's points: zeta 0 at the estimate, increasing, lme4's long format", {
  m <- glmmr(Reaction ~ Days + (1 | Subject), sleepstudy)
  pr <- profile(m, which = c("sd_(Intercept)|Subject", "Days"))
  expect_named(pr, c("sd_(Intercept)|Subject", "Days"))
  for (d in pr) expect_true(all(diff(d$.zeta) > 0))
  expect_equal(pr$Days$.zeta[pr$Days$value == fixef(m)[["Days"]]], 0)
  # |zeta| reaches the 99% normal quantile at the ends
  expect_equal(range(pr$Days$.zeta), c(-1, 1) * stats::qnorm(0.995), tolerance = 1e-4)
  df <- as.data.frame(pr)
  expect_named(df, c(".zeta", ".par", ".focal"))
  expect_identical(levels(df$.par), names(pr))
  # zeta^2 is the rise of -2 log L: the refit with Days held as an offset
  v <- pr$Days$value[2]
  held <- glmmr(Reaction ~ 1 + offset(v * Days) + (1 | Subject), sleepstudy)
  expect_equal(pr$Days$.zeta[2]^2, -2 * (logLik(held)[1] - logLik(m)[1]), tolerance = 1e-6)
  grDevices::pdf(NULL)
  on.exit(grDevices::dev.off())
  expect_identical(plot(pr), pr)
})

test_that("profile() checks its arguments", {
  m <- glmmr(Reaction ~ Days + (1 | Subject), sleepstudy)
  expect_error(profile(m, which = "nope"), "`which` names no parameter")
  expect_error(profile(m, alphamax = 2), "`alphamax` must be")
  expect_error(profile(m, devtol = 1), "unknown argument.*`devtol`")
})
