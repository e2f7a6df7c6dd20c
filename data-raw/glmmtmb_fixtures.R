## Reference fits by glmmTMB for the models where it, not lme4, is the right
## reference: non-canonical links and families with a dispersion parameter.
##
## Run from the package root:
##     Rscript data-raw/glmmtmb_fixtures.R
## It writes tests/testthat/fixtures/glmmtmb-fixtures.rds: a named list, one
## element per model, with the model (formula, data with only the needed
## columns, family and link names) and glmmTMB's results.
##
## Why glmmTMB: its Laplace approximation uses the observed information at
## the conditional mode (TMB's automatic Hessian), the true Laplace
## approximation. lme4 uses the expected (Fisher) information, which equals
## the observed one only for canonical links; for probit, cloglog or sqrt
## its "Laplace" value is a different function of the parameters, so its
## optimum is not the Laplace optimum. For Gamma and the other dispersion
## families lme4 does not estimate the dispersion by maximum likelihood at
## all (data-raw/glmm_fixtures.R records why). glmmTMB estimates it.
##
## Stored: `m2ll` (-2 log L at glmmTMB's optimum, absolute scale), `fixef`,
## `se` (from glmmTMB's vcov, the inverse Hessian in all parameters),
## `re_sd` (standard deviations of the random effects, one per term column,
## in the order of VarCorr), `re_cor` (correlations, if any), `sigma`
## (glmmTMB's sigma(): sqrt(phi) for gaussian, the coefficient of variation
## for Gamma), and for comparison lme4's -2 log L and standard errors of the
## same model where lme4 fits it (`lme4_m2ll`, `lme4_se`, `lme4_fixef`,
## `lme4_theta`). Under the sqrt link glmmTMB lets eta go negative (mu =
## eta^2, a second mirrored mode) and stops at a worse optimum (Salamanders:
## 2222.2 against lme4's 2200.6); there `m2ll_bruteforce_at_lme4`, the exact
## integral at lme4's estimates, is the reference.

suppressPackageStartupMessages({
  library(glmmTMB)
  library(lme4)
})
source("data-raw/helpers.R") # fit_quietly()

out_file <- file.path("tests", "testthat", "fixtures", "glmmtmb-fixtures.rds")
if (!dir.exists(dirname(out_file))) stop("run this script from the package root")
load(file.path("data", "contra.rda"))

cbpp <- as.data.frame(lme4::cbpp)[, c("incidence", "size", "period", "herd")]
cbpp$obs <- factor(seq_len(nrow(cbpp)))
contraception <- as.data.frame(mlmRev::Contraception)[, c("use", "age", "urban", "livch", "district")]
salamanders <- as.data.frame(glmmTMB::Salamanders)[, c("count", "mined", "site")]
owls <- as.data.frame(glmmTMB::Owls)[, c("SiblingNegotiation", "FoodTreatment", "Nest")]
bacteria <- as.data.frame(MASS::bacteria)
bacteria$wk2 <- bacteria$week > 2
bacteria <- bacteria[, c("y", "trt", "wk2", "ID")]
ergo <- as.data.frame(nlme::ergoStool)
ergo$Subject <- factor(ergo$Subject, ordered = FALSE)
ergo <- ergo[, c("effort", "Type", "Subject")]
orthodont <- as.data.frame(nlme::Orthodont)
orthodont$Subject <- factor(orthodont$Subject, ordered = FALSE)
orthodont <- orthodont[, c("distance", "age", "Subject")]

cbind_f <- "cbind(incidence, size - incidence) ~ period"
specs <- list(
  cbpp_obs_cloglog = list(formula = paste(cbind_f, "+ (1 | herd) + (1 | obs)"),
                          data = cbpp, family = "binomial", link = "cloglog"),
  cbpp_cloglog = list(formula = paste(cbind_f, "+ (1 | herd)"), data = cbpp,
                      family = "binomial", link = "cloglog"),
  contra_probit = list(formula = "use ~ age + I(age^2) + urban + livch + (1 | dist)",
                       data = contra[, c("use", "age", "urban", "livch", "dist")],
                       family = "binomial", link = "probit"),
  contraception_probit_slope = list(
    formula = "use ~ age + I(age^2) + urban + livch + (urban | district)",
    data = contraception, family = "binomial", link = "probit"),
  bacteria_cloglog = list(formula = "y ~ trt + wk2 + (1 | ID)", data = bacteria,
                          family = "binomial", link = "cloglog"),
  salamanders_sqrt = list(formula = "count ~ mined + (1 | site)", data = salamanders,
                          family = "poisson", link = "sqrt"),
  owls_sqrt = list(formula = "SiblingNegotiation ~ FoodTreatment + (1 | Nest)",
                   data = owls, family = "poisson", link = "sqrt"),
  ergo_gamma_log = list(formula = "effort ~ Type + (1 | Subject)", data = ergo,
                        family = "Gamma", link = "log"),
  ergo_gamma_inverse = list(formula = "effort ~ Type + (1 | Subject)", data = ergo,
                            family = "Gamma", link = "inverse"),
  orthodont_gaussian_log = list(formula = "distance ~ age + (1 | Subject)",
                                data = orthodont, family = "gaussian", link = "log")
)

family_of <- function(spec) get(spec$family, mode = "function")(link = spec$link)

fixture_of <- function(spec) {
  f <- stats::as.formula(spec$formula)
  tm <- fit_quietly(glmmTMB::glmmTMB(f, data = spec$data, family = family_of(spec)))
  fit <- tm$value
  vc <- glmmTMB::VarCorr(fit)$cond
  re_sd <- unlist(lapply(vc, function(v) unname(attr(v, "stddev"))))
  re_cor <- unlist(lapply(vc, function(v) {
    cr <- attr(v, "correlation")
    if (is.null(cr) || length(cr) == 1L) NULL else cr[lower.tri(cr)]
  }))
  out <- list(
    formula = spec$formula, data = spec$data, family = spec$family,
    link = spec$link,
    m2ll = -2 * as.numeric(stats::logLik(fit)),
    df = attr(stats::logLik(fit), "df"),
    fixef = glmmTMB::fixef(fit)$cond,
    se = sqrt(diag(stats::vcov(fit)$cond)),
    re_sd = re_sd, re_cor = re_cor,
    sigma = stats::sigma(fit),
    glmmTMB_notes = tm$notes,
    glmmTMB_pdHess = fit$sdr$pdHess
  )
  if (spec$family != "gaussian") {
    g <- fit_quietly(lme4::glmer(f, data = spec$data, family = family_of(spec)))
    out$lme4_m2ll <- -2 * as.numeric(stats::logLik(g$value))
    out$lme4_se <- sqrt(diag(as.matrix(stats::vcov(g$value))))
    out$lme4_notes <- g$notes
    out$lme4_fixef <- lme4::fixef(g$value)
    out$lme4_theta <- lme4::getME(g$value, "theta")
    if (spec$link == "sqrt") {
      # glmmTMB lets eta go negative under the sqrt link (mu = eta^2) and
      # stops at a worse optimum; the reference there is the exact integral
      out$m2ll_bruteforce_at_lme4 <- bruteforce_m2ll(g$value)
    }
  }
  out
}

## -2 log L by numerical integration at an lme4 fit's estimates, for one
## scalar random intercept and a Poisson or binomial response.
bruteforce_m2ll <- function(fit) {
  r <- fit@resp
  fam <- r$family
  eta0 <- drop(lme4::getME(fit, "X") %*% lme4::fixef(fit)) + r$offset
  theta <- unname(lme4::getME(fit, "theta"))
  grp <- lme4::getME(fit, "flist")[[1]]
  logp <- function(ii, mu) {
    if (fam$family == "poisson") stats::dpois(r$y[ii], mu, log = TRUE)
    else stats::dbinom(round(r$y[ii] * r$n[ii]), r$n[ii], mu, log = TRUE)
  }
  total <- 0
  for (ii in split(seq_along(r$y), grp)) {
    h <- function(z) vapply(z, function(zz)
      sum(logp(ii, fam$linkinv(eta0[ii] + theta * zz))) + stats::dnorm(zz, log = TRUE), 0)
    zmax <- stats::optimize(h, c(-25, 25), maximum = TRUE, tol = 1e-10)$maximum
    hmax <- h(zmax)
    total <- total - 2 * (hmax + log(stats::integrate(function(z) exp(h(z) - hmax),
                                                       zmax - 30, zmax + 30,
                                                       rel.tol = 1e-12)$value))
  }
  total
}

fixtures <- lapply(specs, fixture_of)
for (nm in names(fixtures)) {
  fx <- fixtures[[nm]]
  cat(sprintf("%-28s glmmTMB -2logL %.5f  lme4 %s  pdHess %s\n   fixef %s\n   se    %s\n   re_sd %s  sigma %.5f\n",
              nm, fx$m2ll, if (is.null(fx$lme4_m2ll)) "-" else sprintf("%.5f", fx$lme4_m2ll),
              fx$glmmTMB_pdHess, paste(signif(fx$fixef, 6), collapse = " "),
              paste(signif(fx$se, 5), collapse = " "),
              paste(signif(fx$re_sd, 5), collapse = " "), fx$sigma))
}
attr(fixtures, "meta") <- list(
  glmmTMB = as.character(utils::packageVersion("glmmTMB")),
  lme4 = as.character(utils::packageVersion("lme4")),
  R = R.version.string, date = format(Sys.Date()),
  script = "data-raw/glmmtmb_fixtures.R")
saveRDS(fixtures, out_file, compress = "xz")
cat("wrote", out_file, "\n")
