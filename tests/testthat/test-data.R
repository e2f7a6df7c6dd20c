# Tests of the package's data sets (lazy data: `contra` and `sleepstudy` are
# visible because the package is attached when the tests run).

test_that("contra has the documented shape and columns", {
  expect_s3_class(contra, "data.frame")
  expect_identical(nrow(contra), 1934L)
  expect_identical(names(contra),
                   c("woman", "dist", "use", "livch", "age", "urban"))
  expect_false("district" %in% names(contra))

  expect_true(is.factor(contra$dist))
  expect_identical(nlevels(contra$dist), 60L)
  expect_identical(levels(contra$use), c("N", "Y"))
  expect_identical(levels(contra$urban), c("N", "Y"))
  expect_identical(levels(contra$livch), c("0", "1", "2", "3+"))
  expect_type(contra$age, "double")
  # age is centred; its mean in these 1,934 rows is about 0.002, not exactly 0
  expect_lt(abs(mean(contra$age)), 0.01)
  expect_false(anyNA(contra))
})

test_that("contra district counts match the seed (D01 117, D02 20, ...)", {
  # The seed labels districts D01, D02, ...; the data keep mlmRev's labels,
  # so compare by position (level order).
  counts <- as.vector(table(contra$dist))
  expect_identical(counts[1:5], c(117L, 20L, 2L, 30L, 39L))
  expect_identical(sum(counts), 1934L)
  expect_true(all(counts > 0))
})

test_that("sleepstudy has 180 rows and 18 subjects", {
  expect_s3_class(sleepstudy, "data.frame")
  expect_identical(nrow(sleepstudy), 180L)
  expect_identical(names(sleepstudy), c("Reaction", "Days", "Subject"))
  expect_true(is.factor(sleepstudy$Subject))
  expect_identical(nlevels(sleepstudy$Subject), 18L)
  expect_true(all(table(sleepstudy$Subject) == 10L))
  expect_identical(sort(unique(sleepstudy$Days)), as.numeric(0:9))
  expect_false(anyNA(sleepstudy))
})
