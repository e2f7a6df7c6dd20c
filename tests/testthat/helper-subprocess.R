# Tests of input that once crashed or hung R run in a fresh R process
# (callr), so that a regression fails the test (callr reports a crashed
# session or a timeout as an error) instead of ending or stalling the whole
# test run. The child loads glmmr from the same libraries as this session.
in_fresh_r <- function(fun, args = list(), timeout = 120) {
  skip_if_not_installed("callr")
  callr::r(fun, args = args, libpath = .libPaths(), timeout = timeout)
}

# The message of the error `expr` signals, or NA if it signals none.
error_message <- function(expr) {
  tryCatch({
    expr
    NA_character_
  }, error = conditionMessage)
}
