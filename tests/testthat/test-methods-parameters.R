# parameters::model_parameters() (and sjPlot::tab_model(), which is built on
# it) on glmmr fits: each table is parameters' table for the lme4 fit of the
# same model (helper-insight.R), to 1e-3 relative where the optima agree.

skip_reference <- function(...) {
  skip_if_not_installed("lme4")
  for (p in c(...)) skip_if_not_installed(p)
}

# the same rows and columns, the same labels, the same numbers
expect_same_table <- function(object, expected, tolerance = 1e-3) {
  object <- as.data.frame(object)
  expected <- as.data.frame(expected)
  expect_identical(names(object), names(expected))
  for (col in names(expected)) {
    if (is.character(expected[[col]])) {
      expect_identical(object[[col]], expected[[col]], label = col)
    } else if (all(is.na(expected[[col]]))) {
      expect_true(all(is.na(object[[col]])), label = col)
    } else {
      expect_equal(as.numeric(object[[col]]), as.numeric(expected[[col]]),
                   tolerance = tolerance, label = col)
    }
  }
}

model_parameters_quiet <- function(...) {
  # parameters tells lme4 users to install merDeriv for intervals of the
  # random-effect parameters; glmmr gives none either
  suppressMessages(parameters::model_parameters(...))
}

test_that("model_parameters() of a linear mixed model gives lme4's table", {
  skip_reference("parameters")
  for (nm in c("lmm", "reml")) {
    p <- reference_pairs()[[nm]]
    for (cm in list(NULL, "wald", "normal", "residual", "satterthwaite")) {
      expect_same_table(parameters::model_parameters(p$glmmr, ci_method = cm),
                        model_parameters_quiet(p$lme4, ci_method = cm))
    }
  }
  p <- reference_pairs()$reml
  skip_if_not_installed("pbkrtest")
  expect_same_table(parameters::model_parameters(p$glmmr, ci_method = "kenward"),
                    model_parameters_quiet(p$lme4, ci_method = "kenward"))
})

test_that("model_parameters() options give lme4's table", {
  skip_reference("parameters")
  p <- reference_pairs()$reml
  for (args in list(list(effects = "fixed"), list(effects = "random"),
                    list(group_level = TRUE), list(effects = "random", group_level = TRUE),
                    list(ci = 0.9), list(exponentiate = TRUE, effects = "fixed"),
                    list(drop = "Days"))) {
    expect_same_table(do.call(parameters::model_parameters, c(list(p$glmmr), args)),
                      do.call(model_parameters_quiet, c(list(p$lme4), args)))
  }
  g <- reference_pairs()$gm1
  for (args in list(list(), list(ci_method = "residual"), list(ci_method = "normal"),
                    list(exponentiate = TRUE), list(keep = "livch", p_adjust = "holm"),
                    list(group_level = TRUE))) {
    expect_same_table(do.call(parameters::model_parameters, c(list(g$glmmr), args)),
                      do.call(model_parameters_quiet, c(list(g$lme4), args)))
  }
})

test_that("model_parameters() names several terms and a repeated factor as for lme4", {
  skip_reference("parameters")
  f_pen <- diameter ~ 1 + (1 | plate) + (1 | sample)
  expect_same_table(
    parameters::model_parameters(glmmr(f_pen, lme4::Penicillin, REML = TRUE)),
    model_parameters_quiet(lme4::lmer(f_pen, lme4::Penicillin)))
  f_ind <- Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)
  expect_same_table(
    parameters::model_parameters(glmmr(f_ind, sleepstudy, REML = TRUE)),
    model_parameters_quiet(lme4::lmer(f_ind, sleepstudy)))
  p <- reference_pairs()$sing
  expect_same_table(parameters::model_parameters(p$glmmr),
                    model_parameters_quiet(p$lme4))
})

test_that("model_parameters() with profile intervals gives lme4's", {
  skip_reference("parameters")
  p <- reference_pairs()$lmm
  expect_same_table(
    parameters::model_parameters(p$glmmr, ci_method = "profile", effects = "fixed"),
    model_parameters_quiet(p$lme4, ci_method = "profile", effects = "fixed"))
})

test_that("model_parameters() prints as for an lme4 fit", {
  skip_reference("parameters")
  p <- reference_pairs()$reml
  out <- capture.output(print(parameters::model_parameters(p$glmmr)))
  ref <- capture.output(print(model_parameters_quiet(p$lme4)))
  # the fixed-effects and random-effects tables and the footer, line for line
  expect_identical(out, ref)
  # gm1's urban has Helmert contrasts, which glmmr records in `contrasts` (as
  # glm does) and lme4 in its model matrix: parameters reads glmmr's and
  # labels the coefficient "urban [1]", lme4's "urban1"
  p <- reference_pairs()$gm1
  out <- capture.output(print(parameters::model_parameters(p$glmmr)))
  ref <- capture.output(print(model_parameters_quiet(p$lme4)))
  expect_identical(length(out), length(ref))
  expect_match(out[grep("^urban", out)], "^urban \\[1\\] ")
  expect_match(ref[grep("^urban", ref)], "^urban1 ")
})

test_that("model_parameters() refuses what it cannot do, naming the argument", {
  skip_reference("parameters")
  m <- reference_pairs()$lmm$glmmr
  g <- reference_pairs()$gm1$glmmr
  expect_error(parameters::model_parameters(m, ci_methods = "wald"), "`ci_methods`")
  expect_error(parameters::model_parameters(m, ci_method = "boot"), "`ci_method`")
  expect_error(parameters::model_parameters(m, effects = "both"), "`effects`")
  expect_error(parameters::model_parameters(m, ci = 95), "`ci`")
  expect_error(parameters::model_parameters(m, bootstrap = TRUE), "`bootstrap`")
  expect_error(parameters::model_parameters(m, standardize = "refit"), "`standardize`")
  expect_error(parameters::model_parameters(m, ci_method = "kenward"), "REML")
  expect_error(parameters::model_parameters(g, ci_method = "satterthwaite"),
               "linear mixed models only")
})

test_that("sjPlot's tab_model() gives the table it gives for the lme4 fit", {
  skip_reference("sjPlot")
  words <- function(tab) {
    text <- gsub("\\s+", " ", gsub("<[^>]+>", " ", tab$page.complete))
    strsplit(trimws(text), " ")[[1]]
  }
  f_gm1 <- use ~ 1 + age + I(age^2) + urban + livch + (1 | dist)
  pairs <- list(
    reml = reference_pairs()$reml,
    # gm1 with R's default contrasts (with Helmert's, parameters labels
    # glmmr's coefficient better than lme4's: see above)
    gm1 = list(glmmr = glmmr(f_gm1, glmmr::contra, family = binomial, nAGQ = 9),
               lme4 = suppressWarnings(lme4::glmer(f_gm1, glmmr::contra,
                                                   family = binomial, nAGQ = 9))))
  for (p in pairs) {
    w <- words(sjPlot::tab_model(p$glmmr))
    ref <- words(suppressMessages(sjPlot::tab_model(p$lme4)))
    expect_identical(length(w), length(ref))
    # every cell equal; a number may differ by one in its last printed digit
    # (the optima agree to about 1e-5)
    num <- suppressWarnings(as.numeric(ref))
    expect_identical(w[is.na(num)], ref[is.na(num)])
    digits <- nchar(sub("^[^.]*\\.?", "", ref[!is.na(num)]))
    expect_true(all(abs(as.numeric(w[!is.na(num)]) - num[!is.na(num)]) <=
                      1.01 * 10^-digits))
  }
})
