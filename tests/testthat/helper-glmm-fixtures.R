# Reference fits of generalized linear mixed models by lme4 1.1-31
# (fixtures/glmm-fixtures.rds): a named list, one element per model, holding the
# model specification (formula string, data, family and link names, nAGQ,
# names of the weights and offset columns, contrasts as names of contrast
# functions) and lme4's results, among them `m2ll_absolute` (lme4's optimum
# on the absolute -2 log L scale), `m2ll_bruteforce` (the integral by brute
# force at lme4's estimates, single scalar random-effects term only) and
# `fixef_check` / `theta_check` / `deviance_check` (a refit at tight
# tolerances).
glmm_fixtures <- readRDS(test_path("fixtures", "glmm-fixtures.rds"))

# Fit a fixture's model with glmmr. The family is rebuilt from its name and
# link (binomial(link = "logit")); contrasts are passed as the fixture holds
# them, names of contrast functions (list(urban = "contr.helmert")), which
# glmmr accepts as glm() does. The weights and offset are column names of
# fx$data and are passed as symbols, so that glmmr's non-standard evaluation
# finds them in `data`, as a user would write glmmr(..., weights = size).
# Further arguments (e.g. nAGQ = 1) replace or add to the fixture's.
fit_glmm_fixture <- function(fx, ...) {
  args <- list(formula = stats::as.formula(fx$formula), data = fx$data,
               family = get(fx$family, mode = "function")(link = fx$link),
               nAGQ = fx$nAGQ)
  if (!is.null(fx$contrasts)) args$contrasts <- fx$contrasts
  if (!is.null(fx$weights)) args$weights <- as.name(fx$weights)
  if (!is.null(fx$offset)) args$offset <- as.name(fx$offset)
  extra <- list(...)
  args[names(extra)] <- extra
  do.call(glmmr::glmmr, args)
}

# -2 log L of a fit, on glmmr's (absolute) scale
m2ll <- function(m) -2 * as.numeric(stats::logLik(m))

# Reference fits by glmmTMB (fixtures/glmmtmb-fixtures.rds) for
# non-canonical links and dispersion families, where glmmTMB's Laplace
# approximation (observed information) and its ML dispersion are the right
# reference; lme4's -2 log L and standard errors of the same models beside.
glmmtmb_fixtures <- readRDS(test_path("fixtures", "glmmtmb-fixtures.rds"))

fit_glmmtmb_fixture <- function(fx, ...) {
  glmmr::glmmr(stats::as.formula(fx$formula), fx$data,
               family = get(fx$family, mode = "function")(link = fx$link), ...)
}

# Negative binomial reference fits by glmmTMB (nbinom2), with the Poisson
# fit's -2 log L and lme4::glmer.nb's results beside them
# (fixtures/nbinom-fixtures.rds).
nbinom_fixtures <- readRDS(test_path("fixtures", "nbinom-fixtures.rds"))
