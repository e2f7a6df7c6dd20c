# Shared by the bench/ scripts (run from the package root): time `f` over
# `runs` runs, each after a garbage collection, with its warnings and
# messages muffled; the median and minimum time per call and the last value.
# A run is `batch` calls in a row, timed together: the elapsed clock counts
# milliseconds, too coarse for a call of a few (sleepstudy).
time_runs <- function(f, runs, batch = 1L) {
  times <- numeric(runs)
  value <- NULL
  for (i in seq_len(runs)) {
    gc(verbose = FALSE)
    t0 <- proc.time()[["elapsed"]]
    for (j in seq_len(batch)) value <- suppressWarnings(suppressMessages(f()))
    times[i] <- (proc.time()[["elapsed"]] - t0) / batch
  }
  list(median = stats::median(times), min = min(times), value = value)
}
