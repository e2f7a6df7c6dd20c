# Benchmark: the large-data rows of issue 12, one case per R process so that
# its peak resident memory (VmHWM of /proc/self/status) is the fit's own.
# Not a test.
#   Rscript bench/scale.R CASE [glmmr|lme4|glmmTMB]
# CASE: bernoulli_200k, crossed_80k, crossed_250k, crossed_5000, poisson_1m (data
# simulated with a fixed seed; each prints one line: case, fitter, seconds,
# -2 log L, peak MiB before and after the fit). The environment variable
# GLMMR_THREADS sets glmmr_control(threads = ) for glmmr (unset: its default).
suppressPackageStartupMessages(library(glmmr))

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 1L) stop("usage: Rscript bench/scale.R CASE [glmmr|lme4|glmmTMB]")
case <- args[1L]
fitter <- if (length(args) >= 2L) args[2L] else "glmmr"

vm_hwm_mib <- function() {
  s <- readLines("/proc/self/status")
  as.numeric(sub("VmHWM:\\s+(\\d+) kB", "\\1", grep("^VmHWM", s, value = TRUE))) / 1024
}

# y ~ x + (1 + x | subj) + (1 | item), Bernoulli, 2,000 x 200 levels
bernoulli_200k <- function() {
  set.seed(12)
  nsubj <- 2000; nitem <- 200; n <- 200000
  d <- data.frame(subj = factor(sample(nsubj, n, TRUE), levels = seq_len(nsubj)),
                  item = factor(sample(nitem, n, TRUE), levels = seq_len(nitem)),
                  x = rnorm(n))
  bs <- cbind(rnorm(nsubj, sd = 0.7), rnorm(nsubj, sd = 0.4))
  bi <- rnorm(nitem, sd = 0.5)
  eta <- -0.3 + 0.5 * d$x + bs[d$subj, 1] + bs[d$subj, 2] * d$x + bi[d$item]
  d$y <- rbinom(n, 1, plogis(eta))
  list(formula = y ~ x + (1 + x | subj) + (1 | item), data = d, family = binomial)
}

# y ~ x + (1 | u) + (1 | i), Gaussian, two crossed factors 8,000 x 1,500
crossed_80k <- function() {
  set.seed(80)
  nu <- 8000; ni <- 1500; n <- 80000
  d <- data.frame(u = factor(sample(nu, n, TRUE), levels = seq_len(nu)),
                  i = factor(sample(ni, n, TRUE), levels = seq_len(ni)), x = rnorm(n))
  d$y <- 1 + 0.5 * d$x + rnorm(nu)[d$u] + rnorm(ni, sd = 0.7)[d$i] + rnorm(n)
  list(formula = y ~ x + (1 | u) + (1 | i), data = d, family = gaussian)
}

# y ~ 1 + (1 | g) + (1 | h), Gaussian, 120,000 x 120,000 levels
crossed_250k <- function() {
  set.seed(250)
  ng <- 120000; nh <- 120000; n <- 250000
  d <- data.frame(g = factor(sample(ng, n, TRUE)), h = factor(sample(nh, n, TRUE)))
  d$y <- rnorm(ng)[d$g] + rnorm(nh, sd = 0.5)[d$h] + rnorm(n)
  list(formula = y ~ 1 + (1 | g) + (1 | h), data = d, family = gaussian)
}

# y ~ 1 + (1 | g) + (1 | h), Gaussian, 100,000 rows, 20,000 x 5,000 levels:
# where the dense block of the second factor sets the time (the issue's
# "20,000 x 5,000 levels take 132 s and 910 MB")
crossed_5000 <- function() {
  set.seed(5000)
  ng <- 20000; nh <- 5000; n <- 100000
  d <- data.frame(g = factor(sample(ng, n, TRUE), levels = seq_len(ng)),
                  h = factor(sample(nh, n, TRUE), levels = seq_len(nh)))
  d$y <- rnorm(ng)[d$g] + rnorm(nh, sd = 0.5)[d$h] + rnorm(n)
  list(formula = y ~ 1 + (1 | g) + (1 | h), data = d, family = gaussian)
}

# y ~ x + (1 | g) + (1 | h), Poisson, 1,000,000 rows, 100,000 x 200 levels
poisson_1m <- function() {
  set.seed(1)
  ng <- 100000; nh <- 200; n <- 1000000
  d <- data.frame(g = factor(sample(ng, n, TRUE), levels = seq_len(ng)),
                  h = factor(sample(nh, n, TRUE), levels = seq_len(nh)), x = rnorm(n))
  d$y <- rpois(n, exp(0.2 + 0.3 * d$x + rnorm(ng, sd = 0.5)[d$g] + rnorm(nh, sd = 0.3)[d$h]))
  list(formula = y ~ x + (1 | g) + (1 | h), data = d, family = poisson)
}

cases <- list(bernoulli_200k = bernoulli_200k, crossed_80k = crossed_80k,
              crossed_250k = crossed_250k, crossed_5000 = crossed_5000, poisson_1m = poisson_1m)
if (!case %in% names(cases)) stop("CASE must be one of ", paste(names(cases), collapse = ", "))
spec <- cases[[case]]()
gaussian_model <- identical(spec$family, gaussian)
before <- vm_hwm_mib()
t0 <- proc.time()[["elapsed"]]
threads <- Sys.getenv("GLMMR_THREADS", "")
control <- if (nzchar(threads)) glmmr_control(threads = as.numeric(threads)) else glmmr_control()
fit <- switch(fitter,
  glmmr = glmmr(spec$formula, spec$data, family = spec$family, control = control),
  lme4 = if (gaussian_model) {
    lme4::lmer(spec$formula, spec$data, REML = FALSE)
  } else lme4::glmer(spec$formula, spec$data, family = spec$family),
  glmmTMB = glmmTMB::glmmTMB(spec$formula, spec$data, family = spec$family),
  stop("fitter must be glmmr, lme4 or glmmTMB"))
secs <- proc.time()[["elapsed"]] - t0
cat(sprintf("%s %s%s: %.2f s, -2 log L %.3f, peak %.0f MiB (%.0f MiB before the fit)\n",
            case, fitter, if (fitter == "glmmr") sprintf(" (threads %d)", control$threads) else "", secs, -2 * as.numeric(logLik(fit)), vm_hwm_mib(), before))
