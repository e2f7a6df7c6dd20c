# Helpers shared by the fixture scripts in data-raw/ (run from the package root).

## Collects lme4's warnings and messages (e.g. "boundary (singular) fit")
## instead of letting them scroll past.
fit_quietly <- function(expr) {
  notes <- character()
  value <- withCallingHandlers(
    expr,
    warning = function(w) {
      notes <<- c(notes, paste("warning:", conditionMessage(w)))
      invokeRestart("muffleWarning")
    },
    message = function(m) {
      notes <<- c(notes, paste("message:", trimws(conditionMessage(m))))
      invokeRestart("muffleMessage")
    })
  list(value = value, notes = notes)
}
