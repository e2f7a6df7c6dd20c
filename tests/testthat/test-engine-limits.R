# The engine never crashes, never hangs, and says what is wrong (issue 11):
# models too large for the memory, damaged fit objects, derivative checks
# beyond their budget, the optimizer's limits, and user interrupts.
# Whatever could abort or hang R runs in a fresh R process (Rscript), so a
# failure shows as a failed expectation, never as a dead test run.

# Run R code in a fresh Rscript process that loads glmmr from this session's
# libraries. `ulimit_kb` caps its address space (ulimit -v). Returns its
# output lines (stdout and stderr) with the exit status as attribute.
run_rscript <- function(code, ulimit_kb = NULL, wait = TRUE, out = tempfile()) {
  script <- tempfile(fileext = ".R")
  writeLines(c("suppressPackageStartupMessages(library(glmmr))", code), script)
  rscript <- file.path(R.home("bin"), "Rscript")
  cmd <- paste(shQuote(rscript), "--vanilla", shQuote(script), ">", shQuote(out), "2>&1")
  if (!is.null(ulimit_kb)) cmd <- paste(sprintf("ulimit -v %d;", as.integer(ulimit_kb)), cmd)
  libs <- paste(.libPaths(), collapse = .Platform$path.sep)
  status <- system2("sh", c("-c", shQuote(paste0("R_LIBS=", shQuote(libs), " ", cmd))),
                    wait = wait)
  if (!wait) return(out)
  structure(readLines(out), status = status)
}

# MemAvailable of /proc/meminfo in bytes (NA where there is none)
mem_available <- function() {
  if (!file.exists("/proc/meminfo")) return(NA_real_)
  l <- grep("^MemAvailable:", readLines("/proc/meminfo"), value = TRUE)
  if (!length(l)) return(NA_real_)
  as.numeric(strsplit(trimws(sub("MemAvailable:", "", l)), " +")[[1]][1]) * 1024
}

test_that("a crossed design too large for the memory is an R error with the estimate; R survives", {
  skip_on_os("windows")
  # The issue's model: about 105,000 levels in each crossed factor; its
  # dense block alone (the second term's random effects, plus the
  # intercept and the response) is 88 GB.
  out <- run_rscript(c(
    "set.seed(1); n <- 250000",
    "d <- data.frame(g = factor(sample.int(120000, n, TRUE)),",
    "                h = factor(sample.int(120000, n, TRUE)), y = rnorm(n))",
    "cat('levels', nlevels(d$g), nlevels(d$h), '\\n')",
    "r <- tryCatch(glmmr(y ~ 1 + (1 | g) + (1 | h), d), error = function(e) conditionMessage(e))",
    "cat('message:', r, '\\n')",
    "cat('alive', 1 + 1, '\\n')"
  ))
  levels <- as.numeric(strsplit(grep("^levels", out, value = TRUE), " ")[[1]][2:3])
  # the larger factor is the first term; the other one's levels, the
  # intercept and the response make the dense block
  dim <- min(levels) + 2
  dense_gb <- 8 * dim^2 / 1e9
  if (is.finite(mem_available()) && mem_available() > 4 * dense_gb * 1e9) {
    skip("this machine has the memory for the model")
  }
  msg <- grep("^message:", out, value = TRUE)
  expect_length(msg, 1)
  expect_match(msg, "the model needs about [0-9.]+ GB of memory, more than the [0-9.]+ GB")
  expect_match(msg, paste0("dense ", format(dim, big.mark = ","), " x ",
                           format(dim, big.mark = ","), " matrix"), fixed = TRUE)
  expect_match(msg, sprintf("(%.1f GB each", dense_gb), fixed = TRUE)
  expect_match(msg, "fewer levels in the terms after the first")
  # the total counts the four dense blocks an LMM holds, and little else
  total <- as.numeric(sub(".*needs about ([0-9.]+) GB.*", "\\1", msg))
  expect_gt(total, 4 * dense_gb - 0.1)
  expect_lt(total, 4 * dense_gb * 1.05)
  expect_true("alive 2 " %in% out)
})

test_that("an allocation the system refuses is an R error, not an abort", {
  skip_on_os("windows")
  # 20,000 levels in the second factor: a 3.2 GB dense block, which passes
  # the estimate on a machine with 13 GB free but cannot be allocated in a
  # process capped at 2.5 GB of address space.
  out <- run_rscript(c(
    "set.seed(2); n <- 60000",
    "d <- data.frame(g = factor(c(1:30000, sample.int(30000, n - 30000, TRUE))),",
    "                h = factor(c(1:20000, sample.int(20000, n - 20000, TRUE))), y = rnorm(n))",
    "r <- tryCatch(glmmr(y ~ 1 + (1 | g) + (1 | h), d), error = function(e) conditionMessage(e))",
    "cat('message:', r, '\\n')",
    "cat('alive', 1 + 1, '\\n')"
  ), ulimit_kb = 2500000)
  msg <- grep("^message:", out, value = TRUE)
  expect_length(msg, 1)
  dense_gb <- 8 * 20002^2 / 1e9
  if (is.finite(mem_available()) && mem_available() > 4.2 * dense_gb * 1e9) {
    expect_match(msg, sprintf("could not allocate %.1f GB for the dense 20,002 x 20,002 block", dense_gb),
                 fixed = TRUE)
  } else {
    # a smaller machine refuses the model before allocating
    expect_match(msg, "the model needs about")
  }
  expect_match(msg, "fewer levels")
  expect_true("alive 2 " %in% out)
})

test_that("a damaged level count in a fit read back from a file gives confint() a quick R error", {
  skip_on_os("windows")
  # The process is capped at 4 GB: the fit's term record claims 2^31 - 1
  # levels, which must be refused before anything is allocated for them
  # (some 380 GB, at a few words a level). The fit is serialized and read
  # back, as readRDS() gives it, so its prepared model is rebuilt from the
  # damaged record.
  if (is.finite(mem_available()) && mem_available() > 400e9) {
    skip("this machine has the memory for 2^31 levels")
  }
  out <- run_rscript(c(
    "m <- glmmr(Reaction ~ Days + (1 | Subject), sleepstudy)",
    "m$reterms[[1]]$nlevels <- .Machine$integer.max",
    "m <- unserialize(serialize(m, NULL))",
    "r <- tryCatch(confint(m, method = 'profile'), error = function(e) conditionMessage(e))",
    "cat('message:', r, '\\n')",
    "cat('alive', 1 + 1, '\\n')"
  ), ulimit_kb = 4000000)
  msg <- grep("^message:", out, value = TRUE)
  expect_length(msg, 1)
  expect_match(msg, "the first random-effects term has 2,147,483,647 levels", fixed = TRUE)
  # sleepstudy has 18 subjects
  expect_match(msg, "declared with 2,147,483,647 levels, but its grouping codes reach only 18",
               fixed = TRUE)
  expect_true("alive 2 " %in% out)
})

test_that("the Hessian check of a model with over 100 parameters is skipped, and R says so", {
  # (1 + x1 + ... + x13 | g): 105 variance parameters (4,800 observations,
  # more than the 4,200 random effects, as the identifiability check asks).
  # The full Hessian would cost 2 * 105^2 = 22,050 evaluations; the check
  # computes the gradient only, and the fit says so in a message, not a
  # warning.
  set.seed(4)
  G <- 300; per <- 16; n <- G * per; K <- 13
  X <- matrix(rnorm(n * K), n, K, dimnames = list(NULL, paste0("x", 1:K)))
  g <- rep(1:G, each = per)
  B <- matrix(rnorm(G * (K + 1)), G, K + 1)
  d <- data.frame(y = B[g, 1] + rowSums(X * B[g, -1]) + rnorm(n), X, g = factor(g))
  f <- as.formula(paste("y ~ 1 + (1 +", paste(colnames(X), collapse = " + "), "| g)"))
  warnings <- character(0)
  expect_message(
    m <- withCallingHandlers(
      glmmr(f, d, control = glmmr_control(max_evals = 1e6, progress = FALSE)),
      warning = function(w) {
        warnings <<- c(warnings, conditionMessage(w))
        invokeRestart("muffleWarning")
      }),
    "the Hessian at the optimum was not computed \\(105 free parameters; the Hessian is computed for at most 100\\)")
  expect_length(warnings, 0)
  expect_true(m$optinfo$converged)
  expect_false(any(m$optinfo$boundary))
  expect_length(m$theta, 105)
  expect_equal(dim(m$optinfo$hessian), c(0L, 0L))
  # the gradient was still computed: one entry per parameter
  expect_length(m$optinfo$gradient, 105)
  expect_identical(m$vcov_type, "factor")
})

test_that("a skipped check is a message, not a Hessian warning", {
  m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
  m$optinfo$check_skipped <- "3 free parameters: a test"
  m$optinfo$hessian_positive_definite <- FALSE
  m$optinfo$max_scaled_gradient <- NaN
  expect_message(expect_no_warning(glmmr:::check_convergence(m)),
                 "not computed \\(3 free parameters: a test\\)")
})

test_that("a fit stopped by the evaluation limit is unconverged and warns about the limit alone", {
  collect <- function(expr) {
    warnings <- character(0)
    value <- withCallingHandlers(expr, warning = function(w) {
      warnings <<- c(warnings, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
    list(value = value, warnings = warnings)
  }
  one <- glmmr_control(max_evals = 1, progress = FALSE)
  r <- collect(glmmr(Reaction ~ Days + (1 | Subject), sleepstudy, control = one))
  expect_identical(r$warnings, paste0(
    "the optimizer reached its evaluation limit (max_evals = 1) before converging: ",
    "the estimates are not an optimum; increase glmmr_control(max_evals = )"))
  expect_false(r$value$optinfo$converged)
  expect_identical(r$value$optinfo$limit, "max_evals")
  skip_if_not_installed("lme4")
  # one evaluation: the start, lme4's (lambda = identity)
  start <- lme4::lFormula(Reaction ~ Days + (1 | Subject), sleepstudy)$reTrms$theta
  expect_equal(unname(r$value$theta), start)

  # a GLMM, with and without exact gradients (nAGQ = 0: stage 1 only)
  cbpp <- lme4::cbpp
  for (nagq in c(1, 0)) {
    r <- collect(glmmr(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp,
                       family = binomial, nAGQ = nagq, control = one))
    expect_length(r$warnings, 1)
    expect_match(r$warnings, "evaluation limit (max_evals = 1)", fixed = TRUE)
    expect_false(r$value$optinfo$converged)
  }
  # the iteration limit likewise
  r <- collect(glmmr(Reaction ~ Days + (Days | Subject), sleepstudy,
                     control = glmmr_control(max_iter = 1, progress = FALSE)))
  expect_identical(r$warnings, paste0(
    "the optimizer reached its iteration limit (max_iter = 1) before converging: ",
    "the estimates are not an optimum; increase glmmr_control(max_iter = )"))
  expect_identical(r$value$optinfo$limit, "max_iter")
  # and a converged fit says so
  m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
  expect_true(m$optinfo$converged)
  expect_identical(m$optinfo$limit, "")
})

test_that("an engine interrupt is an interrupt condition: tryCatch(interrupt =) sees it, try() does not", {
  r <- tryCatch(glmmr:::engine_call(glmmr:::rust_interrupt_test()), interrupt = function(c) c)
  expect_s3_class(r, c("interrupt", "condition"), exact = TRUE)
  expect_identical(conditionMessage(r), "glmmr engine: the fit was interrupted by the user")
  r <- tryCatch(try(glmmr:::engine_call(glmmr:::rust_interrupt_test()), silent = TRUE),
                interrupt = function(c) "outer handler")
  expect_identical(r, "outer handler")
})

test_that("Ctrl-C during a fit reaches R as an interrupt; the session stays usable", {
  skip_on_os("windows")
  # A child R process fits a crossed LMM (about 30 s, an evaluation a
  # second) and gets SIGINT while the engine runs: first inside
  # tryCatch(interrupt = ), then inside a loop of try(), which must stop.
  marker <- tempfile()
  fit <- "glmmr(y ~ 1 + (1 | g) + (1 | h), d, control = ctl)"
  out_file <- run_rscript(c(
    sprintf("marker <- %s", deparse(marker)),
    "set.seed(3); n <- 100000",
    "d <- data.frame(g = factor(sample.int(5000, n, TRUE)), h = factor(sample.int(3000, n, TRUE)))",
    "d$y <- rnorm(5000)[d$g] + rnorm(3000)[d$h] + rnorm(n)",
    "ctl <- glmmr_control(progress = FALSE)",
    "writeLines(as.character(Sys.getpid()), paste0(marker, '.pid'))",
    "writeLines('fit', marker)",
    sprintf("r <- tryCatch({%s; 'finished'}, interrupt = function(c) paste('caught:', c$message))", fit),
    "cat(r, '\\n')",
    "m <- glmmr(Reaction ~ Days + (1 | Subject), sleepstudy, control = ctl)",
    "cat('after:', class(m), '\\n')",
    "writeLines('loop', marker)",
    "withCallingHandlers(",
    sprintf("  for (i in 1:3) { cat('fit', i, '\\n'); try(%s); cat('done', i, '\\n') },", fit),
    "  interrupt = function(c) cat('handler:', c$message, '\\n'))",
    "cat('after the loop\\n')"
  ), wait = FALSE)
  wait_for <- function(done, timeout = 300) {
    t0 <- Sys.time()
    while (!done()) {
      if (difftime(Sys.time(), t0, units = "secs") > timeout) return(FALSE)
      Sys.sleep(0.1)
    }
    TRUE
  }
  at <- function(what) function() file.exists(marker) && identical(readLines(marker), what)
  expect_true(wait_for(at("fit"), 60))
  pid <- as.integer(readLines(paste0(marker, ".pid")))
  alive <- function() isTRUE(tools::pskill(pid, 0L))
  Sys.sleep(3) # the model frame is built; the engine is running
  tools::pskill(pid, tools::SIGINT)
  expect_true(wait_for(at("loop")))
  Sys.sleep(3)
  tools::pskill(pid, tools::SIGINT)
  finished <- wait_for(function() !alive())
  if (!finished) tools::pskill(pid, tools::SIGKILL)
  expect_true(finished)
  out <- trimws(readLines(out_file))
  expect_true("caught: glmmr engine: the fit was interrupted by the user" %in% out)
  expect_true("after: glmmr" %in% out)
  expect_true("fit 1" %in% out)
  expect_true("handler: glmmr engine: the fit was interrupted by the user" %in% out)
  # the interrupt left the loop: no later iteration, nothing after it
  expect_false("done 1" %in% out)
  expect_false("fit 2" %in% out)
  expect_false("after the loop" %in% out)
})
