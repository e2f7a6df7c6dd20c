# Tests for the mixed-model formula helpers in R/formula.R

# identical() on language objects, with a readable failure message
expect_lang <- function(object, expected) {
  expect_identical(deparse1(object), deparse1(expected))
  expect_true(identical(object, expected))
}

expect_lang_list <- function(object, expected) {
  expect_length(object, length(expected))
  for (i in seq_along(expected)) expect_lang(object[[i]], expected[[i]])
}

# ---------------------------------------------------------------------------
# find_bars / has_bars

test_that("find_bars returns bar terms in order of appearance", {
  f <- y ~ x + (1 | g) + z + (x || h) + (0 + x | k)
  bars <- find_bars(f)
  expect_lang_list(bars, list(quote(1 | g), quote(x || h), quote(0 + x | k)))
})

test_that("find_bars handles formulas without bars and one-sided formulas", {
  expect_length(find_bars(y ~ x + z), 0)
  expect_type(find_bars(y ~ x + z), "list")
  expect_length(find_bars(y ~ 1), 0)
  expect_lang_list(find_bars(~ (1 | g)), list(quote(1 | g)))
  expect_lang_list(find_bars(y ~ (1 | g)), list(quote(1 | g)))
})

test_that("find_bars handles nested parentheses, '-' and unparenthesised bars", {
  expect_lang_list(find_bars(y ~ x + ((1 | g))), list(quote(1 | g)))
  expect_lang_list(find_bars(y ~ x - 1 + (x | g)), list(quote(x | g)))
  # without parentheses the whole RHS is the lhs of the bar (as in lme4)
  expect_lang_list(find_bars(y ~ 1 | g), list(quote(1 | g)))
})

test_that("find_bars does not look inside function calls", {
  expect_length(find_bars(y ~ I(a | b) + x), 0)
  expect_false(has_bars(y ~ I(a | b)))
})

test_that("has_bars detects random-effects terms", {
  expect_true(has_bars(y ~ x + (1 | g)))
  expect_true(has_bars(y ~ x + (x || g)))
  expect_false(has_bars(y ~ x))
  expect_false(has_bars(y ~ x * z + offset(o)))
})

# ---------------------------------------------------------------------------
# expand_bars

test_that("plain bars are kept unchanged", {
  bars <- find_bars(y ~ (1 + x | g) + (1 | a:b))
  expect_lang_list(expand_bars(bars), list(quote(1 + x | g), quote(1 | a:b)))
})

test_that("|| splits the lhs into uncorrelated terms", {
  ex <- expand_bars(find_bars(Reaction ~ Days + (Days || Subject)))
  expect_lang_list(ex, list(quote(1 | Subject), quote(0 + Days | Subject)))

  ex <- expand_bars(find_bars(y ~ (1 + x + I(x^2) || g)))
  expect_lang_list(ex, list(quote(1 | g), quote(0 + x | g),
                            quote(0 + I(x^2) | g)))
})

test_that("|| with the intercept removed gives no (1 | g) term", {
  ex <- expand_bars(find_bars(y ~ (0 + x + z || g)))
  expect_lang_list(ex, list(quote(0 + x | g), quote(0 + z | g)))
  ex <- expand_bars(find_bars(y ~ (x + z - 1 || g)))
  expect_lang_list(ex, list(quote(0 + x | g), quote(0 + z | g)))
})

test_that("|| keeps a factor term (and interaction terms) as one term each", {
  ex <- expand_bars(find_bars(y ~ (f || g)))
  expect_lang_list(ex, list(quote(1 | g), quote(0 + f | g)))
  ex <- expand_bars(find_bars(y ~ (x * z || g)))
  expect_lang_list(ex, list(quote(1 | g), quote(0 + x | g), quote(0 + z | g),
                            quote(0 + x:z | g)))
})

test_that("|| with an intercept-only lhs gives a single term", {
  ex <- expand_bars(find_bars(y ~ (1 || g)))
  expect_lang_list(ex, list(quote(1 | g)))
})

test_that("/ in the grouping expands to nested terms", {
  ex <- expand_bars(find_bars(y ~ (1 | a/b)))
  expect_lang_list(ex, list(quote(1 | a), quote(1 | a:b)))

  ex <- expand_bars(find_bars(y ~ (1 + x | a/b/c)))
  expect_lang_list(ex, list(quote(1 + x | a), quote(1 + x | a:b),
                            quote(1 + x | a:b:c)))

  ex <- expand_bars(find_bars(y ~ (1 | (a/b))))
  expect_lang_list(ex, list(quote(1 | a), quote(1 | a:b)))
})

test_that("|| and / combine (lhs parts vary slowest)", {
  ex <- expand_bars(find_bars(y ~ (x || a/b)))
  expect_lang_list(ex, list(quote(1 | a), quote(1 | a:b),
                            quote(0 + x | a), quote(0 + x | a:b)))
})

test_that("expand_bars keeps the order of several bars", {
  ex <- expand_bars(find_bars(y ~ (1 | h) + (x || g) + (1 | a/b)))
  expect_lang_list(ex, list(quote(1 | h), quote(1 | g), quote(0 + x | g),
                            quote(1 | a), quote(1 | a:b)))
  expect_length(expand_bars(list()), 0)
})

test_that("expand_bars output has only plain | calls", {
  ex <- expand_bars(find_bars(y ~ (x + z || a/b/c) + (1 | d)))
  expect_length(ex, 3 * 3 + 1)
  for (b in ex) expect_identical(b[[1]], as.name("|"))
})

# ---------------------------------------------------------------------------
# no_bars

test_that("no_bars removes bar terms and keeps the rest", {
  expect_lang(no_bars(y ~ x + (1 | g))[[3]], quote(x))
  expect_lang(no_bars(y ~ (1 | g) + x)[[3]], quote(x))
  expect_lang(no_bars(y ~ x + (1 | g) + z + (x || h))[[3]], quote(x + z))
  expect_lang(no_bars(y ~ x * z + (1 | g))[[3]], quote(x * z))
  expect_lang(no_bars(y ~ x + ((1 | g)))[[3]], quote(x))
})

test_that("no_bars gives ~ 1 when nothing is left, keeping the response", {
  f <- no_bars(y ~ (1 | g))
  expect_length(f, 3)
  expect_lang(f[[2]], quote(y))
  expect_identical(f[[3]], 1)
  f <- no_bars(y ~ (1 | g) + (x || h))
  expect_identical(f[[3]], 1)
  expect_identical(attr(terms(f), "intercept"), 1L)
})

test_that("no_bars keeps 0 + / - 1, offset(), I(), poly()", {
  expect_lang(no_bars(y ~ 0 + x + (1 | g))[[3]], quote(0 + x))
  expect_lang(no_bars(y ~ x - 1 + (1 | g))[[3]], quote(x - 1))
  expect_lang(no_bars(y ~ (1 | g) - 1)[[3]], quote(-1))
  expect_identical(attr(terms(no_bars(y ~ (1 | g) - 1)), "intercept"), 0L)
  expect_identical(attr(terms(no_bars(y ~ 0 + (1 | g))), "intercept"), 0L)
  f <- no_bars(y ~ offset(log(n)) + I(x^2) + poly(z, 2) + (1 | g))
  expect_lang(f[[3]], quote(offset(log(n)) + I(x^2) + poly(z, 2)))
  expect_identical(attr(terms(f), "offset"), 2L)
})

test_that("no_bars keeps class and environment of the formula", {
  e <- new.env()
  f <- as.formula("y ~ x + (1 | g)", env = e)
  nb <- no_bars(f)
  expect_s3_class(nb, "formula")
  expect_identical(environment(nb), e)
  expect_lang(nb[[2]], quote(y))
})

test_that("no_bars leaves a formula without bars unchanged", {
  f <- y ~ x + z
  expect_identical(no_bars(f), f)
})

# ---------------------------------------------------------------------------
# sub_bars

test_that("sub_bars includes every variable and no bars", {
  f <- y ~ x + offset(o) + (z | a/b) + (w || c:d) + (1 | e)
  sb <- sub_bars(f)
  expect_s3_class(sb, "formula")
  expect_identical(environment(sb), environment(f))
  expect_setequal(all.vars(sb),
                  c("y", "x", "o", "z", "a", "b", "w", "c", "d", "e"))
  expect_false(has_bars(sb))
  expect_false(grepl("|", deparse1(sb), fixed = TRUE))
  expect_false(grepl("/", deparse1(sb), fixed = TRUE))
  expect_false(grepl(":", deparse1(sb), fixed = TRUE))
})

test_that("sub_bars keeps expressions so that model.frame can build them", {
  f <- y ~ x + (log(z) | g) + (0 + I(x^2) | h)
  sb <- sub_bars(f)
  d <- data.frame(y = 1:6, x = 1:6, z = 1:6, g = rep(1:2, 3), h = rep(1:3, 2))
  mf <- model.frame(sb, d)
  expect_true(all(c("y", "x", "log(z)", "g", "I(x^2)", "h") %in% names(mf)))
  expect_equal(mf[["log(z)"]], log(1:6))
  expect_equal(mf[["I(x^2)"]], (1:6)^2, ignore_attr = TRUE)
})

test_that("sub_bars of a formula without bars leaves it unchanged", {
  f <- y ~ x + I(z^2)
  expect_identical(sub_bars(f), f)
})

test_that("sub_bars handles a bar as the only RHS term", {
  sb <- sub_bars(y ~ (1 | g))
  expect_setequal(all.vars(sb), c("y", "g"))
  sb <- sub_bars(y ~ 0 + (x | g))
  expect_setequal(all.vars(sb), c("y", "x", "g"))
})

test_that("group_components splits a:b:c (with parentheses) into its parts", {
  expect_identical(group_components(quote(g)), list(quote(g)))
  expect_identical(group_components(quote(a:b:c)), list(quote(a), quote(b), quote(c)))
  expect_identical(group_components(quote((a:(b)))), list(quote(a), quote(b)))
  expect_identical(group_components(quote(factor(a))), list(quote(factor(a))))
})

# ---------------------------------------------------------------------------
# Many terms: the helpers loop along a chain of `+` instead of recursing, so
# a long formula does not exhaust the C stack (170 terms used to: "C stack
# usage ... is too close to the limit")

test_that("find_bars, no_bars and sub_bars take a formula with thousands of terms", {
  vars <- paste0("v", 1:3000)
  f <- stats::as.formula(paste("y ~", paste(vars, collapse = " + "),
                               "+ (1 | g) - v3 + (x || h)"))
  expect_lang_list(find_bars(f), list(quote(1 | g), quote(x || h)))
  nb <- no_bars(f)
  # the reference: the same formula written without its bar terms
  expect_lang(nb, stats::as.formula(paste("y ~", paste(vars, collapse = " + "),
                                          "- v3")))
  sb <- sub_bars(f)
  expect_lang(sb, stats::as.formula(paste("y ~", paste(vars, collapse = " + "),
                                          "+ (1 + g) - v3 + (x + h)")))
})

test_that("no_bars keeps the signs and order of the terms left", {
  expect_lang(no_bars(y ~ (1 | g) - 1), y ~ -1)
  expect_lang(no_bars(y ~ (1 | g) + x - z + (1 | h) + w), y ~ x - z + w)
  expect_lang(no_bars(y ~ -1 + (1 | g) + x), y ~ -1 + x)
  expect_lang(no_bars(y ~ x + ((1 | g) + z)), y ~ x + (z))
})

# ---------------------------------------------------------------------------
# expand_dot: `.` is every column of the data but the response's variables,
# as terms() expands it for lm(); the reference is terms(data = )

dot_data <- function() {
  data.frame(y = 1:4, a = 1:4, b = 1:4, g = 1:4, `my var` = 1:4, check.names = FALSE)
}

test_that("`.` expands to the columns that terms(data = ) gives it", {
  d <- dot_data()
  for (f in list(y ~ ., log(y) ~ ., y ~ . - a, y ~ .^2, y ~ 0 + . + a:b)) {
    expect_identical(attr(stats::terms(expand_dot(f, d)), "term.labels"),
                     attr(stats::terms(f, data = d), "term.labels"))
  }
})

test_that("`.` in a mixed-model formula expands in the fixed part only", {
  d <- dot_data()
  expect_lang(expand_dot(y ~ . + (1 | g), d), y ~ a + b + g + `my var` + (1 | g))
  expect_lang(expand_dot(y ~ (1 | g) + ., d), y ~ (1 | g) + a + b + g + `my var`)
  expect_lang(expand_dot(y ~ x - . + (1 | g), d),
              y ~ x - (a + b + g + `my var`) + (1 | g))
  f <- y ~ x + (1 | g)
  expect_identical(expand_dot(f, d), f)
  e <- new.env()
  f <- stats::as.formula("y ~ . + (1 | g)", env = e)
  expect_identical(environment(expand_dot(f, d)), e)
})

test_that("`.` without data, or inside a bar, is an error saying so", {
  expect_error(expand_dot(y ~ . + (1 | g), NULL),
               "'.' in formula and no `data` argument", fixed = TRUE)
  expect_error(expand_dot(y ~ . + (. | g), dot_data()),
               "inside a random-effects term")
})
