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
