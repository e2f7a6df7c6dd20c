# lme4's cbpp data (a small binomial data set), taken from the GLMM
# fixtures so that the tests do not need lme4.
lme4_cbpp <- function() {
  fx <- readRDS(test_path("fixtures", "glmm-fixtures.rds"))
  fx$cbpp_cbind$data
}
