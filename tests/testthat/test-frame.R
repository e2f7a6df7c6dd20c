# Tests for build_frame() and build_structures() in R/frame.R

# Stand-in for the user entry point: builds the frame from the matched call
fake_glmmr <- function(formula, data, family = gaussian, REML = FALSE,
                       weights, offset, subset, na.action, contrasts = NULL,
                       control = list()) {
  mc <- match.call()
  build_frame(mc, parent.frame())
}

# Frame and structures in one go
fake_structures <- function(formula, data, family = gaussian, REML = FALSE,
                            weights, offset, subset, na.action,
                            contrasts = NULL, control = list(),
                            lmm = TRUE) {
  mc <- match.call()
  mc$lmm <- NULL
  fr <- build_frame(mc, parent.frame())
  build_structures(fr, attr(fr, "formula"), contrasts = contrasts,
                   lmm = lmm)
}

make_data <- function() {
  data.frame(
    y = c(2.1, 3.4, 1.9, 5.0, 4.2, 3.3, 6.1, 2.8, 4.4, 3.9, 5.5, 2.2),
    x = c(1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6),
    z = c(0.5, -1, 0.2, 1.4, -0.3, 0.8, -0.7, 1.1, 0.1, -0.4, 0.9, -1.2),
    f = factor(rep(c("a", "b", "c"), 4)),
    g = factor(rep(c("g1", "g2", "g3"), each = 4)),
    h = rep(c("p", "q"), 6),
    w = c(1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2),
    o = seq(0.1, 1.2, by = 0.1),
    stringsAsFactors = FALSE
  )
}

find_term <- function(st, name) {
  hit <- Filter(function(t) identical(t$group_name, name), st$reterms)
  expect_length(hit, 1)
  hit[[1]]
}

# ---------------------------------------------------------------------------
# build_frame: basics

test_that("build_frame returns a model frame with all model variables", {
  d <- make_data()
  fr <- fake_glmmr(y ~ x + (1 + z | g) + (1 | h), data = d)
  expect_s3_class(fr, "data.frame")
  expect_identical(nrow(fr), 12L)
  expect_true(all(c("y", "x", "z", "g", "h") %in% names(fr)))
  expect_false("f" %in% names(fr))
  expect_false(is.null(attr(fr, "terms")))
  expect_identical(deparse1(attr(fr, "formula")),
                   "y ~ x + (1 + z | g) + (1 | h)")
  ft <- attr(fr, "fixed_terms")
  expect_s3_class(ft, "terms")
  expect_identical(attr(ft, "term.labels"), "x")
  expect_identical(attr(ft, "response"), 1L)
  expect_false(is.null(attr(ft, "predvars")))
  expect_identical(names(attr(ft, "dataClasses")), c("y", "x"))
})

test_that("positional arguments and a formula stored in a variable work", {
  d <- make_data()
  form <- y ~ x + (1 | g)
  fr <- fake_glmmr(form, d)
  expect_identical(nrow(fr), 12L)
  expect_identical(deparse1(attr(fr, "formula")), "y ~ x + (1 | g)")
})

test_that("a character formula is accepted", {
  d <- make_data()
  fr <- fake_glmmr("y ~ x + (1 | g)", data = d)
  expect_s3_class(attr(fr, "formula"), "formula")
  expect_identical(nrow(fr), 12L)
})

test_that("variables are found in the calling environment without data", {
  yy <- c(1, 3, 2, 5, 4, 6)
  xx <- 1:6
  gg <- c("a", "a", "b", "b", "c", "c")
  fr <- fake_glmmr(yy ~ xx + (1 | gg))
  expect_identical(nrow(fr), 6L)
  expect_equal(fr$yy, yy)
  st <- build_structures(fr)
  expect_identical(st$reterms[[1]]$levels, c("a", "b", "c"))
})

test_that("variables may come from both data and the environment", {
  d <- make_data()
  extra <- d$z * 2
  fr <- fake_glmmr(y ~ x + extra + (1 | g), data = d)
  expect_equal(fr$extra, d$z * 2)
})

test_that("a one-sided formula is rejected", {
  d <- make_data()
  expect_error(fake_glmmr(~ x + (1 | g), data = d), "response")
})

# ---------------------------------------------------------------------------
# NA handling

test_that("NA rows are dropped once across all model variables", {
  d <- make_data()
  d$x[2] <- NA      # fixed effect
  d$g[5] <- NA      # only the grouping variable
  d$w[7] <- NA      # only the weights column
  d$z[9] <- NA      # only a random-effects covariate
  d$f[11] <- NA     # a column not used by the model: must NOT drop
  fr <- fake_glmmr(y ~ x + (1 + z | g), data = d, weights = w)
  expect_identical(nrow(fr), 8L)
  expect_identical(rownames(fr), as.character(c(1, 3, 4, 6, 8, 10, 11, 12)))
  naa <- attr(fr, "na.action")
  expect_s3_class(naa, "omit")
  expect_identical(as.integer(naa), c(2L, 5L, 7L, 9L))
  st <- build_structures(fr)
  expect_length(st$response, 8)
  expect_identical(nrow(st$X), 8L)
  expect_length(st$weights, 8)
  expect_equal(st$weights, d$w[-c(2, 5, 7, 9)])
  expect_equal(st$response, d$y[-c(2, 5, 7, 9)], ignore_attr = TRUE)
  for (t in st$reterms) {
    expect_length(t$group, 8)
    expect_identical(nrow(t$z), 8L)
  }
})

test_that("NA in the offset argument or in an offset() term drops the row", {
  d <- make_data()
  d$o[3] <- NA
  fr <- fake_glmmr(y ~ x + (1 | g), data = d, offset = o)
  expect_identical(nrow(fr), 11L)
  d <- make_data()
  d$o[4] <- NA
  fr <- fake_glmmr(y ~ x + offset(o) + (1 | g), data = d)
  expect_identical(nrow(fr), 11L)
  expect_identical(as.integer(attr(fr, "na.action")), 4L)
})

test_that("na.action is honoured", {
  d <- make_data()
  d$x[2] <- NA
  fr <- fake_glmmr(y ~ x + (1 | g), data = d, na.action = na.exclude)
  expect_s3_class(attr(fr, "na.action"), "exclude")
  expect_identical(nrow(fr), 11L)
  fr <- fake_glmmr(y ~ x + (1 | g), data = d, na.action = "na.omit")
  expect_s3_class(attr(fr, "na.action"), "omit")
  expect_error(fake_glmmr(y ~ x + (1 | g), data = d, na.action = na.fail),
               "missing values")
})

test_that("NA removal drops grouping levels that are no longer present", {
  d <- make_data()
  d$g <- factor(as.character(d$g), levels = c("g0", "g1", "g2", "g3"))
  d$y[d$g == "g2"] <- NA
  fr <- fake_glmmr(y ~ x + (1 | g), data = d)
  expect_identical(levels(fr$g), c("g1", "g3"))
  st <- build_structures(fr)
  tr <- st$reterms[[1]]
  expect_identical(tr$levels, c("g1", "g3"))
  expect_identical(tr$nlevels, 2L)
  expect_identical(tr$group, rep(c(1L, 2L), each = 4))
})

# ---------------------------------------------------------------------------
# subset, weights and offset (non-standard evaluation)

test_that("subset uses non-standard evaluation on data and environment", {
  d <- make_data()
  fr <- fake_glmmr(y ~ x + (1 | g), data = d, subset = x > 2)
  expect_identical(nrow(fr), 8L)
  expect_true(all(fr$x > 2))
  keep <- rep(c(TRUE, FALSE), 6)
  fr <- fake_glmmr(y ~ x + (1 | g), data = d, subset = keep)
  expect_identical(nrow(fr), 6L)
  expect_identical(rownames(fr), as.character(seq(1, 11, by = 2)))
  fr <- fake_glmmr(y ~ x + (1 | g), data = d, subset = g != "g1" & x < 5)
  # g2 rows have x = 5, 6, 1, 2 and g3 rows x = 3, 4, 5, 6
  expect_identical(nrow(fr), 4L)
})

test_that("weights use non-standard evaluation", {
  d <- make_data()
  st <- fake_structures(y ~ x + (1 | g), data = d, weights = w)
  expect_equal(st$weights, d$w)
  wvec <- seq(0.5, 6, by = 0.5)
  st <- fake_structures(y ~ x + (1 | g), data = d, weights = wvec)
  expect_equal(st$weights, wvec)
  st <- fake_structures(y ~ x + (1 | g), data = d, weights = w * 2)
  expect_equal(st$weights, d$w * 2)
  st <- fake_structures(y ~ x + (1 | g), data = d)
  expect_identical(st$weights, rep(1, 12))
  expect_identical(st$offset, rep(0, 12))
})

test_that("weights and subset combine", {
  d <- make_data()
  st <- fake_structures(y ~ x + (1 | g), data = d, weights = w,
                        subset = x <= 3)
  expect_equal(st$weights, d$w[d$x <= 3])
})

test_that("offset argument uses non-standard evaluation", {
  d <- make_data()
  st <- fake_structures(y ~ x + (1 | g), data = d, offset = o)
  expect_equal(st$offset, d$o)
  ovec <- rep(c(1, -1), 6)
  st <- fake_structures(y ~ x + (1 | g), data = d, offset = ovec)
  expect_equal(st$offset, ovec)
})

test_that("offset() terms and the offset argument are summed", {
  d <- make_data()
  st <- fake_structures(y ~ x + offset(log(w)) + (1 | g), data = d,
                        offset = o)
  expect_equal(st$offset, d$o + log(d$w))
  st <- fake_structures(y ~ offset(x) + z + offset(2 * o) + (1 | g), data = d)
  expect_equal(st$offset, d$x + 2 * d$o)
  # offset terms are not columns of X
  expect_identical(colnames(st$X), c("(Intercept)", "z"))
})

# ---------------------------------------------------------------------------
# Fixed-effects model matrix

test_that("X is the fixed-effects model matrix", {
  d <- make_data()
  st <- fake_structures(y ~ x + f + (1 | g), data = d)
  expect_identical(colnames(st$X), c("(Intercept)", "x", "fb", "fc"))
  expect_identical(attr(st$X, "assign"), c(0L, 1L, 2L, 2L))
  expect_identical(attr(st$X, "contrasts"), list(f = "contr.treatment"))
  expect_equal(unname(st$X[, "fc"]), as.numeric(d$f == "c"))
  expect_identical(st$dropped, character(0))
  expect_equal(as.numeric(st$response), d$y)
})

test_that("0 + and - 1 remove the fixed intercept", {
  d <- make_data()
  st <- fake_structures(y ~ 0 + x + (1 | g), data = d)
  expect_identical(colnames(st$X), "x")
  st <- fake_structures(y ~ f - 1 + (1 | g), data = d)
  expect_identical(colnames(st$X), c("fa", "fb", "fc"))
})

test_that("a formula with only random effects has an intercept-only X", {
  d <- make_data()
  st <- fake_structures(y ~ (1 | g), data = d)
  expect_identical(colnames(st$X), "(Intercept)")
  expect_identical(dim(st$X), c(12L, 1L))
})

test_that("the contrasts argument changes the columns of X", {
  d <- make_data()
  st <- fake_structures(y ~ x + f + (1 | g), data = d,
                        contrasts = list(f = "contr.helmert"))
  expect_identical(colnames(st$X), c("(Intercept)", "x", "f1", "f2"))
  expect_identical(attr(st$X, "contrasts"), list(f = "contr.helmert"))
  # Helmert coding for levels a, b, c
  expect_equal(unname(st$X[1:3, c("f1", "f2")]),
               matrix(c(-1, 1, 0, -1, -1, 2), 3, 3 - 1))
  st2 <- fake_structures(y ~ x + f + (1 | g), data = d,
                         contrasts = list(f = contr.sum))
  expect_identical(colnames(st2$X), c("(Intercept)", "x", "f1", "f2"))
  expect_equal(unname(st2$X[1:3, c("f1", "f2")]),
               matrix(c(1, 0, -1, 0, 1, -1), 3, 2))
})

test_that("contrasts for random-effects-only variables are ignored silently", {
  d <- make_data()
  expect_silent(
    st <- fake_structures(y ~ x + (1 | g), data = d,
                          contrasts = list(g = "contr.sum"))
  )
  expect_identical(colnames(st$X), c("(Intercept)", "x"))
})

test_that("poly() works and its coefficients are kept in fixed_terms", {
  d <- make_data()
  fr <- fake_glmmr(y ~ poly(x, 2) + (1 | g), data = d)
  st <- build_structures(fr)
  expect_identical(colnames(st$X),
                   c("(Intercept)", "poly(x, 2)1", "poly(x, 2)2"))
  expect_equal(unname(st$X[, 2:3]), unname(unclass(poly(d$x, 2))[, 1:2]))
  pv <- attr(st$fixed_terms, "predvars")
  expect_identical(deparse1(pv[[2]]), "y")
  expect_false(is.null(pv[[3]]$coefs))
  # predvars re-create the same basis on new data
  nd <- data.frame(x = c(1, 6))
  tt <- delete.response(st$fixed_terms)
  Xn <- model.matrix(tt, model.frame(tt, nd))
  expect_equal(unname(Xn[, 2:3]), unname(st$X[c(1, 6), 2:3]))
})

test_that("I() and interactions appear in X", {
  d <- make_data()
  st <- fake_structures(y ~ x * z + I(x^2) + (1 | g), data = d)
  expect_identical(colnames(st$X),
                   c("(Intercept)", "x", "z", "I(x^2)", "x:z"))
  expect_equal(unname(st$X[, "I(x^2)"]), d$x^2)
  expect_equal(unname(st$X[, "x:z"]), d$x * d$z)
})

test_that("rank-deficient X drops aliased columns with a message", {
  d <- make_data()
  d$x2 <- 2 * d$x
  expect_message(
    st <- fake_structures(y ~ x + x2 + z + (1 | g), data = d),
    "rank deficient so dropping 1 column"
  )
  expect_identical(colnames(st$X), c("(Intercept)", "x", "z"))
  expect_identical(st$dropped, "x2")
  expect_identical(attr(st$X, "assign"), c(0L, 1L, 3L))
  expect_identical(dim(st$X), c(12L, 3L))
})

test_that("rank deficiency from factors keeps the contrasts attribute", {
  d <- make_data()
  d$f2 <- d$f   # duplicate factor: both non-baseline columns are aliased
  expect_message(
    st <- fake_structures(y ~ f + f2 + (1 | g), data = d),
    "dropping 2 column\\(s\\)"
  )
  expect_identical(colnames(st$X), c("(Intercept)", "fb", "fc"))
  expect_identical(st$dropped, c("f2b", "f2c"))
  expect_identical(attr(st$X, "assign"), c(0L, 1L, 1L))
  expect_identical(names(attr(st$X, "contrasts")), c("f", "f2"))
})

test_that("full-rank X gives no message", {
  d <- make_data()
  expect_silent(fake_structures(y ~ x + z + (1 | g), data = d))
})

test_that("a factor response is kept as is", {
  d <- make_data()
  d$yf <- factor(ifelse(d$y > 3.5, "hi", "lo"))
  st <- fake_structures(yf ~ x + (1 | g), data = d)
  expect_s3_class(st$response, "factor")
  expect_identical(as.character(st$response), as.character(d$yf))
})

test_that("a cbind() response gives a matrix", {
  d <- make_data()
  d$s <- round(d$y)
  d$fl <- 7 - d$s
  st <- fake_structures(cbind(s, fl) ~ x + (1 | g), data = d)
  expect_true(is.matrix(st$response))
  expect_identical(dim(st$response), c(12L, 2L))
})

# ---------------------------------------------------------------------------
# Random-effects terms

test_that("reterm records have the documented structure", {
  d <- make_data()
  st <- fake_structures(y ~ x + (1 + z | g), data = d)
  expect_length(st$reterms, 1)
  tr <- st$reterms[[1]]
  expect_named(tr, c("group_name", "bar", "cnms", "group", "levels", "nlevels",
                     "group_key", "z",
                     "z_terms", "z_xlev", "z_contrasts"))
  expect_identical(tr$group_name, "g")
  expect_identical(deparse(tr$bar), "1 + z | g")
  expect_identical(tr$cnms, c("(Intercept)", "z"))
  expect_identical(tr$group, rep(1:3, each = 4))
  expect_identical(tr$levels, c("g1", "g2", "g3"))
  expect_identical(tr$nlevels, 3L)
  expect_true(is.matrix(tr$z))
  expect_type(tr$z, "double")
  expect_identical(dim(tr$z), c(12L, 2L))
  expect_identical(colnames(tr$z), c("(Intercept)", "z"))
  expect_equal(unname(tr$z[, 2]), d$z)
  expect_equal(unname(tr$z[, 1]), rep(1, 12))
  expect_identical(deparse1(st$formula), "y ~ x + (1 + z | g)")
})

test_that("0 + lhs and factor lhs give the right z columns", {
  d <- make_data()
  st <- fake_structures(y ~ x + (0 + z | g), data = d)
  expect_identical(st$reterms[[1]]$cnms, "z")
  expect_equal(unname(st$reterms[[1]]$z[, 1]), d$z)
  st <- fake_structures(y ~ x + (0 + f | g), data = d)
  tr <- st$reterms[[1]]
  expect_identical(tr$cnms, c("fa", "fb", "fc"))
  expect_equal(unname(tr$z), outer(as.character(d$f), c("a", "b", "c"), "==") * 1)
  st <- fake_structures(y ~ x + (f | g), data = d)
  expect_identical(st$reterms[[1]]$cnms, c("(Intercept)", "fb", "fc"))
})

test_that("|| gives separate terms for intercept and slope", {
  d <- make_data()
  st <- fake_structures(y ~ x + (x || g), data = d)
  expect_length(st$reterms, 2)
  expect_identical(vapply(st$reterms, `[[`, "", "group_name"), c("g", "g"))
  expect_identical(st$reterms[[1]]$cnms, "(Intercept)")
  expect_identical(st$reterms[[2]]$cnms, "x")
  expect_equal(unname(st$reterms[[2]]$z[, 1]), d$x)
})

test_that("I() and poly() in a random-effects lhs", {
  d <- make_data()
  st <- fake_structures(y ~ x + (1 + I(x^2) || g), data = d)
  expect_identical(st$reterms[[2]]$cnms, "I(x^2)")
  expect_equal(unname(st$reterms[[2]]$z[, 1]), d$x^2)
  st <- fake_structures(y ~ x + (poly(x, 2) | g), data = d)
  expect_identical(st$reterms[[1]]$cnms,
                   c("(Intercept)", "poly(x, 2)1", "poly(x, 2)2"))
})

test_that("character, integer and logical grouping variables", {
  d <- make_data()
  d$hc <- c("b", "a", "c", "b", "a", "c", "b", "a", "c", "b", "a", "c")
  d$hi <- rep(c(30L, 10L, 20L), 4)
  d$hl <- rep(c(TRUE, FALSE, FALSE), 4)
  st <- fake_structures(y ~ x + (1 | hc), data = d)
  tr <- st$reterms[[1]]
  expect_identical(tr$levels, c("a", "b", "c"))
  expect_identical(tr$group, match(d$hc, c("a", "b", "c")))
  st <- fake_structures(y ~ x + (1 | hi), data = d)
  tr <- st$reterms[[1]]
  expect_identical(tr$levels, c("10", "20", "30"))
  expect_identical(tr$group, rep(c(3L, 1L, 2L), 4))
  st <- fake_structures(y ~ x + (1 | hl), data = d)
  tr <- st$reterms[[1]]
  expect_identical(tr$levels, c("FALSE", "TRUE"))
  expect_identical(tr$group, rep(c(2L, 1L, 1L), 4))
  expect_identical(tr$nlevels, 2L)
})

test_that("factor grouping keeps level order and drops unused levels", {
  d <- make_data()
  d$gf <- factor(rep(c("z", "m", "a"), 4), levels = c("z", "m", "unused", "a"))
  st <- fake_structures(y ~ x + (1 | gf), data = d)
  tr <- st$reterms[[1]]
  expect_identical(tr$levels, c("z", "m", "a"))
  expect_identical(tr$group, rep(1:3, 4))
})

test_that("subset drops unused grouping levels", {
  d <- make_data()
  st <- fake_structures(y ~ x + (1 | g), data = d, subset = g != "g2")
  expect_identical(st$reterms[[1]]$levels, c("g1", "g3"))
  expect_identical(st$reterms[[1]]$nlevels, 2L)
})

test_that("interaction grouping a:b uses present combinations", {
  d <- make_data()
  st <- fake_structures(y ~ x + (1 | g:h), data = d)
  tr <- st$reterms[[1]]
  expect_identical(tr$group_name, "g:h")
  expect_identical(tr$levels,
                   c("g1:p", "g1:q", "g2:p", "g2:q", "g3:p", "g3:q"))
  expect_identical(tr$levels[tr$group], paste(d$g, d$h, sep = ":"))
  # only combinations that occur
  d2 <- d[d$g != "g1" | d$h == "p", ]
  st <- fake_structures(y ~ x + (1 | g:h), data = d2)
  expect_identical(st$reterms[[1]]$levels,
                   c("g1:p", "g2:p", "g2:q", "g3:p", "g3:q"))
})

test_that("a:b keeps groups whose labels paste to the same text distinct", {
  # Issue 10 (9): ("a:b", "c") and ("a", "b:c") both paste to "a:b:c" and
  # were merged into one level (as interaction() and lme4 merge them).
  d <- data.frame(y = 1:8, a = rep(c("a:b", "a", "x", "x"), each = 2),
                  b = rep(c("c", "b:c", "y", "z"), each = 2))
  tr <- fake_structures(y ~ 1 + (1 | a:b), data = d)$reterms[[1]]
  expect_identical(tr$nlevels, 4L)
  expect_identical(tr$group, c(2L, 2L, 1L, 1L, 3L, 3L, 4L, 4L))
  expect_identical(tr$levels, c("a:(b:c)", "(a:b):c", "x:y", "x:z"))
  # without a clash the labels are the plain ones
  d$b[1:2] <- "d"
  tr <- fake_structures(y ~ 1 + (1 | a:b), data = d)$reterms[[1]]
  expect_identical(tr$levels, c("a:b:c", "a:b:d", "x:y", "x:z"))
})

test_that("nested grouping a/b gives terms a and a:b", {
  d <- make_data()
  st <- fake_structures(y ~ x + (1 | g/h), data = d)
  nm <- vapply(st$reterms, `[[`, "", "group_name")
  # a:b has more levels (6) than a (3), so it comes first
  expect_identical(nm, c("g:h", "g"))
  expect_identical(find_term(st, "g:h")$nlevels, 6L)
  expect_identical(find_term(st, "g")$nlevels, 3L)
  d$k <- rep(1:2, each = 6)
  st <- fake_structures(y ~ (1 | k/g/h), data = d, lmm = FALSE)
  nm <- vapply(st$reterms, `[[`, "", "group_name")
  expect_identical(nm, c("k:g:h", "k:g", "k"))
  # k:g combinations present: 1:g1, 1:g2, 2:g2, 2:g3
  expect_identical(find_term(st, "k:g")$levels,
                   c("1:g1", "1:g2", "2:g2", "2:g3"))
  expect_identical(find_term(st, "k:g:h")$levels[find_term(st, "k:g:h")$group],
                   paste(d$k, d$g, d$h, sep = ":"))
})

test_that("terms are ordered by decreasing number of random effects", {
  d <- data.frame(y = rnorm(24), x = rep(1:4, 6),
                  g2 = rep(1:2, 12), g3 = rep(1:3, 8), g6 = rep(1:6, 4),
                  a = rep(c("u", "v", "w"), each = 8),
                  b = rep(c("r", "s", "t"), 8))
  st <- fake_structures(y ~ x + (1 | g3) + (1 + x | g2) + (1 | g6), data = d)
  expect_identical(vapply(st$reterms, `[[`, "", "group_name"),
                   c("g6", "g2", "g3"))
  nre <- vapply(st$reterms, function(t) t$nlevels * ncol(t$z), 0)
  expect_identical(nre, c(6, 4, 3))
  # ties keep formula order
  st <- fake_structures(y ~ x + (1 | b) + (1 | a) + (1 | g3), data = d)
  expect_identical(vapply(st$reterms, `[[`, "", "group_name"),
                   c("b", "a", "g3"))
  st <- fake_structures(y ~ x + (1 | a) + (1 | b), data = d)
  expect_identical(vapply(st$reterms, `[[`, "", "group_name"), c("a", "b"))
  # ||: intercept term before slope term (same size)
  st <- fake_structures(y ~ x + (x || g3) + (1 | g6), data = d)
  expect_identical(vapply(st$reterms, `[[`, "", "group_name"),
                   c("g6", "g3", "g3"))
  expect_identical(st$reterms[[2]]$cnms, "(Intercept)")
  expect_identical(st$reterms[[3]]$cnms, "x")
})

# ---------------------------------------------------------------------------
# Errors

test_that("data must be a data frame", {
  d <- make_data()
  expect_error(fake_glmmr(y ~ x + (1 | g), data = as.list(d)),
               "`data` must be a data frame")
  expect_error(fake_glmmr(y ~ x + (1 | g), data = as.matrix(d)),
               "`data` must be a data frame")
})

test_that("missing variables are reported by name", {
  d <- make_data()
  expect_error(fake_glmmr(y ~ x + foo + (1 | g), data = d),
               "variable 'foo' not found")
  expect_error(fake_glmmr(y ~ x + (1 | foo), data = d),
               "variable 'foo' not found")
  expect_error(fake_glmmr(y ~ x + (foo | g), data = d),
               "variable 'foo' not found")
  expect_error(fake_glmmr(y ~ x + (1 | g), data = d, weights = foo),
               "variable 'foo' not found")
  expect_error(fake_glmmr(y ~ x + (1 | g), data = d, offset = foo),
               "variable 'foo' not found")
})

test_that("no observations after subset or NA removal is an error", {
  d <- make_data()
  expect_error(fake_glmmr(y ~ x + (1 | g), data = d, subset = x > 100),
               "no observations")
  d$y <- NA_real_
  expect_error(fake_glmmr(y ~ x + (1 | g), data = d), "no observations")
})

test_that("non-finite values in response or predictors are errors", {
  d <- make_data()
  d$y[3] <- Inf
  expect_error(fake_glmmr(y ~ x + (1 | g), data = d),
               "variable 'y' contains non-finite values")
  d <- make_data()
  d$x[4] <- NaN
  expect_error(fake_glmmr(y ~ x + (1 | g), data = d),
               "variable 'x' contains non-finite values")
  d <- make_data()
  d$z[1] <- -Inf
  expect_error(fake_glmmr(y ~ x + (z | g), data = d),
               "variable 'z' contains non-finite values")
  d <- make_data()
  d$x[1] <- 0
  expect_error(fake_glmmr(y ~ log(x) + (1 | g), data = d),
               "variable 'log\\(x\\)' contains non-finite values")
  # a non-finite value in a row removed by subset is fine
  d <- make_data()
  d$y[1] <- Inf
  expect_identical(nrow(fake_glmmr(y ~ x + (1 | g), data = d, subset = y < 100)),
                   11L)
})

test_that("bad weights are errors", {
  d <- make_data()
  d$w[2] <- -1
  expect_error(fake_glmmr(y ~ x + (1 | g), data = d, weights = w), "weights")
  d <- make_data()
  d$w[2] <- Inf
  expect_error(fake_glmmr(y ~ x + (1 | g), data = d, weights = w), "weights")
  d <- make_data()
  d$w[2] <- NaN
  expect_error(fake_glmmr(y ~ x + (1 | g), data = d, weights = w), "weights")
  expect_error(fake_glmmr(y ~ x + (1 | g), data = make_data(), weights = 1:3),
               "weights")
  expect_error(fake_glmmr(y ~ x + (1 | g), data = make_data(), weights = h),
               "weights")
  # zero weights are allowed
  d <- make_data()
  d$w[2] <- 0
  expect_identical(nrow(fake_glmmr(y ~ x + (1 | g), data = d, weights = w)), 12L)
})

test_that("bad offsets are errors", {
  d <- make_data()
  d$o[5] <- Inf
  expect_error(fake_glmmr(y ~ x + (1 | g), data = d, offset = o), "offset")
  expect_error(fake_glmmr(y ~ x + offset(o) + (1 | g), data = d), "offset")
  d <- make_data()
  d$o[5] <- 0
  expect_error(fake_glmmr(y ~ x + offset(log(o)) + (1 | g), data = d),
               "offset")
  d <- make_data()
  expect_error(fake_glmmr(y ~ x + (1 | g), data = d, offset = 1:5), "offset")
  expect_error(fake_glmmr(y ~ x + (1 | g), data = d, offset = h), "offset")
})

test_that("a formula without random effects is an error in build_structures", {
  d <- make_data()
  fr <- fake_glmmr(y ~ x, data = d)
  expect_error(build_structures(fr), "no random-effects terms")
})

test_that("a grouping factor with one level per observation is an error", {
  d <- make_data()
  d$id <- seq_len(nrow(d))
  expect_error(
    fake_structures(y ~ x + (1 | id), data = d),
    "number of levels of each grouping factor must be < number of observations",
    fixed = TRUE
  )
  expect_error(fake_structures(y ~ x + (1 | g) + (1 | id), data = d),
               "problems: id")
  st <- fake_structures(y ~ x + (1 | id), data = d, lmm = FALSE)
  expect_identical(st$reterms[[1]]$nlevels, 12L)
})

test_that("a random-effects term with no columns is an error", {
  d <- make_data()
  expect_error(fake_structures(y ~ x + (0 | g), data = d), "no columns")
})
