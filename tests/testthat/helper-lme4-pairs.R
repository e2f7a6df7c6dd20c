# lme4's fits beside glmmr's of the same models, for the tests of glmmr's
# methods against lme4's (and broom.mixed's and emmeans') results on lme4's
# fit. glmmr fits by ML by default, so lme4's fits are ML fits unless REML
# is asked for.

# sleepstudy: lmer(REML = REML) and glmmr(REML = REML)
sleep_pair <- function(formula = Reaction ~ Days + (Days | Subject), REML = FALSE) {
  skip_if_not_installed("lme4")
  list(l = lme4::lmer(formula, sleepstudy, REML = REML),
       g = glmmr(formula, sleepstudy, REML = REML))
}

# The seed model gm1 (Contraception data of mlmRev; Bernoulli, logit,
# nAGQ = 9, Helmert coding of urban) by glmer and glmmr, and the data
gm1_pair <- function() {
  skip_if_not_installed("lme4")
  skip_if_not_installed("mlmRev")
  d <- get(utils::data("Contraception", package = "mlmRev", envir = environment()))
  f <- use ~ 1 + age + I(age^2) + urban + livch + (1 | district)
  ctr <- list(urban = "contr.helmert")
  # lme4 warns that the model is "nearly unidentifiable" (a large eigenvalue
  # from the unscaled age^2), which is not what the tests are about
  list(l = suppressWarnings(lme4::glmer(f, d, binomial, nAGQ = 9, contrasts = ctr)),
       g = glmmr(f, d, binomial, nAGQ = 9, contrasts = ctr), data = d)
}
