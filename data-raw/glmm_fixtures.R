## Reference fits of generalized linear mixed models by lme4, used by the tests.
##
## Run from the package root:
##     Rscript data-raw/glmm_fixtures.R
## It writes tests/testthat/fixtures/glmm-fixtures.rds: a named list with one
## element per model. Each element holds what glmmr needs to refit the model
## (formula as the user types it, the data with only the needed columns,
## family and link names, nAGQ, the names of the weights and offset columns,
## the contrasts as names of contrast functions) and lme4's results.
## Provenance (lme4 version, R version, date) is in attr(, "meta").
##
## Scales of the -2 log-likelihood
## -------------------------------
## * `lme4_deviance` is -2 * logLik(fit), exactly as lme4 reports it.
## * For nAGQ = 1 (Laplace) lme4's criterion is
##       ldL2 + ||u||^2 + family$aic(y, n, mu, wt, dev),
##   and family$aic is -2 * sum(log p(y_i | mu_i)) with all normalising
##   constants (the same function glm() uses: logLik(glm) = -aic/2 for
##   binomial and poisson), so it is already on the absolute scale. The
##   script recomputes this decomposition (`laplace_recomputed`).
##   Exception, Gamma: Gamma()$aic adds 2 (a parameter-count term that glm()
##   removes again in logLik.glm), and uses the dispersion dev/sum(wt), dev =
##   the sum of deviance residuals at the conditional modes. lme4 keeps the +2,
##   so for Gamma m2ll_absolute = lme4_deviance - 2 (Laplace approximation at
##   shape = sum(wt)/dev); see the `gamma` element of that fixture.
## * For nAGQ > 1 lme4's criterion is
##       sum_j [ u_j^2 + sum_{i in j} devResid_i ] + ldL2 - 2 * log(prod_j mult_j)
##   i.e. it uses the deviance residuals, relative to the saturated model, so
##       m2ll_absolute = lme4_deviance + sat_const,
##       sat_const     = family$aic(y, n, mu = y, wt)  (= -2 sum log p(y_i | mu_i = y_i)),
##   which is 0 for Bernoulli responses.
## * `m2ll_bruteforce` (models with a single scalar random-effects term only):
##   -2 * sum_j log( integral prod_{i in j} p(y_i | X_i beta + offset_i +
##   theta * z) dnorm(z) dz ), evaluated at lme4's estimates by adaptive
##   numerical integration (stats::integrate, cross-checked by a fine grid;
##   `bruteforce_check` is the largest |difference| of the two).
##   `lme4_agq25_at_estimates` is lme4's own nAGQ = 25 criterion evaluated at
##   the same estimates (through devFunOnly = TRUE), on lme4's (saturated)
##   scale; + sat_const it should agree with m2ll_bruteforce to ~1e-6.
## * `lme4_cond_deviance` is deviance(fit): lme4's sum of squared deviance
##   residuals at the conditional modes. It is NOT a -2 log-likelihood on any
##   scale (no ||u||^2, no log-determinant); the "lme4 deviance" values
##   2282.544 (gm2) and 2230.558 (gm3) quoted in seed-values.md are this.
##
## Every model is fitted with bobyqa (maxfun = 1e5, lme4's default tolerances)
## and refitted with nloptwrap at tight tolerances, as a check of lme4's
## optimum: `deviance_check`, `fixef_check`, `theta_check`. Where they differ
## (gm2: fixef by ~3e-4, deviance by ~1e-5) the check fit is the better one.
## For gamma_log a glmmTMB fit (a genuine maximum likelihood fit with the
## Gamma shape estimated) is stored in `glmmTMB_reference`, because lme4's
## Gamma "likelihood" is not a likelihood (see the `gamma` element).

suppressPackageStartupMessages(library(lme4))

out_file <- file.path("tests", "testthat", "fixtures", "glmm-fixtures.rds")
if (!dir.exists(dirname(out_file))) {
  stop("run this script from the package root (", dirname(out_file),
       " not found)")
}
if (!file.exists(file.path("data", "contra.rda"))) {
  stop("data/contra.rda not found: run from the package root")
}

ctrl <- glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5))
ctrl_check <- glmerControl(optimizer = "nloptwrap",
                           optCtrl = list(maxeval = 1e5, xtol_abs = 1e-10,
                                          ftol_abs = 1e-12, xtol_rel = 0,
                                          ftol_rel = 0))

## ---------------------------------------------------------------- data sets
load(file.path("data", "contra.rda"))         # -> contra
contra <- as.data.frame(contra)

contra1 <- contra[, c("use", "age", "urban", "livch", "dist")]
contra2 <- contra[, c("use", "age", "urban", "dist")]
contra2$children <- factor(contra$livch != "0")   # levels FALSE, TRUE
stopifnot(identical(levels(contra2$children), c("FALSE", "TRUE")))

cbpp <- as.data.frame(lme4::cbpp)[, c("incidence", "size", "period", "herd")]

## Poisson with exposure; the draws are made in this order.
set.seed(101)
pois_off <- local({
  ng <- 40L; nper <- 10L; n <- ng * nper
  g <- factor(rep(seq_len(ng), each = nper))
  t <- runif(n, 0.5, 3)
  x <- rnorm(n)
  b <- rnorm(ng, 0, 0.5)
  y <- rpois(n, exp(log(t) + 0.5 + 0.3 * x + b[as.integer(g)]))
  data.frame(y = y, x = x, g = g, logt = log(t))
})

grouse <- as.data.frame(lme4::grouseticks)
grouse$cHEIGHT <- grouse$HEIGHT - mean(grouse$HEIGHT)
grouse$YEAR <- factor(grouse$YEAR)
grouse <- grouse[, c("TICKS", "YEAR", "cHEIGHT", "BROOD", "INDEX", "LOCATION")]

verbagg <- as.data.frame(lme4::VerbAgg)[, c("r2", "Anger", "Gender", "btype",
                                           "situ", "id", "item")]

## Poisson, correlated random intercept and slope.
set.seed(202)
slope_dat <- local({
  ns <- 60L; nper <- 20L; n <- ns * nper
  subj <- factor(rep(seq_len(ns), each = nper))
  x <- rnorm(n)
  Sigma <- matrix(c(0.3, 0.1, 0.1, 0.2), 2, 2)
  B <- matrix(rnorm(ns * 2), ns, 2) %*% chol(Sigma)   # rows ~ MVN(0, Sigma)
  s <- as.integer(subj)
  y <- rpois(n, exp(0.2 + 0.4 * x + B[s, 1] + B[s, 2] * x))
  data.frame(y = y, x = x, subj = subj)
})

## Bernoulli without a group effect; the seed is the first from 303 on for
## which lme4's fit is singular.
sim_singular <- function(seed) {
  set.seed(seed)
  ng <- 30L; nper <- 15L; n <- ng * nper
  g <- factor(rep(seq_len(ng), each = nper))
  x <- rnorm(n)
  y <- rbinom(n, 1, plogis(-0.3 + 0.8 * x))
  data.frame(y = y, x = x, g = g)
}
singular_seed <- NA_integer_
for (s in 303:400) {
  d <- sim_singular(s)
  f <- suppressMessages(suppressWarnings(
    glmer(y ~ x + (1 | g), data = d, family = binomial, control = ctrl)))
  if (isSingular(f)) { singular_seed <- s; break }
}
if (is.na(singular_seed)) stop("no singular fit for seeds 303..400")
sing_dat <- sim_singular(singular_seed)

## Gamma with log link.
set.seed(404)
gamma_dat <- local({
  ng <- 50L; nper <- 8L; n <- ng * nper
  g <- factor(rep(seq_len(ng), each = nper))
  x <- rnorm(n)
  b <- rnorm(ng, 0, 0.4)
  mu <- exp(1 + 0.5 * x + b[as.integer(g)])
  y <- rgamma(n, shape = 5, rate = 5 / mu)
  data.frame(y = y, x = x, g = g)
})

## ------------------------------------------------------------ model specs
gm1_formula <- "use ~ 1 + age + I(age^2) + urban + livch + (1 | dist)"
gm2_formula <- "use ~ 1 + age * children + I(age^2) + children + urban + (1 | dist)"
gm3_formula <- "use ~ 1 + age * children + I(age^2) + children + urban + (1 | urban:dist)"
cbpp_cbind <- "cbind(incidence, size - incidence) ~ period + (1 | herd)"

specs <- list(
  gm1 = list(formula = gm1_formula, data = contra1, family = "binomial",
             link = "logit", nAGQ = 9L,
             contrasts = list(urban = "contr.helmert")),
  gm2 = list(formula = gm2_formula, data = contra2, family = "binomial",
             link = "logit", nAGQ = 9L,
             contrasts = list(urban = "contr.helmert", children = "contr.sum")),
  gm3 = list(formula = gm3_formula, data = contra2, family = "binomial",
             link = "logit", nAGQ = 9L,
             contrasts = list(urban = "contr.helmert", children = "contr.sum")),
  gm1_laplace = list(formula = gm1_formula, data = contra1,
                     family = "binomial", link = "logit", nAGQ = 1L,
                     contrasts = list(urban = "contr.helmert")),
  cbpp_cbind = list(formula = cbpp_cbind, data = cbpp, family = "binomial",
                    link = "logit", nAGQ = 1L),
  cbpp_cbind_agq25 = list(formula = cbpp_cbind, data = cbpp,
                          family = "binomial", link = "logit", nAGQ = 25L),
  cbpp_prop = list(formula = "incidence/size ~ period + (1 | herd)",
                   data = cbpp, family = "binomial", link = "logit",
                   nAGQ = 1L, weights = "size"),
  cbpp_prop_agq25 = list(formula = "incidence/size ~ period + (1 | herd)",
                         data = cbpp, family = "binomial", link = "logit",
                         nAGQ = 25L, weights = "size"),
  poisson_offset = list(formula = "y ~ x + (1 | g)", data = pois_off,
                        family = "poisson", link = "log", nAGQ = 1L,
                        offset = "logt"),
  grouseticks_nested = list(
    formula = "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)",
    data = grouse, family = "poisson", link = "log", nAGQ = 1L),
  verbagg_crossed = list(
    formula = "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)",
    data = verbagg, family = "binomial", link = "logit", nAGQ = 1L),
  contra_probit = list(formula = "use ~ age + I(age^2) + urban + livch + (1 | dist)",
                       data = contra1, family = "binomial", link = "probit",
                       nAGQ = 1L),
  cbpp_cloglog = list(formula = cbpp_cbind, data = cbpp, family = "binomial",
                      link = "cloglog", nAGQ = 1L),
  slope_correlated = list(formula = "y ~ x + (1 + x | subj)", data = slope_dat,
                          family = "poisson", link = "log", nAGQ = 1L,
                          seed = 202L),
  singular_bernoulli = list(formula = "y ~ x + (1 | g)", data = sing_dat,
                            family = "binomial", link = "logit", nAGQ = 1L,
                            seed = singular_seed),
  gamma_log = list(formula = "y ~ x + (1 | g)", data = gamma_dat,
                   family = "Gamma", link = "log", nAGQ = 1L, seed = 404L),
  bernoulli_agq_nodes = list(formula = gm1_formula, data = contra1,
                             family = "binomial", link = "logit", nAGQ = 25L,
                             contrasts = list(urban = "contr.helmert"))
)

## -------------------------------------------------------------- fitting
source("data-raw/helpers.R") # fit_quietly()

family_of <- function(spec) get(spec$family, mode = "function")(link = spec$link)

glmer_args <- function(spec, nAGQ = spec$nAGQ, control = ctrl) {
  d <- spec$data
  args <- list(formula = stats::as.formula(spec$formula), data = d,
               family = family_of(spec), nAGQ = nAGQ, control = control)
  if (!is.null(spec$weights)) args$weights <- d[[spec$weights]]
  if (!is.null(spec$offset)) args$offset <- d[[spec$offset]]
  if (!is.null(spec$contrasts)) args$contrasts <- spec$contrasts
  args
}

fit_one <- function(spec, control = ctrl) {
  args <- glmer_args(spec, control = control)
  t0 <- proc.time()[["elapsed"]]
  f <- fit_quietly(do.call(lme4::glmer, args))
  f$seconds <- proc.time()[["elapsed"]] - t0
  f
}

## -------------------------------------------------- likelihood pieces
## log p(y_i | mu_i) per observation, with all constants, consistent with
## family$aic (i.e. sum(logp_obs(...)) == -family$aic(...)/2, apart from the
## +2 in Gamma()$aic).
logp_obs <- function(fam, y, n, mu, wt, shape = NULL) {
  switch(fam,
    binomial = {
      m <- if (any(n > 1)) n else wt
      ifelse(m > 0, wt / m, 0) * dbinom(round(m * y), round(m), mu, log = TRUE)
    },
    poisson = wt * dpois(y, mu, log = TRUE),
    Gamma = wt * dgamma(y, shape = shape, scale = mu / shape, log = TRUE),
    stop("logp_obs: family ", fam, " not handled"))
}

## -2 sum log p(y | mu = y): the constant between lme4's nAGQ > 1 deviance
## (built on deviance residuals) and the absolute -2 log-likelihood.
saturated_const <- function(fit) {
  r <- fit@resp
  fam <- r$family$family
  if (!fam %in% c("binomial", "poisson")) return(NA_real_)
  -2 * sum(logp_obs(fam, r$y, r$n, r$y, r$weights))
}

single_scalar_re <- function(fit) {
  cn <- fit@cnms
  length(cn) == 1L && length(cn[[1]]) == 1L && cn[[1]] == "(Intercept)"
}

## Brute-force marginal -2 log-likelihood at lme4's estimates, one scalar
## random intercept: b_j = theta * z_j, z_j ~ N(0, 1), for every family
## (lme4's penalised criterion uses ||u||^2 with b = Lambda u, also for Gamma).
bruteforce_m2ll <- function(fit, shape = NULL) {
  r <- fit@resp
  fam <- r$family$family
  linkinv <- r$family$linkinv
  eta0 <- drop(lme4::getME(fit, "X") %*% lme4::fixef(fit)) + r$offset
  theta <- unname(lme4::getME(fit, "theta"))
  grp <- lme4::getME(fit, "flist")[[1]]
  y <- r$y; n <- r$n; wt <- r$weights
  idx <- split(seq_along(y), grp)
  res <- vapply(idx, function(ii) {
    h <- function(z) vapply(z, function(zz)
      sum(logp_obs(fam, y[ii], n[ii], linkinv(eta0[ii] + theta * zz), wt[ii],
                   shape)) + dnorm(zz, log = TRUE), 0)
    if (theta == 0) {
      v <- h(0) - dnorm(0, log = TRUE)
      return(c(v, v))
    }
    zmax <- optimize(h, c(-25, 25), maximum = TRUE, tol = 1e-10)$maximum
    hmax <- h(zmax)
    g <- function(z) exp(h(z) - hmax)
    ## the posterior of z has sd <= 1 (log-concave likelihood times N(0,1)),
    ## so +-30 around the mode holds all the mass
    I1 <- integrate(g, zmax - 30, zmax + 30, rel.tol = 1e-12,
                    subdivisions = 5000L, stop.on.error = TRUE)$value
    zz <- seq(zmax - 20, zmax + 20, length.out = 8001L)
    I2 <- sum(g(zz)) * (zz[2] - zz[1])   # trapezoid, ends negligible
    c(hmax + log(I1), hmax + log(I2))
  }, numeric(2))
  c(integrate = -2 * sum(res[1, ]), grid = -2 * sum(res[2, ]))
}

## lme4's nAGQ = 25 criterion at the fitted (theta, beta).
agq25_at_estimates <- function(spec, fit) {
  if (!spec$family %in% c("binomial", "poisson")) return(NA_real_)
  args <- glmer_args(spec, nAGQ = 25L)
  args$devFunOnly <- TRUE
  df <- suppressWarnings(suppressMessages(do.call(lme4::glmer, args)))
  df(c(lme4::getME(fit, "theta"), lme4::fixef(fit)))
}

## Laplace criterion recomputed from lme4's pieces: ldL2 + ||u||^2 + aic.
laplace_recomputed <- function(fit) {
  cmp <- fit@devcomp$cmp
  r <- fit@resp
  aic <- r$family$aic(r$y, r$n, r$mu, r$weights, sum(r$devResid()))
  unname(cmp[["ldL2"]] + cmp[["ussq"]] + aic)
}

fixture_of <- function(spec, f, fc) {
  fit <- f$value
  fit_check <- fc$value
  ll <- logLik(fit)
  V <- as.matrix(vcov(fit))
  vc <- as.data.frame(VarCorr(fit))
  vc$var1 <- as.character(vc$var1)
  vc$var2 <- as.character(vc$var2)
  ng <- lme4::ngrps(fit)
  storage.mode(ng) <- "integer"
  X <- lme4::getME(fit, "X")
  dev <- -2 * as.numeric(ll)
  fam <- spec$family

  sat <- saturated_const(fit)
  lap <- if (spec$nAGQ <= 1L) laplace_recomputed(fit) else NA_real_
  m2ll_abs <- if (spec$nAGQ > 1L) dev + sat else if (fam == "Gamma") dev - 2 else dev

  scaled_grad <- tryCatch(
    with(fit@optinfo$derivs, max(abs(solve(Hessian, gradient)))),
    error = function(e) NA_real_)

  fx <- list(
    formula = spec$formula,
    data = spec$data,
    family = fam,
    link = spec$link,
    nAGQ = as.integer(spec$nAGQ),
    weights = spec$weights,          # NULL or column name
    offset = spec$offset,            # NULL or column name (offset = argument)
    contrasts = spec$contrasts,      # NULL or named list of function names
    seed = spec$seed,                # NULL or the seed of a simulated data set
    fixef = lme4::fixef(fit),
    se = sqrt(diag(V)),
    vcov = V,
    theta = lme4::getME(fit, "theta"),
    varcorr = vc,
    sigma = stats::sigma(fit),
    nobs = stats::nobs(fit),
    ngrps = ng,
    singular = lme4::isSingular(fit),
    lme4_deviance = dev,
    lme4_cond_deviance = stats::deviance(fit),   # sum of squared deviance residuals
    logLik_df = attr(ll, "df"),
    m2ll_absolute = m2ll_abs,
    saturated_const = sat,           # NA unless binomial / poisson
    laplace_recomputed = lap,        # NA for nAGQ > 1
    m2ll_bruteforce = NULL,
    bruteforce_check = NULL,
    lme4_agq25_at_estimates = NULL,
    lme4_seconds = f$seconds,
    lme4_feval = fit@optinfo$feval,
    lme4_notes = f$notes,
    deviance_check = -2 * as.numeric(logLik(fit_check)),
    fixef_check = lme4::fixef(fit_check),
    theta_check = lme4::getME(fit_check, "theta"),
    check_notes = fc$notes,
    scaled_grad = scaled_grad,       # max|H^-1 g| at lme4's optimum
    X_colnames = colnames(X)
  )
  if (single_scalar_re(fit)) {
    shape <- if (fam == "Gamma") 1 / stats::sigma(fit)^2 else NULL
    bf <- bruteforce_m2ll(fit, shape)
    fx$m2ll_bruteforce <- unname(bf[["integrate"]])
    fx$bruteforce_check <- unname(abs(bf[["integrate"]] - bf[["grid"]]))
    fx$lme4_agq25_at_estimates <- agq25_at_estimates(spec, fit)
  }
  if (fam == "Gamma") {
    r <- fit@resp
    dev_res <- sum(r$devResid())
    disp_aic <- dev_res / sum(r$weights)
    bf_aic <- bruteforce_m2ll(fit, shape = 1 / disp_aic)
    pearson <- sum(r$weights * (r$y - r$mu)^2 / r$family$variance(r$mu))
    fx$gamma <- list(
      note = paste(
        "lme4's Gamma logLik is the Laplace approximation with",
        "Gamma()$aic(y, n, mu, wt, dev) = -2 sum dgamma(y, 1/disp, scale = mu*disp)",
        "+ 2, disp = dev/sum(wt), dev = sum of deviance residuals at the",
        "conditional modes: a plug-in dispersion (not estimated by ML) and a",
        "+2 parameter-count term; m2ll_absolute = lme4_deviance - 2.",
        "sigma(fit) is different: sqrt(pwrss/n) = sqrt((Pearson X^2 + ||u||^2)/n).",
        "m2ll_bruteforce uses shape = 1/sigma^2; m2ll_bruteforce_aicdisp uses",
        "shape = 1/disp_aic. VarCorr() multiplies theta by sigma(fit), but the",
        "likelihood uses b = theta * u (theta alone is the sd of b)."),
      disp_aic = disp_aic,
      shape_aic = 1 / disp_aic,
      sigma = stats::sigma(fit),
      sigma2 = stats::sigma(fit)^2,
      shape_sigma = 1 / stats::sigma(fit)^2,
      dev_resid_sum = dev_res,
      pearson_X2 = pearson,
      ussq = unname(fit@devcomp$cmp[["ussq"]]),
      pwrss_over_n = unname(fit@devcomp$cmp[["pwrss"]] / stats::nobs(fit)),
      re_sd_from_theta = unname(lme4::getME(fit, "theta")),
      re_sd_varcorr = vc$sdcor[1],
      m2ll_bruteforce_aicdisp = unname(bf_aic[["integrate"]])
    )
    fx$glmmTMB_reference <- glmmTMB_reference(spec)
  }
  fx
}

## A genuine ML fit of a Gamma GLMM (Laplace, shape estimated) by glmmTMB,
## with the brute-force -2 log-likelihood at its estimates.
glmmTMB_reference <- function(spec) {
  if (!requireNamespace("glmmTMB", quietly = TRUE)) return(NULL)
  d <- spec$data
  t0 <- proc.time()[["elapsed"]]
  tm <- glmmTMB::glmmTMB(stats::as.formula(spec$formula), data = d,
                         family = family_of(spec))
  secs <- proc.time()[["elapsed"]] - t0
  beta <- glmmTMB::fixef(tm)$cond
  sd_b <- unname(attr(glmmTMB::VarCorr(tm)$cond[[1]], "stddev"))
  shape <- 1 / stats::sigma(tm)^2
  X <- stats::model.matrix(lme4::nobars(stats::as.formula(spec$formula)), d)
  eta0 <- drop(X %*% beta)
  grp <- d[[all.vars(lme4::findbars(stats::as.formula(spec$formula))[[1]][[3]])]]
  m2 <- 0
  for (ii in split(seq_len(nrow(d)), grp)) {
    h <- function(z) vapply(z, function(zz)
      sum(stats::dgamma(d$y[ii], shape = shape,
                        scale = exp(eta0[ii] + sd_b * zz) / shape, log = TRUE)) +
        stats::dnorm(zz, log = TRUE), 0)
    zmax <- optimize(h, c(-25, 25), maximum = TRUE, tol = 1e-10)$maximum
    hmax <- h(zmax)
    m2 <- m2 - 2 * (hmax + log(integrate(function(z) exp(h(z) - hmax),
                                         zmax - 30, zmax + 30,
                                         rel.tol = 1e-12)$value))
  }
  list(version = as.character(utils::packageVersion("glmmTMB")),
       fixef = beta, re_sd = sd_b, sigma = stats::sigma(tm),
       shape = shape, m2ll = -2 * as.numeric(stats::logLik(tm)),
       m2ll_bruteforce = m2, seconds = secs,
       note = paste("glmmTMB: Var(y) = sigma^2 mu^2, shape = 1/sigma^2; m2ll is",
                    "its Laplace -2 log L (absolute), m2ll_bruteforce the",
                    "integrated value at its estimates."))
}

## warm-up, so that the first timing does not include loading code
invisible(suppressMessages(glmer(cbind(incidence, size - incidence) ~ period +
                                   (1 | herd), data = cbpp, family = binomial)))

fixtures <- list()
for (nm in names(specs)) {
  spec <- specs[[nm]]
  f <- fit_one(spec)
  fc <- fit_one(spec, ctrl_check)
  fx <- fixture_of(spec, f, fc)
  fixtures[[nm]] <- fx

  cat(sprintf("\n== %s: %s  [%s(%s), nAGQ = %d%s%s]\n", nm, spec$formula,
              spec$family, spec$link, spec$nAGQ,
              if (!is.null(spec$weights)) paste0(", weights = ", spec$weights) else "",
              if (!is.null(spec$offset)) paste0(", offset = ", spec$offset) else ""))
  cat(sprintf("   lme4 -2logLik = %.6f   m2ll_absolute = %.6f   (sat const %s)\n",
              fx$lme4_deviance, fx$m2ll_absolute,
              if (is.na(fx$saturated_const)) "NA" else sprintf("%.6f", fx$saturated_const)))
  if (!is.na(fx$laplace_recomputed))
    cat(sprintf("   Laplace recomputed (ldL2 + |u|^2 + aic) = %.6f  (diff %.2e)\n",
                fx$laplace_recomputed, fx$laplace_recomputed - fx$lme4_deviance))
  if (!is.null(fx$m2ll_bruteforce))
    cat(sprintf(paste0("   brute force = %.6f  (grid check %.1e)  bf - abs = %.3e",
                       "   lme4 AGQ25 at estimates + sat = %.6f (bf - it = %.2e)\n"),
                fx$m2ll_bruteforce, fx$bruteforce_check,
                fx$m2ll_bruteforce - fx$m2ll_absolute,
                fx$lme4_agq25_at_estimates + fx$saturated_const,
                fx$m2ll_bruteforce - (fx$lme4_agq25_at_estimates + fx$saturated_const)))
  cat("   fixef: ", paste(sprintf("%s=%.6g", names(fx$fixef), fx$fixef),
                          collapse = ", "), "\n")
  cat("   se:    ", paste(sprintf("%.6g", fx$se), collapse = ", "), "\n")
  cat("   theta: ", paste(sprintf("%s=%.6g", names(fx$theta), fx$theta),
                          collapse = ", "), "\n")
  cat(sprintf("   sigma = %.6f   singular = %s   nobs = %d   ngrps: %s   time %.2f s (%d evals)   scaled grad %.1e\n",
              fx$sigma, fx$singular, fx$nobs,
              paste(names(fx$ngrps), fx$ngrps, sep = "=", collapse = ", "),
              fx$lme4_seconds, as.integer(fx$lme4_feval), fx$scaled_grad))
  cat(sprintf("   check fit (nloptwrap): -2logLik %.6f (check - fit %.2e), max|fixef diff| %.2e, max|theta diff| %.2e; deviance(fit) = %.3f\n",
              fx$deviance_check, fx$deviance_check - fx$lme4_deviance,
              max(abs(fx$fixef_check - fx$fixef)),
              max(abs(fx$theta_check - fx$theta)), fx$lme4_cond_deviance))
  if (length(fx$lme4_notes)) cat("   lme4 said:", paste(fx$lme4_notes, collapse = " | "), "\n")
  if (length(fx$check_notes)) cat("   (check fit) lme4 said:",
                                  paste(fx$check_notes, collapse = " | "), "\n")
  if (!is.null(fx$glmmTMB_reference)) with(fx$glmmTMB_reference, cat(sprintf(
    "   glmmTMB ML: -2logLik %.4f (brute force at its estimates %.4f), fixef %s, sd(b) %.4f, sigma %.4f (shape %.3f)\n",
    m2ll, m2ll_bruteforce, paste(sprintf("%.5f", fixef), collapse = ", "),
    re_sd, sigma, shape)))
}

## ------------------------------------------- checks against seed-values.md
seed_lme4 <- list(
  gm1 = c(-0.6870284, 0.0035356, -0.0045633, 0.3483598, 0.8151276, 0.9164681,
          0.9153102),
  gm2 = c(-0.361462930, -0.013111258, -0.605434799, -0.005757698, 0.356720743,
          -0.034172839),
  gm3 = c(-0.341468431, -0.012908175, -0.606443580, -0.005624756, 0.393598876,
          -0.033210075))
seed_se <- list(
  gm1 = c(0.1705302, 0.0092872, 0.0007303, 0.0604784, 0.1633522, 0.1865072,
          0.1874897),
  gm2 = c(0.1285795, 0.0110577, 0.1037964, 0.0008414, 0.0606773, 0.0127346))
seed_sd <- c(gm1 = 0.4786372, gm2 = 0.47566, gm3 = 0.57613)
seed_dev <- c(gm2 = 2282.544, gm3 = 2230.558, gm1_laplace = 2372.729)
cat("\n== comparison with /work/shared/reference/seed-values.md (lme4 columns)\n")
for (nm in names(seed_lme4)) {
  fe <- fixtures[[nm]]$fixef
  cat(sprintf("   %s: max |fixef - seed| = %.2e", nm,
              max(abs(unname(fe) - seed_lme4[[nm]]))))
  if (!is.null(seed_se[[nm]]))
    cat(sprintf(", max |se - seed| = %.2e",
                max(abs(unname(fixtures[[nm]]$se) - seed_se[[nm]]))))
  cat(sprintf(", sd %.6f vs %.6f; check fit: max |fixef - seed| = %.2e\n",
              fixtures[[nm]]$theta[[1]], seed_sd[[nm]],
              max(abs(unname(fixtures[[nm]]$fixef_check) - seed_lme4[[nm]]))))
}
for (nm in names(seed_dev))
  cat(sprintf("   %s: seed %.3f;  -2logLik %.3f,  deviance(fit) %.3f\n", nm,
              seed_dev[[nm]], fixtures[[nm]]$lme4_deviance,
              fixtures[[nm]]$lme4_cond_deviance))

## glm check that family$aic is the absolute -2 log-likelihood (binomial counts)
g <- glm(cbind(incidence, size - incidence) ~ period, data = cbpp,
         family = binomial)
glm_abs <- -2 * sum(dbinom(cbpp$incidence, cbpp$size, fitted(g), log = TRUE))
cat(sprintf("\n   glm check: -2*logLik(glm) = %.6f, -2*sum(dbinom(...)) = %.6f, binomial()$aic = %.6f\n",
            -2 * as.numeric(logLik(g)), glm_abs,
            binomial()$aic(g$y, g$prior.weights, fitted(g), g$prior.weights,
                           deviance(g))))

attr(fixtures, "meta") <- list(
  lme4 = as.character(utils::packageVersion("lme4")),
  Matrix = as.character(utils::packageVersion("Matrix")),
  R = R.version.string,
  date = format(Sys.Date()),
  control = "glmerControl(optimizer = 'bobyqa', optCtrl = list(maxfun = 1e5))",
  singular_seed = singular_seed,
  glm_check = c(m2ll_glm = -2 * as.numeric(logLik(g)), m2ll_dbinom = glm_abs),
  script = "data-raw/glmm_fixtures.R"
)

saveRDS(fixtures, out_file, compress = "xz")
cat("\nwrote", out_file, "(", file.size(out_file), "bytes )\n")
