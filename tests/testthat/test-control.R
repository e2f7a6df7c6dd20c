# The engine's progress line is for the interactive console only: never in
# a document knitr renders, nor in a script's output (issue 13, part 6).

test_that("progress is off by default outside an interactive session", {
  # the tests run non-interactively
  expect_false(interactive())
  expect_false(glmmr_control()$progress)
  expect_true(glmmr:::default_progress(interactive = TRUE))
  expect_false(glmmr:::default_progress(interactive = FALSE))
})

test_that("progress is off while knitr renders, even when asked for", {
  old <- options(knitr.in.progress = TRUE)
  on.exit(options(old))
  expect_false(glmmr:::default_progress(interactive = TRUE))
  # the engine is told FALSE whatever the settings say
  expect_false(glmmr:::engine_control(glmmr_control(progress = TRUE))$progress)
  options(knitr.in.progress = NULL)
  expect_true(glmmr:::engine_control(glmmr_control(progress = TRUE))$progress)
  expect_false(glmmr:::engine_control(glmmr_control(progress = FALSE))$progress)
})

test_that("a knitted document has no progress line", {
  skip_if_not_installed("knitr")
  skip_on_cran()
  # a fit that runs over a second, so that the engine shows its progress
  # when asked to (stopped after 60 evaluations, with a warning, to keep the
  # test short); outside knitr its output has the progress line (the control
  # that shows the knitted one could have it), inside none
  fit_code <- c(
    "set.seed(1)",
    "n <- 30000",
    "d <- data.frame(a = factor(sample(400, n, TRUE)), b = factor(sample(300, n, TRUE)), x = rnorm(n))",
    "d$y <- d$x + rnorm(400)[d$a] + rnorm(300)[d$b] + rnorm(n)",
    "ctl <- glmmr::glmmr_control(progress = TRUE, max_evals = 60)",
    "m <- suppressWarnings(glmmr::glmmr(y ~ x + (x | a) + (x | b), d, control = ctl))")
  rmd <- tempfile(fileext = ".Rmd")
  md <- sub("Rmd$", "md", rmd)
  on.exit(unlink(c(rmd, md)))
  writeLines(c("```{r}", fit_code, "```", "Done."), rmd)
  out <- in_fresh_r(function(rmd, md, fit_code) {
    plain <- utils::capture.output(eval(parse(text = fit_code), new.env()))
    knitr::knit(rmd, md, quiet = TRUE)
    list(plain = plain, knitted = readLines(md))
  }, list(rmd = rmd, md = md, fit_code = fit_code), timeout = 300)
  expect_true(any(grepl("Minimizing", out$plain, fixed = TRUE)))
  expect_true(any(grepl("Done.", out$knitted, fixed = TRUE)))
  expect_false(any(grepl("Minimizing", out$knitted, fixed = TRUE)))
})

# The thread cap (issue 12, "Both cores").

test_that("threads defaults to the cores R sees, at most 2 under R CMD check", {
  expect_identical(glmmr:::default_threads(cores = 8L, check = ""), 8L)
  expect_identical(glmmr:::default_threads(cores = 8L, check = "TRUE"), 2L)
  expect_identical(glmmr:::default_threads(cores = 8L, check = "true"), 2L)
  expect_identical(glmmr:::default_threads(cores = 8L, check = "false"), 8L)
  expect_identical(glmmr:::default_threads(cores = 1L, check = "TRUE"), 1L)
  expect_identical(glmmr:::default_threads(cores = NA_integer_, check = ""), 1L)
  # the cores R reports, asked once per session
  expect_identical(glmmr:::detected_cores(), parallel::detectCores())
  old <- Sys.getenv("_R_CHECK_LIMIT_CORES_", NA)
  on.exit(if (is.na(old)) Sys.unsetenv("_R_CHECK_LIMIT_CORES_") else
    Sys.setenv(`_R_CHECK_LIMIT_CORES_` = old))
  Sys.setenv(`_R_CHECK_LIMIT_CORES_` = "TRUE")
  expect_lte(glmmr_control()$threads, 2L)
  expect_identical(glmmr_control(threads = 3)$threads, 3L)
})

test_that("bad threads values are errors that name the argument", {
  for (bad in list(0, -1, 1.5, NA, NA_integer_, Inf, "2", c(1, 2), NULL, TRUE)) {
    expect_error(glmmr_control(threads = bad), "`threads`", fixed = TRUE)
  }
})

test_that("the engine is told the thread cap, also for a fit saved without one", {
  expect_identical(glmmr:::engine_control(glmmr_control(threads = 1))$threads, 1L)
  old <- glmmr_control()
  old$threads <- NULL
  ctl <- glmmr:::engine_control(old)
  expect_named(ctl, c("max_evals", "rel_tol", "cost_tol", "max_iter", "progress", "threads"))
  expect_identical(ctl$threads, glmmr:::default_threads())
})

test_that("fits with one and two threads agree to the last bit", {
  skip_on_cran()
  # large enough (over 20,000 rows) for the engine to split its passes
  set.seed(12)
  n <- 24000
  d <- data.frame(a = factor(sample(600, n, TRUE)), b = factor(sample(30, n, TRUE)),
                  x = rnorm(n))
  eta <- -0.3 + 0.5 * d$x + rnorm(600, sd = 0.7)[d$a] + rnorm(30, sd = 0.4)[d$b]
  d$y <- rbinom(n, 1, plogis(eta))
  d$k <- rpois(n, exp(eta))
  fit <- function(threads, ...) glmmr(..., data = d, control = glmmr_control(threads = threads))
  for (f in list(function(th) fit(th, y ~ x + (1 | a) + (1 | b), family = binomial),
                 function(th) fit(th, k ~ x + (1 | a) + (1 | b), family = poisson),
                 function(th) fit(th, x ~ 1 + (1 | a) + (1 | b)))) {
    one <- f(1)
    two <- f(2)
    expect_identical(fixef(one), fixef(two))
    expect_identical(one$theta, two$theta)
    expect_identical(logLik(one), logLik(two))
    expect_identical(ranef(one), ranef(two))
  }
})

test_that("a dense block shared by the threads gives one fit for caps of 1, 2 and 4", {
  skip_on_cran()
  skip_if_not_installed("lme4")
  # 450 levels after the first term: the dense factor, its inverse (the
  # gradient) and the update before it are split between threads; a cap
  # above two once left block columns of the inverse unset
  set.seed(21)
  n <- 8000
  d <- data.frame(a = factor(sample(1500, n, TRUE)), b = factor(sample(450, n, TRUE)))
  d$y <- rnorm(1500)[d$a] + rnorm(450, sd = 0.6)[d$b] + rnorm(n)
  fits <- lapply(c(1, 2, 4), function(th) {
    glmmr(y ~ 1 + (1 | a) + (1 | b), d, REML = FALSE, control = glmmr_control(threads = th))
  })
  for (f in fits[-1]) {
    expect_identical(f$theta, fits[[1]]$theta)
    expect_identical(logLik(f), logLik(fits[[1]]))
  }
  tight <- lme4::lmerControl(optimizer = "nloptwrap",
                             optCtrl = list(xtol_rel = 1e-12, ftol_rel = 1e-14, ftol_abs = 1e-14,
                                            xtol_abs = 1e-12, maxeval = 1e5))
  ref <- lme4::lmer(y ~ 1 + (1 | a) + (1 | b), d, REML = FALSE, control = tight)
  expect_equal(as.numeric(logLik(fits[[1]])), as.numeric(logLik(ref)), tolerance = 1e-9)
  expect_equal(unname(fits[[1]]$theta), unname(lme4::getME(ref, "theta")), tolerance = 1e-4)
})
