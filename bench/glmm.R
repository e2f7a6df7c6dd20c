# Benchmark: glmmr against lme4::glmer and glmmTMB in the same R process,
# reported as ratios (their time / glmmr's time) with the -2 log L each
# reaches (glmmr's on the absolute scale; lme4's nAGQ > 1 value converted to
# it by adding the saturated model's constant, 0 for 0/1 data). Not a test.
#   Rscript bench/glmm.R            (from the package root; glmmr installed)
suppressPackageStartupMessages({
  library(glmmr)
  library(lme4)
  library(glmmTMB)
})

source(file.path("bench", "time-runs.R"))

bench <- function(label, formula, data, nAGQ, runs, runs_other, contrasts = NULL) {
  g <- time_runs(function() glmmr(formula, data, family = binomial, nAGQ = nAGQ,
                                  contrasts = contrasts), runs)
  l <- time_runs(function() glmer(formula, data, family = binomial, nAGQ = nAGQ,
                                  contrasts = contrasts), runs_other)
  tm <- time_runs(function() glmmTMB(formula, data, family = binomial,
                                     contrasts = contrasts), runs_other)
  m2_g <- -2 * as.numeric(logLik(g$value))
  m2_l <- -2 * as.numeric(logLik(l$value))
  data.frame(model = label, nAGQ = nAGQ,
             glmmr_s = signif(g$median, 3), lme4_s = signif(l$median, 3),
             glmmTMB_s = signif(tm$median, 3),
             lme4_ratio = signif(l$median / g$median, 3),
             glmmTMB_ratio = signif(tm$median / g$median, 3),
             m2ll_glmmr = round(m2_g, 3), m2ll_lme4 = round(m2_l, 3),
             m2ll_glmmTMB_laplace = round(-2 * as.numeric(logLik(tm$value)), 3))
}

cat("glmmr", as.character(packageVersion("glmmr")), "| lme4",
    as.character(packageVersion("lme4")), "| glmmTMB",
    as.character(packageVersion("glmmTMB")), "|", R.version.string, "\n")
cat(format(Sys.time()), "|", parallel::detectCores(), "cores\n\n")

# gm1 of the seed (glmmTMB has no quadrature: its fit is Laplace)
gm1_form <- use ~ 1 + age + I(age^2) + urban + livch + (1 | dist)
res <- bench("gm1 (contra)", gm1_form, contra, 9, 10, 3,
             contrasts = list(urban = "contr.helmert"))

# crossed Bernoulli, 7,584 rows
data(VerbAgg, package = "lme4")
res <- rbind(res, bench("VerbAgg (1|id) + (1|item)",
                        r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item),
                        VerbAgg, 1, 3, 1))

# 50,000 simulated Bernoulli rows, (1 + x | subj) + (1 | item)
set.seed(1)
nsubj <- 1000; nitem <- 100
sim <- expand.grid(subj = factor(seq_len(nsubj)), item = factor(seq_len(nitem)))
sim <- sim[sample(nrow(sim), 50000), ]
sim$x <- rnorm(nrow(sim))
bs <- MASS::mvrnorm(nsubj, c(0, 0), matrix(c(0.5, 0.1, 0.1, 0.2), 2))
bi <- rnorm(nitem, sd = 0.4)
eta <- -0.2 + 0.5 * sim$x + bs[sim$subj, 1] + bs[sim$subj, 2] * sim$x + bi[sim$item]
sim$y <- rbinom(nrow(sim), 1, plogis(eta))
res <- rbind(res, bench("simulated 50,000 rows (1+x|subj) + (1|item)",
                        y ~ x + (1 + x | subj) + (1 | item), sim, 1, 2, 1))
print(res, row.names = FALSE)

# Vector-valued random effects by quadrature: glmmr only (lme4 allows
# nAGQ > 1 for a single scalar term, glmmTMB has no quadrature); lme4's and
# glmmr's Laplace fits of the same model for scale.
vector_agq <- function(runs = 10, runs_other = 3) {
  form <- use ~ age + I(age^2) + urban + livch + (1 + urban | dist)
  fits <- list(
    glmmr_laplace = time_runs(function() glmmr(form, contra, family = binomial), runs),
    glmmr_nAGQ7 = time_runs(function() glmmr(form, contra, family = binomial, nAGQ = 7), runs),
    glmmr_nAGQ25 = time_runs(function() glmmr(form, contra, family = binomial, nAGQ = 25), runs_other),
    lme4_laplace = time_runs(function() glmer(form, contra, family = binomial), runs_other))
  data.frame(model = "contra (1 + urban | dist)", fit = names(fits),
             seconds = signif(vapply(fits, `[[`, 0, "median"), 3),
             m2ll = round(vapply(fits, function(f) -2 * as.numeric(logLik(f$value)), 0), 3),
             row.names = NULL)
}
print(vector_agq(), row.names = FALSE)
