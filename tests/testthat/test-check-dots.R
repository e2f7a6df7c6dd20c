# Unknown arguments to glmmr's methods are errors that name them (issue 13,
# part 5), not ignored as the generics' `...` would let them be.

test_that("check_dots names the arguments and the call", {
  f <- function(x, ...) glmmr:::check_dots(...)
  expect_null(f(1))
  expect_error(f(1, foo = 2), "unknown argument to f\\(\\): `foo`")
  expect_error(f(1, foo = 2, 3 + 4), "unknown arguments to f\\(\\): `foo`, `3 \\+ 4`")
  # not evaluated: naming the argument must not run it
  expect_error(f(1, bar = stop("evaluated")), "`bar`")
})

test_that("every method that takes ... only for its generic rejects unknown arguments", {
  m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
  calls <- list(
    quote(confint(m, nsims = 10)), quote(predict(m, foo = 1)),
    quote(summary(m, x = 2)), quote(print(m, foo = 1)),
    quote(print(summary(m), foo = 1)), quote(fixef(m, foo = 1)),
    quote(ranef(m, condvar = TRUE)), quote(vcov(m, foo = 1)),
    quote(logLik(m, foo = 1)), quote(nobs(m, foo = 1)), quote(sigma(m, foo = 1)),
    quote(coef(m, foo = 1)), quote(fitted(m, foo = 1)),
    quote(residuals(m, foo = "pearson")), quote(weights(m, foo = 1)),
    quote(deviance(m, foo = 1)), quote(df.residual(m, foo = 1)),
    quote(formula(m, foo = 1)), quote(family(m, foo = 1)),
    quote(model.frame(m, foo = 1)), quote(terms(m, foo = 1)),
    quote(model.matrix(m, foo = 1)), quote(simulate(m, foo = 1)),
    quote(VarCorr(m, foo = 1)), quote(print(VarCorr(m), foo = 1)),
    quote(as.data.frame(VarCorr(m), foo = 1)), quote(extractAIC(m, foo = 1)),
    quote(as.data.frame(ranef(m), foo = 1)))
  for (cl in calls) {
    bad <- names(as.list(cl)[-1])
    bad <- bad[nzchar(bad)]
    expect_error(eval(cl), paste0("unknown argument .*`", bad[length(bad)], "`"),
                 info = deparse(cl))
  }
  # the arguments the generics' callers pass are accepted
  expect_identical(nobs(m, use.fallback = TRUE), 180L)
  expect_identical(vcov(m, complete = FALSE), vcov(m))
})
