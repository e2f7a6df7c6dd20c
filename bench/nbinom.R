# Benchmark: negative binomial GLMMs (nbinom2) by glmmr against glmmTMB and
# lme4::glmer.nb in the same R process, as ratios (their time / glmmr's)
# with the -2 log L each reaches (absolute scale). Not a test.
#   Rscript bench/nbinom.R            (from the package root; glmmr installed)
suppressPackageStartupMessages({
  library(glmmr)
  library(lme4)
  library(glmmTMB)
})

source(file.path("bench", "time-runs.R"))

owls <- glmmTMB::Owls
sal <- glmmTMB::Salamanders
models <- list(
  Owls = list(f = SiblingNegotiation ~ FoodTreatment * SexParent + offset(logBroodSize) + (1 | Nest), d = owls),
  Salamanders = list(f = count ~ spp + mined + (1 | site), d = sal)
)
rows <- lapply(names(models), function(nm) {
  m <- models[[nm]]
  g <- time_runs(function() glmmr(m$f, m$d, family = nbinom2), 10)
  tm <- time_runs(function() glmmTMB(m$f, m$d, family = nbinom2), 3)
  nb <- time_runs(function() glmer.nb(m$f, m$d), 1)
  data.frame(model = nm, glmmr_s = signif(g$median, 3), glmmTMB_s = signif(tm$median, 3),
             glmer.nb_s = signif(nb$median, 3),
             glmmTMB_ratio = signif(tm$median / g$median, 3),
             glmer.nb_ratio = signif(nb$median / g$median, 3),
             m2ll_glmmr = round(-2 * as.numeric(logLik(g$value)), 3),
             m2ll_glmmTMB = round(-2 * as.numeric(logLik(tm$value)), 3),
             m2ll_glmer.nb = round(-2 * as.numeric(logLik(nb$value)), 3))
})
print(do.call(rbind, rows), row.names = FALSE)
