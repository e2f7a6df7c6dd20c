# Benchmark: glmmr against lme4::lmer in the same R process, several runs
# each, reported as ratios (lme4 time / glmmr time). Not a test.
#   Rscript bench/lmm.R            (from the package root; glmmr installed)
suppressPackageStartupMessages({
  library(glmmr)
  library(lme4)
})

source(file.path("bench", "time-runs.R"))

bench_model <- function(label, formula, data, runs_glmmr, runs_lme4, batch = 1L) {
  g <- time_runs(function() glmmr(formula, data, REML = FALSE), runs_glmmr, batch)
  l <- time_runs(function() lmer(formula, data, REML = FALSE), runs_lme4, batch)
  dev_g <- -2 * as.numeric(logLik(g$value))
  dev_l <- -2 * as.numeric(logLik(l$value))
  data.frame(model = label,
             glmmr_s = signif(g$median, 3), lme4_s = signif(l$median, 3),
             ratio = signif(l$median / g$median, 3),
             glmmr_evals = g$value$optinfo$evals,
             dev_glmmr = sprintf("%.4f", dev_g), dev_lme4 = sprintf("%.4f", dev_l),
             dev_diff = signif(dev_g - dev_l, 3))
}

cat("glmmr", as.character(packageVersion("glmmr")), "| lme4",
    as.character(packageVersion("lme4")), "|", R.version.string, "\n")
cat(format(Sys.time()), "|", parallel::detectCores(), "cores\n\n")

res <- rbind(
  bench_model("sleepstudy (1 + Days | Subject)",
              Reaction ~ 1 + Days + (1 + Days | Subject), sleepstudy, 20, 20,
              batch = 10L),
  bench_model("InstEval (1|s) + (1|d) + (1|dept)",
              y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept), lme4::InstEval, 3, 2)
)
print(res, row.names = FALSE)
