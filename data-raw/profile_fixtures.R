# Profile-likelihood confidence intervals from lme4 1.1-31, for the tests of
# confint(method = "profile"). Run from the package root:
#   Rscript data-raw/profile_fixtures.R
suppressPackageStartupMessages(library(lme4))
load("data/sleepstudy.rda")
sleep <- lmer(Reaction ~ Days + (1 | Subject), sleepstudy, REML = FALSE,
              control = lmerControl(optimizer = "bobyqa"))
sleep_slope <- lmer(Reaction ~ Days + (Days | Subject), sleepstudy, REML = FALSE,
                    control = lmerControl(optimizer = "bobyqa"))
# REML fits: lme4's profile() refits them by ML (devfun2() calls refitML())
# and profiles every parameter on the ML deviance; glmmr matches the fixed
# effects' rows (its variance parameters are profiled on the REML criterion).
sleep_reml <- lmer(Reaction ~ Days + (1 | Subject), sleepstudy, REML = TRUE,
                   control = lmerControl(optimizer = "bobyqa"))
sleep_slope_reml <- lmer(Reaction ~ Days + (Days | Subject), sleepstudy, REML = TRUE,
                         control = lmerControl(optimizer = "bobyqa"))
cbpp_data <- lme4::cbpp
cbpp_fit <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp_data,
                  family = binomial, control = glmerControl(optimizer = "bobyqa"))
fixtures <- list(
  sleep_intercept = list(
    formula = "Reaction ~ Days + (1 | Subject)", data = sleepstudy, family = "gaussian",
    ci = confint(sleep, method = "profile", oldNames = FALSE)),
  sleep_slope = list(
    formula = "Reaction ~ Days + (Days | Subject)", data = sleepstudy, family = "gaussian",
    ci = confint(sleep_slope, method = "profile", oldNames = FALSE)),
  sleep_reml_intercept = list(
    formula = "Reaction ~ Days + (1 | Subject)", data = sleepstudy, family = "gaussian",
    REML = TRUE, ci = confint(sleep_reml, method = "profile", oldNames = FALSE)),
  sleep_reml_slope = list(
    formula = "Reaction ~ Days + (Days | Subject)", data = sleepstudy, family = "gaussian",
    REML = TRUE, ci = confint(sleep_slope_reml, method = "profile", oldNames = FALSE)),
  cbpp = list(
    formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)",
    data = cbpp_data, family = "binomial",
    ci = confint(cbpp_fit, method = "profile", oldNames = FALSE))
)
attr(fixtures, "meta") <- list(lme4 = as.character(packageVersion("lme4")),
                               R = R.version.string, date = Sys.Date())
saveRDS(fixtures, "tests/testthat/fixtures/profile-fixtures.rds")
print(lapply(fixtures, `[[`, "ci"))
