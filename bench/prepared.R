# What the prepared model saves (run from the package root, with glmmr
# installed): refits and profile steps through the model the engine keeps on
# the fit, against the same work with the model converted and built again
# for every call (what each refit and profile step did before the prepared
# model), and against lme4 for scale.
#
#   Rscript bench/prepared.R
#
# 1. 200 parametric-bootstrap refits of sleepstudy `Reaction ~ Days + (Days |
#    Subject)` (ML): the same 200 simulated responses for every contender.
# 2. confint(gm1, method = "profile") for the seed's gm1 (contra, nAGQ = 9):
#    every profile step through the prepared model, and with the model
#    prepared again at each step (glmmr's profile_rise() replaced for the
#    run by one that does so).

suppressPackageStartupMessages({
  library(glmmr)
  library(lme4)
})
source("bench/time-runs.R")
ns <- asNamespace("glmmr")

cat("glmmr", format(utils::packageVersion("glmmr")), " lme4",
    format(utils::packageVersion("lme4")), " ", R.version.string, "\n\n")

# ---- 1. bootstrap refits of sleepstudy
m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
ml <- lmer(Reaction ~ Days + (Days | Subject), sleepstudy, REML = FALSE)
ys <- simulate(m, nsim = 200, seed = 1)

prepared_refits <- function() {
  prepared <- ns$prepared_model(m)
  vapply(ys, function(y) ns$refit_response(m, y, prepared)$objective, 0)
}
rebuilt_refits <- function() {
  # the model structures converted and the engine's problem built per refit
  control <- m$control
  control$progress <- FALSE
  vapply(ys, function(y) {
    p <- ns$prepare_model(ns$engine_model(y, m, lmm = TRUE, REML = FALSE))
    ns$engine_fit(p, control)$objective
  }, 0)
}
lme4_refits <- function() {
  vapply(ys, function(y) deviance(refit(ml, y)), 0)
}
a <- time_runs(prepared_refits, 5)
b <- time_runs(rebuilt_refits, 5)
c <- time_runs(lme4_refits, 2)
stopifnot(identical(a$value, b$value))
cat("200 bootstrap refits of sleepstudy (median s):\n")
cat(sprintf("  prepared model %.3f   rebuilt each time %.3f (x%.2f)   lme4 refit() %.3f (x%.1f)\n",
            a$median, b$median, b$median / a$median, c$median, c$median / a$median))
d <- a$value - c$value
cat(sprintf(paste0("  -2 log L glmmr - lme4 over the 200: largest %.2g (glmmr worse), ",
                   "smallest %.2g (glmmr better), %d within 1e-3\n\n"),
            max(d), min(d), sum(abs(d) < 1e-3)))

# ---- 2. confint(profile) of gm1
gm1 <- glmmr(use ~ 1 + age + I(age^2) + urban + livch + (1 | dist), contra,
             family = binomial, nAGQ = 9,
             contrasts = list(urban = "contr.helmert"))
prepared_rise <- ns$profile_rise
rebuilt_rise <- function(object, name, crit) {
  control <- object$control
  control$progress <- FALSE
  control <- ns$engine_control(control)
  start <- c(unname(object$theta), unname(object$beta))
  optimum <- ns$engine_objective(object)
  function(value) {
    p <- ns$prepare_model(ns$engine_model(object$y, object, lmm = FALSE,
                                          dist = object$dist,
                                          link = object$family$link,
                                          nAGQ = object$nAGQ))
    ns$engine_call(ns$rust_profile(p, name, value, start, control))$value -
      optimum - crit
  }
}
with_rise <- function(rise, f) {
  utils::assignInNamespace("profile_rise", rise, "glmmr")
  on.exit(utils::assignInNamespace("profile_rise", prepared_rise, "glmmr"))
  f()
}
p1 <- time_runs(function() with_rise(prepared_rise, function() confint(gm1, method = "profile")), 3)
p2 <- time_runs(function() with_rise(rebuilt_rise, function() confint(gm1, method = "profile")), 3)
stopifnot(isTRUE(all.equal(p1$value, p2$value, tolerance = 1e-6)))
gl <- glmer(use ~ 1 + age + I(age^2) + urban + livch + (1 | dist), contra,
            family = binomial, nAGQ = 9,
            contrasts = list(urban = "contr.helmert"))
p3 <- time_runs(function() confint(gl, method = "profile", oldNames = FALSE), 1)
cat("confint(gm1, method = \"profile\") (median s):\n")
cat(sprintf("  prepared model %.3f   rebuilt each step %.3f (x%.2f)   lme4 %.2f (x%.0f)\n",
            p1$median, p2$median, p2$median / p1$median, p3$median, p3$median / p1$median))
cat(sprintf("  largest |glmmr - lme4| over the interval ends: %.2g\n",
            max(abs(p1$value - p3$value[rownames(p1$value), ]))))
