# Generalized linear mixed models against reference numbers: the seed's
# contraception models gm1, gm2, gm3 (the seed's table of values) and
# lme4 1.1-31 fits stored in fixtures/glmm-fixtures.rds (loaded by
# helper-glmm-fixtures.R).
# Every number asserted here comes from one of those two sources; glmmr's own
# output is compared only with itself where two spellings of one model must
# give one fit.

# Largest element-wise relative error of `ours` against `ref`
max_rel_err_glmm <- function(ours, ref) max(abs(ours - ref) / abs(ref))

# Fixed effects within `frac` of lme4's standard error, matched by name
expect_fixef_near <- function(m, ref, se, frac = 0.05) {
  beta <- fixef(m)
  expect_setequal(names(beta), names(ref))
  dz <- abs(beta[names(ref)] - ref) / se[names(ref)]
  expect_true(all(dz <= frac), label = paste0(
    "fixef within ", frac, " SE of lme4's (largest |diff|/SE: ",
    signif(max(dz), 3), " for ", names(ref)[which.max(dz)], ")"))
}

# ---------------------------------------------------------------------------
# The seed's models gm1, gm2, gm3: Bernoulli, logit, nAGQ = 9, Helmert coding
# for urban, sum coding for children.
#
# Seed numbers (the seed's table of values, printed by MixedModels.jl) are
# written below as literals, in the fixture's coefficient order. The seed reports `children`
# with effects coding on the level TRUE; R's contr.sum puts +1 on the first
# level, FALSE, so children1 and age:children1 have the opposite sign in R
# (and in lme4, i.e. the fixture). `seed_sign` turns the seed's values into
# R's coding; their standard errors are unaffected.
#
# The seed prints 4 decimals, so a seed value is known only to +-5e-5; for
# I(age^2) (seed SE 0.0007 or 0.0008) that is several per cent. Comparisons
# with the seed therefore allow max(relative tolerance, 5e-5).

seed_glmm <- list(
  gm1 = list(
    est = c(-0.6871, 0.0035, -0.0046, 0.3484, 0.8151, 0.9165, 0.9154),
    se = c(0.1686, 0.0092, 0.0007, 0.0600, 0.1622, 0.1851, 0.1858),
    sign = rep(1, 7),
    sigma = 0.4786),
  gm2 = list(
    # (Intercept), age, children, I(age^2), urban, age:children
    est = c(-0.3614, -0.0131, 0.6054, -0.0058, 0.3567, 0.0342),
    se = c(0.1275, 0.0110, 0.1035, 0.0008, 0.0602, 0.0127),
    sign = c(1, 1, -1, 1, 1, -1),
    sigma = 0.4757),
  gm3 = list(
    est = c(-0.3415, -0.0129, 0.6065, -0.0056, 0.3936, 0.0332),
    se = c(0.1269, 0.0112, 0.1045, 0.0008, 0.0859, 0.0128),
    sign = c(1, 1, -1, 1, 1, -1),
    sigma = 0.5761)
)
seed_rounding <- 5e-5   # half a unit in the seed's 4th decimal

for (nm in names(seed_glmm)) {
  local({
    fx <- glmm_fixtures[[nm]]
    seed <- seed_glmm[[nm]]
    test_that(paste0("seed model ", nm, " (nAGQ = 9) reproduces the seed and lme4"), {
      expect_identical(fx$nAGQ, 9L)
      # lme4 prints two false convergence alarms on these; glmmr must not warn
      expect_warning(m <- fit_glmm_fixture(fx), NA)
      expect_identical(m$nAGQ, 9L)

      # Reference estimates. For gm2 lme4's default fit (bobyqa, default
      # tolerances) stopped early: its fixef differ from the tight refit by
      # ~3e-4 and its deviance is ~1e-5 worse, so the tight refit
      # `fixef_check` (which is also what the seed's table of values lists
      # in its lme4 column) is the reference there.
      ref <- if (nm == "gm2") fx$fixef_check else fx$fixef
      ref_sd <- if (nm == "gm2") unname(fx$theta_check) else fx$varcorr$sdcor
      expect_fixef_near(m, ref, fx$se, 0.05)

      # ... and the seed's printed estimates: within 5% of the seed's SE,
      # plus the seed's rounding (MixedModels' optimum is not lme4's to the
      # last digit: gm3's children is 0.6065 there, 0.606444 in lme4)
      beta <- fixef(m)[names(fx$fixef)]
      seed_est <- seed$sign * seed$est
      d_seed <- abs(beta - seed_est)
      expect_true(all(d_seed <= 0.05 * seed$se + seed_rounding), label = paste0(
        "fixef near the seed's 4-decimal estimates (largest |diff|: ",
        signif(max(d_seed), 3), " for ", names(beta)[which.max(d_seed)], ")"))
      # The sign flip really is the coding: lme4 (fixture) agrees in sign
      expect_equal(sign(unname(fx$fixef)), sign(seed_est))

      # -2 log L no worse than lme4's and not implausibly lower; the
      # brute-force integral at lme4's estimates is a sanity bound
      ours <- m2ll(m)
      expect_lte(ours, fx$m2ll_absolute + 0.01)
      expect_gte(ours, fx$m2ll_absolute - 0.05)
      expect_gte(ours, fx$m2ll_bruteforce - 0.05)

      # sigma of the random effect (the SD in VarCorr; the Bernoulli family
      # has no scale)
      vc <- as.data.frame(VarCorr(m))
      expect_identical(nrow(vc), 1L)
      sd_re <- vc$sdcor[1]
      expect_lte(abs(sd_re - seed$sigma), 1e-3)
      expect_lte(abs(sd_re - ref_sd) / ref_sd, 1e-3)
      expect_equal(unname(attr(VarCorr(m)[[1]], "stddev")), sd_re)
      expect_equal(sigma(m), 1)

      # Standard errors from the factor (the seed's) within 2% of the seed's
      # (or its rounding), from the Hessian within 2% of lme4's (fixture)
      se_factor <- sqrt(diag(vcov(m, type = "factor")))[names(fx$se)]
      expect_identical(attr(vcov(m, type = "factor"), "type"), "factor")
      ok <- abs(se_factor - seed$se) <= pmax(0.02 * seed$se, seed_rounding)
      expect_true(all(ok), label = paste0(
        "factor SEs within 2% of the seed's (ours: ",
        paste(signif(se_factor[!ok], 5), collapse = ", "), "; seed: ",
        paste(seed$se[!ok], collapse = ", "), ")"))
      se_hess <- sqrt(diag(vcov(m, type = "hessian")))[names(fx$se)]
      expect_lte(max_rel_err_glmm(se_hess, fx$se), 0.02)

      # Sizes
      expect_equal(nobs(m), fx$nobs)
      expect_equal(attr(logLik(m), "df"), fx$logLik_df)
      expect_equal(vapply(m$reterms, `[[`, 0L, "nlevels"), unname(fx$ngrps))
    })
  })
}

# ---------------------------------------------------------------------------
# Every other fixture model against lme4

# The non-canonical links (contra_probit, cbpp_cloglog) are compared with
# glmmTMB in test-glmm-laplace.R (fixtures/glmmtmb-fixtures.rds): lme4's
# Laplace value uses the Fisher information there, glmmr's the observed one
# (the true Laplace approximation). gamma_log is tested below.
other_fixtures <- setdiff(names(glmm_fixtures),
                          c("gm1", "gm2", "gm3", "gamma_log",
                            "contra_probit", "cbpp_cloglog"))

for (nm in other_fixtures) {
  local({
    fx <- glmm_fixtures[[nm]]
    test_that(paste0("fixture ", nm, ": ", fx$formula, " [", fx$family, "(",
                     fx$link, "), nAGQ = ", fx$nAGQ, "] agrees with lme4"), {
      expect_warning(m <- fit_glmm_fixture(fx), NA)

      # -2 log L on the absolute scale: no worse than lme4's (at most 0.01
      # above), and not implausibly lower (a different likelihood)
      ours <- m2ll(m)
      expect_lte(ours, fx$m2ll_absolute + 0.01)
      expect_gte(ours, fx$m2ll_absolute - 0.05)
      if (!is.null(fx$m2ll_bruteforce) && fx$nAGQ > 1L) {
        # quadrature approximates the integral itself: the brute-force value
        # at lme4's estimates bounds the optimum from above (up to the
        # quadrature error), and with 25 nodes the two agree closely
        expect_gte(ours, fx$m2ll_bruteforce - 0.05)
        if (fx$nAGQ == 25L) {
          expect_lte(abs(ours - fx$m2ll_bruteforce), 1e-4)
        }
      }

      # Fixed effects within 5% of lme4's standard error
      expect_fixef_near(m, fx$fixef, fx$se, 0.05)

      # Standard errors (Hessian, lme4's kind) within 5% of lme4's: both
      # are finite-difference Hessians at slightly different optima
      se_hess <- sqrt(diag(vcov(m, type = "hessian")))[names(fx$se)]
      expect_lte(max_rel_err_glmm(se_hess, fx$se), 0.05)

      # Covariance parameters: 1% relative or 1e-3 absolute of lme4's
      th <- m$theta
      expect_setequal(names(th), names(fx$theta))
      th <- th[names(fx$theta)]
      ok <- abs(th - fx$theta) <= pmax(0.01 * abs(fx$theta), 1e-3)
      expect_true(all(ok), label = paste0(
        "theta near lme4's (ours: ", paste(signif(th, 6), collapse = ", "),
        "; lme4: ", paste(signif(fx$theta, 6), collapse = ", "), ")"))

      # Sizes
      ll <- logLik(m)
      expect_equal(attr(ll, "df"), fx$logLik_df)
      expect_equal(nobs(m), fx$nobs)
      expect_equal(attr(ll, "nobs"), fx$nobs)
      expect_equal(sort(vapply(m$reterms, `[[`, 0L, "nlevels")),
                   sort(unname(fx$ngrps)))
      expect_equal(sigma(m), 1)

      if (isTRUE(fx$singular)) {
        # lme4 finds theta = 0 (a boundary fit); ours must be exactly 0
        expect_identical(unname(fx$theta), 0)
        expect_identical(unname(m$theta), 0)
      }
    })
  })
}

# ---------------------------------------------------------------------------
# One absolute scale for every nAGQ

test_that("gm1: -2 log L at nAGQ = 25 sits next to the Laplace value", {
  f25 <- glmm_fixtures$bernoulli_agq_nodes
  f1 <- glmm_fixtures$gm1_laplace
  expect_identical(f25$nAGQ, 25L)
  expect_identical(f1$nAGQ, 1L)
  expect_identical(f25$formula, f1$formula)
  m25 <- fit_glmm_fixture(f25)
  m1 <- fit_glmm_fixture(f1)
  # lme4's absolute values differ by 0.27 (fixture); ours must be as close
  expect_lte(abs(f25$m2ll_absolute - f1$m2ll_absolute), 0.5)
  expect_lte(abs(m2ll(m25) - m2ll(m1)), 0.5)
  expect_lte(abs(m2ll(m25) - f25$m2ll_bruteforce), 1e-4)
})

test_that("cbpp: -2 log L at nAGQ = 25 sits next to the Laplace value, not 84 units away", {
  f25 <- glmm_fixtures$cbpp_cbind_agq25
  f1 <- glmm_fixtures$cbpp_cbind
  m25 <- fit_glmm_fixture(f25)
  m1 <- fit_glmm_fixture(f1)
  expect_lte(abs(m2ll(m25) - m2ll(m1)), 0.5)
  expect_lte(abs(m2ll(m25) - f25$m2ll_bruteforce), 1e-4)
  # lme4 reports nAGQ = 25 relative to the saturated model: its own number
  # is off by the saturated constant (83.96, fixture), ours is not
  expect_gt(f25$saturated_const, 50)
  expect_gt(abs(m2ll(m25) - f25$lme4_deviance), 50)
  expect_lte(abs(m2ll(m25) - (f25$lme4_deviance + f25$saturated_const)), 0.01)
})

# ---------------------------------------------------------------------------
# Spellings of one model give one fit

test_that("cbpp as cbind() and as proportion with weights give the same fit", {
  for (pair in list(c("cbpp_cbind", "cbpp_prop"),
                    c("cbpp_cbind_agq25", "cbpp_prop_agq25"))) {
    ma <- fit_glmm_fixture(glmm_fixtures[[pair[1]]])
    mb <- fit_glmm_fixture(glmm_fixtures[[pair[2]]])
    expect_lte(abs(m2ll(ma) - m2ll(mb)), 1e-8)
    expect_lte(max(abs(fixef(ma) - fixef(mb))), 1e-6)
    expect_identical(nobs(ma), nobs(mb))
    # lme4 also gives one value for the two (fixture)
    expect_lte(abs(glmm_fixtures[[pair[1]]]$m2ll_absolute -
                     glmm_fixtures[[pair[2]]]$m2ll_absolute), 1e-6)
  }
})

test_that("a two-level factor, a logical and a 0/1 response give the same gm1 fit", {
  fx <- glmm_fixtures$gm1
  d <- contra
  d$use_num <- as.numeric(contra$use == "Y")
  d$use_lgl <- contra$use == "Y"
  rhs <- "~ 1 + age + I(age^2) + urban + livch + (1 | dist)"
  fit <- function(lhs) {
    glmmr(stats::as.formula(paste(lhs, rhs)), data = d, family = binomial,
          nAGQ = 9, contrasts = list(urban = "contr.helmert"))
  }
  expect_warning(m_fac <- fit("use"), NA)
  expect_warning(m_num <- fit("use_num"), NA)
  expect_warning(m_lgl <- fit("use_lgl"), NA)
  # the factor's first level, N, is failure: the fit is lme4's
  expect_lte(m2ll(m_fac), fx$m2ll_absolute + 0.01)
  expect_fixef_near(m_fac, fx$fixef, fx$se, 0.05)
  for (m in list(m_num, m_lgl)) {
    expect_lte(abs(m2ll(m) - m2ll(m_fac)), 1e-8)
    expect_lte(max(abs(fixef(m) - fixef(m_fac))), 1e-6)
    expect_lte(max(abs(m$theta - m_fac$theta)), 1e-6)
  }
})

test_that("family as a function, a call, a family object and a string give one fit", {
  fx <- glmm_fixtures$cbpp_cbind
  f <- stats::as.formula(fx$formula)
  fam_obj <- binomial()
  fits <- list(
    fun = glmmr(f, data = fx$data, family = binomial),
    call = glmmr(f, data = fx$data, family = binomial(link = "logit")),
    object = glmmr(f, data = fx$data, family = fam_obj),
    string = glmmr(f, data = fx$data, family = "binomial"))
  ref <- fits$fun
  expect_lte(m2ll(ref), fx$m2ll_absolute + 0.01)
  for (m in fits) {
    expect_identical(m$family$family, "binomial")
    expect_identical(m$family$link, "logit")
    expect_lte(abs(m2ll(m) - m2ll(ref)), 1e-8)
    expect_lte(max(abs(fixef(m) - fixef(ref))), 1e-6)
  }
})

test_that("contrasts given by name and as a function give the same fit", {
  fx <- glmm_fixtures$cbpp_cbind
  f <- stats::as.formula(fx$formula)
  m_name <- glmmr(f, data = fx$data, family = binomial,
                  contrasts = list(period = "contr.sum"))
  m_fun <- glmmr(f, data = fx$data, family = binomial,
                 contrasts = list(period = contr.sum))
  m_trt <- fit_glmm_fixture(fx)
  expect_identical(names(fixef(m_name)), names(fixef(m_fun)))
  expect_lte(max(abs(fixef(m_name) - fixef(m_fun))), 1e-8)
  # a reparametrisation of the fixed effects: same likelihood as lme4's
  # treatment-coded fit, different coefficients
  expect_lte(abs(m2ll(m_name) - m2ll(m_trt)), 1e-6)
  expect_lte(m2ll(m_name), fx$m2ll_absolute + 0.01)
  expect_false(isTRUE(all.equal(unname(fixef(m_name)), unname(fixef(m_trt)))))
})

# ---------------------------------------------------------------------------
# nAGQ = 0

test_that("nAGQ = 0 approximates the Laplace fit from above", {
  fx <- glmm_fixtures$gm1_laplace
  expect_warning(m0 <- fit_glmm_fixture(fx, nAGQ = 0L), NA)
  m1 <- fit_glmm_fixture(fx)
  expect_identical(m0$nAGQ, 0L)
  # the nAGQ = 0 fit reports the Laplace criterion at its own (approximate)
  # estimates, so it cannot beat the Laplace optimum (lme4's, fixture), and
  # it is close to it
  expect_gte(m2ll(m0), m2ll(m1))
  expect_gte(m2ll(m0), fx$m2ll_absolute - 0.05)
  expect_lte(m2ll(m0) - fx$m2ll_absolute, 1)
  expect_equal(attr(logLik(m0), "df"), fx$logLik_df)
  # fixed effects still near lme4's Laplace estimates (a quarter of an SE)
  expect_fixef_near(m0, fx$fixef, fx$se, 0.25)
  # only the factor estimate of vcov exists; it is the default
  expect_error(vcov(m0, type = "hessian"), "not available")
  expect_identical(attr(vcov(m0), "type"), "factor")
  se0 <- sqrt(diag(vcov(m0)))[names(fx$se)]
  expect_lte(max_rel_err_glmm(se0, fx$se), 0.05)
  out <- capture.output(print(m0))
  expect_true(any(grepl("nAGQ = 0", out, fixed = TRUE)))
  expect_true(any(grepl("Cholesky factor", out, fixed = TRUE)))
})

# ---------------------------------------------------------------------------
# Printing and extractors of a family without a scale

test_that("gm1 prints the method, family and link and has no Residual row", {
  fx <- glmm_fixtures$gm1
  m <- fit_glmm_fixture(fx)
  out <- capture.output(print(m))
  expect_true(any(grepl("adaptive Gauss-Hermite quadrature, nAGQ = 9", out,
                        fixed = TRUE)))
  expect_true(any(grepl("binomial", out, fixed = TRUE)))
  expect_true(any(grepl("logit", out, fixed = TRUE)))
  expect_false(any(grepl("Residual", out, fixed = TRUE)))
  expect_true(any(grepl("Hessian", out, fixed = TRUE)))

  vc_out <- capture.output(print(VarCorr(m)))
  expect_false(any(grepl("Residual", vc_out, fixed = TRUE)))
  expect_true(any(grepl("dist", vc_out, fixed = TRUE)))

  vc <- as.data.frame(VarCorr(m))
  expect_false("Residual" %in% vc$grp)
  expect_identical(vc$grp, fx$varcorr$grp)
  expect_identical(vc$var1, fx$varcorr$var1)

  expect_identical(sigma(m), 1)
  expect_equal(fx$sigma, 1)
  expect_equal(attr(logLik(m), "df"), 8)
  expect_equal(fx$logLik_df, 8L)
})

# Families with a dispersion parameter ---------------------------------------
# lme4's Gamma "log-likelihood" is not a likelihood: a Laplace value with a
# plug-in dispersion (not its ML estimate) and a +2 parameter-count term (the
# fixture's `gamma$note` has the details). So the reference is glmmTMB's fit,
# which estimates the dispersion by maximum likelihood, and a brute-force
# integral of the exact likelihood at glmmTMB's estimates.

# -2 log L of a single-scalar-term GLMM by brute-force integration (a fine
# trapezoid grid over +-8 SD; stats::integrate misses the narrow peaks here),
# at given estimates: the exact marginal likelihood, independent of glmmr.
m2ll_by_integration <- function(y, eta_fixed, group, sd_re, logdens) {
  b <- seq(-8 * sd_re, 8 * sd_re, length.out = 40001)
  h <- b[2] - b[1]
  total <- 0
  for (g in unique(group)) {
    idx <- which(group == g)
    eta <- outer(eta_fixed[idx], b, "+")
    ll <- colSums(matrix(logdens(rep(y[idx], length(b)), eta), nrow = length(idx)))
    total <- total - 2 * log(sum(exp(ll) * stats::dnorm(b, sd = sd_re)) * h)
  }
  total
}

test_that("Gamma (log link) by adaptive quadrature reaches the exact ML optimum (glmmTMB reference)", {
  fx <- glmm_fixtures$gamma_log
  ref <- fx$glmmTMB_reference
  expect_warning(m <- glmmr(as.formula(fx$formula), fx$data,
                            family = Gamma(link = "log"), nAGQ = 25), NA)
  # the exact likelihood at our optimum is no worse than at glmmTMB's estimates
  expect_lte(m2ll(m), ref$m2ll_bruteforce + 1e-4)
  expect_equal(unname(fixef(m)), unname(ref$fixef), tolerance = 2e-3)
  vc <- as.data.frame(VarCorr(m))
  expect_equal(vc$sdcor[vc$grp == "g"], ref$re_sd, tolerance = 2e-3)
  expect_equal(sigma(m), ref$sigma, tolerance = 2e-3)
  expect_equal(attr(logLik(m), "df"), 4L)
  expect_true("Residual" %in% vc$grp)
})

test_that("dispersion families: quadrature -2 log L equals a numerical integral at the estimates", {
  fx <- glmm_fixtures$gamma_log
  d <- fx$data
  cases <- list(
    list(family = Gamma(link = "log"),
         logdens = function(y, eta, phi) stats::dgamma(y, shape = 1 / phi, scale = exp(eta) * phi, log = TRUE)),
    list(family = gaussian(link = "log"),
         logdens = function(y, eta, phi) stats::dnorm(y, exp(eta), sqrt(phi), log = TRUE)),
    list(family = inverse.gaussian(link = "log"),
         logdens = function(y, eta, phi) {
           mu <- exp(eta)
           0.5 * log(1 / (phi * 2 * pi * y^3)) - (y - mu)^2 / (2 * phi * mu^2 * y)
         })
  )
  for (cs in cases) {
    m <- glmmr(y ~ x + (1 | g), d, family = cs$family, nAGQ = 25)
    phi <- sigma(m)^2
    sd_re <- as.data.frame(VarCorr(m))$sdcor[1]
    eta_fixed <- drop(cbind(1, d$x) %*% fixef(m))
    want <- m2ll_by_integration(d$y, eta_fixed, d$g, sd_re,
                                function(y, eta) cs$logdens(y, eta, phi))
    expect_equal(m2ll(m), want, tolerance = 1e-7, info = cs$family$family)
  }
})

test_that("a non-integer Poisson response warns (as glm and lme4) and is fitted", {
  set.seed(7)
  d <- data.frame(g = factor(rep(1:12, each = 8)), x = rnorm(96))
  d$y <- rpois(96, exp(0.5 + 0.4 * d$x + rep(rnorm(12, sd = 0.6), each = 8))) +
    rep(c(0, 0.5), 48)
  expect_warning(m <- glmmr(y ~ x + (1 | g), d, family = poisson, nAGQ = 25),
                 "non-integer x = 3.500000 \\(row 2; 48 non-integer")
  # -2 log L is the integral, by brute force, of the density
  # exp(y log mu - mu - lgamma(y + 1)) over the random intercept
  eta0 <- drop(cbind(1, d$x) %*% fixef(m))
  th <- unname(m$theta)
  bf <- -2 * sum(vapply(split(seq_len(96), d$g), function(i) {
    f <- function(z) vapply(z, function(zz) {
      eta <- eta0[i] + th * zz
      exp(sum(d$y[i] * eta - exp(eta) - lgamma(d$y[i] + 1)))
    }, 0) * dnorm(z)
    log(integrate(f, -Inf, Inf, rel.tol = 1e-10)$value)
  }, 0))
  expect_equal(m2ll(m), bf, tolerance = 1e-7)
  # lme4 1.1-31, glmer(nAGQ = 25, bobyqa): 0.6806784, 0.2965378, theta 0.3259325
  expect_equal(unname(c(fixef(m), m$theta)), c(0.6806784, 0.2965378, 0.3259325),
               tolerance = 1e-5)
  # negative values stay an error
  d$y[3] <- -0.5
  expect_error(glmmr(y ~ x + (1 | g), d, family = poisson),
               "response value -0.5 \\(row 3\\).*poisson")
  d$y[3] <- 0.5
  skip_if_not_installed("lme4")
  l <- suppressWarnings(lme4::glmer(y ~ x + (1 | g), d, family = poisson, nAGQ = 25,
                                    control = lme4::glmerControl(optimizer = "bobyqa")))
  m <- suppressWarnings(glmmr(y ~ x + (1 | g), d, family = poisson, nAGQ = 25))
  expect_equal(unname(c(fixef(m), m$theta)),
               unname(c(lme4::fixef(l), lme4::getME(l, "theta"))), tolerance = 1e-5)
  # Laplace: glmmTMB (whose Poisson density also uses lgamma(y + 1)); lme4's
  # Laplace criterion uses dpois(), -Inf at non-integers, and stays at its start
  skip_if_not_installed("glmmTMB")
  m <- suppressWarnings(glmmr(y ~ x + (1 | g), d, family = poisson))
  tmb <- suppressWarnings(glmmTMB::glmmTMB(y ~ x + (1 | g), d, family = poisson))
  expect_equal(as.numeric(logLik(m)), as.numeric(logLik(tmb)), tolerance = 1e-8)
  expect_equal(unname(fixef(m)), unname(glmmTMB::fixef(tmb)$cond), tolerance = 1e-5)
  expect_equal(as.data.frame(VarCorr(m))$sdcor,
               unname(attr(glmmTMB::VarCorr(tmb)$cond$g, "stddev")), tolerance = 1e-5)
})
