## Reference fits of linear mixed models by lme4, used by the tests.
##
## Run from the package root:
##     Rscript data-raw/lmm_fixtures.R
## It writes tests/testthat/fixtures/lmm-fixtures.rds: a named list with one
## element per model. Each element holds what glmmr needs to refit the model
## (formula as the user types it, the data with only the needed columns,
## REML, the names of the weights and offset columns) and lme4's results.
## Provenance (lme4 version, R version, date) is in attr(, "meta").
##
## Every model is fitted with bobyqa and a small final trust radius, and
## refitted with a second optimizer (nloptwrap, tight tolerances) as a check
## that lme4's optimum is good; the two criteria are stored as
## `deviance` and `deviance_check`.

suppressPackageStartupMessages(library(lme4))

out_file <- file.path("tests", "testthat", "fixtures", "lmm-fixtures.rds")
if (!dir.exists(dirname(out_file))) {
  stop("run this script from the package root (", dirname(out_file),
       " not found)")
}

ctrl <- lmerControl(optimizer = "bobyqa",
                    optCtrl = list(maxfun = 1e5, rhoend = 1e-10))
ctrl_check <- lmerControl(optimizer = "nloptwrap",
                          optCtrl = list(maxeval = 1e5, xtol_abs = 1e-12,
                                         ftol_abs = 1e-14, xtol_rel = 0,
                                         ftol_rel = 0))

## ---------------------------------------------------------------- data sets
sleep <- as.data.frame(lme4::sleepstudy)

sleep_w <- sleep
set.seed(2)
sleep_w$w <- runif(180, 0.5, 2)

sleep_off <- sleep
sleep_off$off <- 2 * sleep_off$Days

sleep_c <- sleep
sleep_c$dayc <- (sleep_c$Days - 4.5) / 4.5

## ------------------------------------------------------------ model specs
specs <- list(
  sleep_ml = list(
    formula = "Reaction ~ 1 + Days + (1 + Days | Subject)",
    data = sleep, REML = FALSE),
  sleep_reml = list(
    formula = "Reaction ~ 1 + Days + (1 + Days | Subject)",
    data = sleep, REML = TRUE),
  penicillin_crossed = list(
    formula = "diameter ~ 1 + (1 | plate) + (1 | sample)",
    data = as.data.frame(lme4::Penicillin)[, c("diameter", "plate", "sample")],
    REML = FALSE),
  pastes_nested = list(
    formula = "strength ~ 1 + (1 | batch/cask)",
    data = as.data.frame(lme4::Pastes)[, c("strength", "batch", "cask")],
    REML = FALSE),
  sleep_uncorr = list(
    formula = "Reaction ~ Days + (Days || Subject)",
    data = sleep, REML = FALSE),
  ## Three-column vector-valued term. lme4 fits the raw-Days version without
  ## complaint (not singular), but it is badly scaled (the I(Days^2) entries of
  ## theta are ~0.03); the centred/scaled version spans the same model, so its
  ## deviance must be the same: a useful check of invariance.
  sleep_vector3 = list(
    formula = "Reaction ~ Days + (1 + Days + I(Days^2) | Subject)",
    data = sleep, REML = FALSE),
  sleep_vector3_scaled = list(
    formula = "Reaction ~ dayc + (1 + dayc + I(dayc^2) | Subject)",
    data = sleep_c[, c("Reaction", "dayc", "Subject")], REML = FALSE),
  sleep_weights = list(
    formula = "Reaction ~ Days + (1 + Days | Subject)",
    data = sleep_w, REML = FALSE, weights = "w"),
  sleep_offset = list(
    formula = "Reaction ~ Days + (1 | Subject)",
    data = sleep_off, REML = FALSE, offset = "off"),
  dyestuff2_singular = list(
    formula = "Yield ~ 1 + (1 | Batch)",
    data = as.data.frame(lme4::Dyestuff2), REML = FALSE),
  cake_fixed = list(
    formula = "angle ~ recipe * temperature + (1 | recipe:replicate)",
    data = as.data.frame(lme4::cake)[, c("angle", "recipe", "temperature",
                                          "replicate")],
    REML = FALSE)
)

## -------------------------------------------------------------- fitting
source("data-raw/helpers.R") # fit_quietly()

fit_one <- function(spec, control) {
  d <- spec$data
  args <- list(formula = stats::as.formula(spec$formula), data = d,
               REML = spec$REML, control = control)
  if (!is.null(spec$weights)) args$weights <- d[[spec$weights]]
  if (!is.null(spec$offset)) args$offset <- d[[spec$offset]]
  fit_quietly(do.call(lme4::lmer, args))
}

fixture_of <- function(spec, fit, fit_check) {
  ll <- logLik(fit)
  V <- as.matrix(vcov(fit))
  vc <- as.data.frame(VarCorr(fit))
  vc$var1 <- as.character(vc$var1)
  vc$var2 <- as.character(vc$var2)
  ng <- lme4::ngrps(fit)
  storage.mode(ng) <- "integer"
  X <- lme4::getME(fit, "X")
  list(
    formula = spec$formula,
    data = spec$data,
    REML = spec$REML,
    weights = spec$weights,          # NULL or column name
    offset = spec$offset,            # NULL or column name (offset = argument)
    deviance = -2 * as.numeric(ll),  # ML deviance, or REML criterion
    logLik = as.numeric(ll),
    df = attr(ll, "df"),
    nobs = stats::nobs(fit),
    fixef = lme4::fixef(fit),
    se = sqrt(diag(V)),
    vcov = V,
    theta = lme4::getME(fit, "theta"),
    sigma = stats::sigma(fit),
    varcorr = vc,
    ngrps = ng,
    singular = lme4::isSingular(fit),
    ## extras
    X_colnames = colnames(X),
    contrasts = attr(X, "contrasts"),
    ranef = lapply(lme4::ranef(fit), as.matrix),
    deviance_check = -2 * as.numeric(logLik(fit_check)),
    theta_check = lme4::getME(fit_check, "theta"),
    lme4_notes = character()
  )
}

fixtures <- list()
for (nm in names(specs)) {
  spec <- specs[[nm]]
  f <- fit_one(spec, ctrl)
  fc <- fit_one(spec, ctrl_check)
  fx <- fixture_of(spec, f$value, fc$value)
  fx$lme4_notes <- f$notes
  fixtures[[nm]] <- fx

  cat(sprintf("\n== %s: %s  (%s%s%s)\n", nm, spec$formula,
              if (spec$REML) "REML" else "ML",
              if (!is.null(spec$weights)) paste0(", weights = ", spec$weights) else "",
              if (!is.null(spec$offset)) paste0(", offset = ", spec$offset) else ""))
  cat(sprintf("   %s = %.6f   (check optimizer: %.6f, diff %.2e)   df = %d   nobs = %d\n",
              if (spec$REML) "REML criterion" else "-2 logLik",
              fx$deviance, fx$deviance_check, fx$deviance_check - fx$deviance,
              as.integer(fx$df), fx$nobs))
  cat("   fixef: ", paste(sprintf("%s=%.5g", names(fx$fixef), fx$fixef),
                          collapse = ", "), "\n")
  cat("   theta: ", paste(sprintf("%s=%.5g", names(fx$theta), fx$theta),
                          collapse = ", "), "\n")
  cat(sprintf("   sigma = %.5f   singular = %s   ngrps: %s\n", fx$sigma,
              fx$singular, paste(names(fx$ngrps), fx$ngrps, sep = "=",
                                 collapse = ", ")))
  if (length(f$notes)) cat("   lme4 said:", paste(f$notes, collapse = " | "), "\n")
  if (length(fc$notes)) cat("   (check fit) lme4 said:",
                            paste(fc$notes, collapse = " | "), "\n")
}

attr(fixtures, "meta") <- list(
  lme4 = as.character(utils::packageVersion("lme4")),
  Matrix = as.character(utils::packageVersion("Matrix")),
  R = R.version.string,
  date = format(Sys.Date()),
  control = "lmerControl(optimizer = 'bobyqa', optCtrl = list(maxfun = 1e5, rhoend = 1e-10))",
  script = "data-raw/lmm_fixtures.R"
)

saveRDS(fixtures, out_file, compress = "xz")
cat("\nwrote", out_file, "(", file.size(out_file), "bytes )\n")
