# Pairs of fits (glmmr, lme4) of the same models, for the tests of the
# methods for other packages (insight, performance, parameters, car,
# effects, ggeffects): each package's answer on the lme4 fit is the
# reference for its answer on the glmmr fit. Built once per test run.
#   lmm:  sleepstudy Reaction ~ Days + (Days | Subject), ML
#   reml: the same by REML
#   gm1:  the seed's gm1, a Bernoulli GLMM of contra, nAGQ = 9, Helmert urban
#   sing: lme4's Dyestuff2 Yield ~ 1 + (1 | Batch), ML: a singular fit
#         (the batch variance is estimated as 0)
reference_pairs <- local({
  cache <- NULL
  function() {
    if (is.null(cache)) {
      f_ss <- Reaction ~ Days + (Days | Subject)
      f_gm1 <- use ~ 1 + age + I(age^2) + urban + livch + (1 | dist)
      cache <<- list(
        lmm = list(
          glmmr = glmmr::glmmr(f_ss, glmmr::sleepstudy),
          lme4 = lme4::lmer(f_ss, glmmr::sleepstudy, REML = FALSE)),
        reml = list(
          glmmr = glmmr::glmmr(f_ss, glmmr::sleepstudy, REML = TRUE),
          lme4 = lme4::lmer(f_ss, glmmr::sleepstudy, REML = TRUE)),
        gm1 = list(
          # (contrasts written out: effects re-evaluates the fit's call)
          glmmr = glmmr::glmmr(f_gm1, glmmr::contra, family = binomial,
                               nAGQ = 9, contrasts = list(urban = "contr.helmert")),
          # (lme4 warns that the model is nearly unidentifiable: age^2 is
          # large; glmmr's optimum agrees with it to about 1e-6)
          lme4 = suppressWarnings(
            lme4::glmer(f_gm1, glmmr::contra, family = binomial,
                        nAGQ = 9, contrasts = list(urban = "contr.helmert")))),
        sing = list(
          glmmr = glmmr::glmmr(Yield ~ 1 + (1 | Batch), lme4::Dyestuff2),
          lme4 = suppressMessages(
            lme4::lmer(Yield ~ 1 + (1 | Batch), lme4::Dyestuff2, REML = FALSE))))
    }
    cache
  }
})
