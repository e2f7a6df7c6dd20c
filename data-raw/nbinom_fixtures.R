## Reference fits of negative binomial GLMMs by glmmTMB (family nbinom2,
## variance mu + mu^2 / theta, theta by maximum likelihood), with
## lme4::glmer.nb beside them.
##
## Run from the package root:
##     Rscript data-raw/nbinom_fixtures.R
## It writes tests/testthat/fixtures/nbinom-fixtures.rds: a named list, one
## element per model (formula, data with only the needed columns) holding
## glmmTMB's -2 log L (absolute scale), fixed effects, their standard errors,
## the random-effect standard deviations, theta (glmmTMB's sigma()), the
## -2 log L of the Poisson fit of the same model (for AIC comparisons), and
## glmer.nb's -2 log L, theta and fixed effects.

suppressPackageStartupMessages({
  library(glmmTMB)
  library(lme4)
})
source("data-raw/helpers.R") # fit_quietly()

out_file <- file.path("tests", "testthat", "fixtures", "nbinom-fixtures.rds")
if (!dir.exists(dirname(out_file))) stop("run this script from the package root")

owls <- as.data.frame(glmmTMB::Owls)[, c("SiblingNegotiation", "FoodTreatment",
                                         "SexParent", "logBroodSize", "Nest")]
salamanders <- as.data.frame(glmmTMB::Salamanders)[, c("count", "spp", "mined", "site")]
grouse <- as.data.frame(lme4::grouseticks)
grouse$cHEIGHT <- grouse$HEIGHT - mean(grouse$HEIGHT)
grouse <- grouse[, c("TICKS", "YEAR", "cHEIGHT", "BROOD", "LOCATION")]
epil <- as.data.frame(MASS::epil)[, c("y", "lbase", "trt", "lage", "V4", "subject")]

specs <- list(
  owls = list(formula = "SiblingNegotiation ~ FoodTreatment * SexParent + offset(logBroodSize) + (1 | Nest)",
              data = owls),
  salamanders = list(formula = "count ~ spp + mined + (1 | site)", data = salamanders),
  grouseticks = list(formula = "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)",
                     data = grouse),
  epil = list(formula = "y ~ lbase * trt + lage + V4 + (1 | subject)", data = epil)
)

fixture_of <- function(spec) {
  f <- stats::as.formula(spec$formula)
  t0 <- proc.time()[["elapsed"]]
  tm <- fit_quietly(glmmTMB::glmmTMB(f, data = spec$data, family = glmmTMB::nbinom2))
  secs <- proc.time()[["elapsed"]] - t0
  fit <- tm$value
  pois <- glmmTMB::glmmTMB(f, data = spec$data, family = stats::poisson)
  vc <- glmmTMB::VarCorr(fit)$cond
  nb <- fit_quietly(lme4::glmer.nb(f, data = spec$data))
  list(
    formula = spec$formula, data = spec$data,
    m2ll = -2 * as.numeric(stats::logLik(fit)),
    df = attr(stats::logLik(fit), "df"),
    fixef = glmmTMB::fixef(fit)$cond,
    se = sqrt(diag(stats::vcov(fit)$cond)),
    re_sd = vapply(vc, function(v) unname(attr(v, "stddev")), 0),
    theta = stats::sigma(fit),
    poisson_m2ll = -2 * as.numeric(stats::logLik(pois)),
    glmmTMB_seconds = secs, glmmTMB_notes = tm$notes,
    glmer_nb_m2ll = -2 * as.numeric(stats::logLik(nb$value)),
    glmer_nb_theta = lme4::getME(nb$value, "glmer.nb.theta"),
    glmer_nb_fixef = lme4::fixef(nb$value), glmer_nb_notes = nb$notes)
}

fixtures <- lapply(specs, fixture_of)
for (nm in names(fixtures)) with(fixtures[[nm]], cat(sprintf(
  "%-12s glmmTMB -2logL %.4f theta %.5f | Poisson %.2f | glmer.nb -2logL %.4f theta %.5f %s\n",
  nm, m2ll, theta, poisson_m2ll, glmer_nb_m2ll, glmer_nb_theta,
  paste(glmer_nb_notes, collapse = " | "))))
attr(fixtures, "meta") <- list(
  glmmTMB = as.character(utils::packageVersion("glmmTMB")),
  lme4 = as.character(utils::packageVersion("lme4")),
  R = R.version.string, date = format(Sys.Date()),
  script = "data-raw/nbinom_fixtures.R")
saveRDS(fixtures, out_file, compress = "xz")
cat("wrote", out_file, "\n")
