# Reference fits of linear mixed models by lme4 1.1-31
# (fixtures/lmm-fixtures.rds): a named list, one element per model, holding the
# model specification (formula string, data, REML, names of the weights and
# offset columns) and lme4's results.
lmm_fixtures <- readRDS(test_path("fixtures", "lmm-fixtures.rds"))

# Fit a fixture's model with glmmr. The weights and offset are given as
# column names of fx$data; they are passed as symbols so that glmmr's
# non-standard evaluation finds them in `data`, as a user would write
# glmmr(..., data = d, weights = w).
fit_fixture <- function(fx, ...) {
  args <- list(formula = stats::as.formula(fx$formula), data = fx$data,
               REML = fx$REML)
  if (!is.null(fx$weights)) args$weights <- as.name(fx$weights)
  if (!is.null(fx$offset)) args$offset <- as.name(fx$offset)
  args <- c(args, list(...))
  do.call(glmmr::glmmr, args)
}
