# Shared by the bench/ scripts (run from the package root): time `f` over
# `runs` calls, each after a garbage collection, with its warnings and
# messages muffled; the median and minimum time and the last value.
time_runs <- function(f, runs) {
  times <- numeric(runs)
  value <- NULL
  for (i in seq_len(runs)) {
    gc(verbose = FALSE)
    t0 <- proc.time()[["elapsed"]]
    value <- suppressWarnings(suppressMessages(f()))
    times[i] <- proc.time()[["elapsed"]] - t0
  }
  list(median = stats::median(times), min = min(times), value = value)
}
