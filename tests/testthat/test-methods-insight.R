# insight and performance on glmmr fits: every number is the same package's
# answer on the lme4 fit of the same model (helper-insight.R), to 1e-3
# relative where the two optima agree (they agree to about 1e-6 here).

skip_reference <- function(...) {
  skip_if_not_installed("lme4")
  for (p in c(...)) skip_if_not_installed(p)
}

# numbers compared without the classes and attributes the packages attach
expect_same_numbers <- function(object, expected, tolerance = 1e-3) {
  expect_equal(unclass(object), unclass(expected), tolerance = tolerance,
               ignore_attr = TRUE)
}

test_that("insight sees a glmmr fit as a mixed model, with lme4's structure", {
  skip_reference("insight")
  for (nm in c("lmm", "gm1")) {
    p <- reference_pairs()[[nm]]
    m <- p$glmmr
    l <- p$lme4
    expect_true(insight::is_mixed_model(m))
    # all flags (is_linear, is_binomial, is_bernoulli, is_mixed, ...), family,
    # link, n_obs and the number of group levels
    expect_identical(insight::model_info(m), insight::model_info(l))
    fm <- insight::find_formula(m)
    fl <- insight::find_formula(l)
    expect_identical(names(fm), c("conditional", "random"))
    expect_identical(lapply(fm, deparse1), lapply(fl, deparse1))
    expect_identical(insight::find_random(m), insight::find_random(l))
    expect_identical(insight::find_random_slopes(m), insight::find_random_slopes(l))
    expect_identical(insight::find_predictors(m, effects = "all"),
                     insight::find_predictors(l, effects = "all"))
    expect_identical(insight::find_parameters(m), insight::find_parameters(l))
    expect_identical(insight::find_parameters(m, effects = "fixed", flatten = TRUE),
                     insight::find_parameters(l, effects = "fixed", flatten = TRUE))
    expect_equal(insight::get_parameters(m), insight::get_parameters(l),
                 tolerance = 1e-3)
    expect_equal(insight::get_parameters(m, effects = "random"),
                 lapply(insight::get_parameters(l, effects = "random"), as.data.frame),
                 tolerance = 1e-3, ignore_attr = TRUE)
    expect_equal(insight::get_statistic(m), insight::get_statistic(l),
                 tolerance = 1e-3)
    expect_equal(insight::get_varcov(m), insight::get_varcov(l),
                 tolerance = 1e-3, ignore_attr = TRUE)
    expect_identical(insight::get_df(m, type = "residual"),
                     insight::get_df(l, type = "residual"))
    expect_identical(insight::get_df(m, type = "wald"),
                     insight::get_df(l, type = "wald"))
    expect_identical(insight::find_algorithm(m)$algorithm,
                     insight::find_algorithm(l)$algorithm)
    expect_equal(insight::n_grouplevels(m), insight::n_grouplevels(l))
  }
  # t for the LMM, z for the Bernoulli GLMM, as for lmerMod and glmerMod
  expect_identical(attr(insight::get_statistic(reference_pairs()$lmm$glmmr), "statistic"),
                   "t-statistic")
  expect_identical(attr(insight::get_statistic(reference_pairs()$gm1$glmmr), "statistic"),
                   "z-statistic")
  expect_identical(insight::find_algorithm(reference_pairs()$reml$glmmr)$algorithm, "REML")
})

test_that("insight::get_variance() gives lme4's variance components", {
  skip_reference("insight")
  for (nm in c("lmm", "reml", "gm1")) {
    p <- reference_pairs()[[nm]]
    vm <- insight::get_variance(p$glmmr)
    vl <- insight::get_variance(p$lme4)
    expect_identical(names(vm), names(vl))
    expect_same_numbers(vm, vl)
  }
  # each component alone, as asked for
  p <- reference_pairs()$lmm
  for (comp in c("fixed", "random", "residual", "distribution", "intercept",
                 "slope", "rho01")) {
    expect_same_numbers(insight::get_variance(p$glmmr, component = comp),
                        insight::get_variance(p$lme4, component = comp))
  }
  # a singular fit: the random-effects variance is left out, with a warning
  p <- reference_pairs()$sing
  vl <- suppressWarnings(insight::get_variance(p$lme4))
  expect_warning(vm <- insight::get_variance(p$glmmr), "singular")
  expect_identical(names(vm), names(vl))
  expect_same_numbers(vm, vl)
})

test_that("insight's restricted log-likelihood at the estimates is lme4's", {
  skip_reference("insight")
  # REML criterion at the ML estimates and ML deviance at the REML estimates
  for (nm in c("lmm", "reml")) {
    p <- reference_pairs()[[nm]]
    for (reml in c(TRUE, FALSE)) {
      lm_ <- insight::get_loglikelihood(p$glmmr, REML = reml)
      ll_ <- stats::logLik(p$lme4, REML = reml)
      expect_equal(as.numeric(lm_), as.numeric(ll_), tolerance = 1e-6)
      expect_identical(attr(lm_, "df"), attr(ll_, "df"))
    }
  }
})

test_that("performance::r2() is Nakagawa's R2 of the lme4 fit, not 1", {
  skip_reference("performance")
  for (nm in c("lmm", "reml", "gm1")) {
    p <- reference_pairs()[[nm]]
    rm <- performance::r2(p$glmmr)
    expect_s3_class(rm, "r2_nakagawa")
    expect_same_numbers(rm, performance::r2(p$lme4))
    expect_lt(rm$R2_conditional, 0.9)
  }
})

test_that("performance::icc() is the lme4 fit's", {
  skip_reference("performance")
  for (nm in c("lmm", "reml", "gm1")) {
    p <- reference_pairs()[[nm]]
    im <- performance::icc(p$glmmr)
    expect_s3_class(im, "icc")
    expect_same_numbers(im, performance::icc(p$lme4))
    # (both warn that by-group ICCs are inaccurate with random slopes)
    expect_same_numbers(suppressWarnings(performance::icc(p$glmmr, by_group = TRUE)),
                        suppressWarnings(performance::icc(p$lme4, by_group = TRUE)))
  }
})

test_that("performance::check_singularity() finds the singular fit", {
  skip_reference("performance")
  for (nm in names(reference_pairs())) {
    p <- reference_pairs()[[nm]]
    expect_identical(performance::check_singularity(p$glmmr),
                     performance::check_singularity(p$lme4))
  }
  expect_true(performance::check_singularity(reference_pairs()$sing$glmmr))
  expect_false(performance::check_singularity(reference_pairs()$lmm$glmmr))
})

test_that("performance::model_performance() has the lme4 fit's indices", {
  skip_reference("performance")
  for (nm in names(reference_pairs())) {
    p <- reference_pairs()[[nm]]
    # (the singular fit has no conditional R2: both say so on the console)
    utils::capture.output({
      pm <- suppressWarnings(performance::model_performance(p$glmmr))
      pl <- suppressWarnings(performance::model_performance(p$lme4))
    })
    expect_s3_class(pm, "performance_model")
    expect_identical(names(pm), names(pl))
    expect_same_numbers(as.list(pm), as.list(pl))
  }
  # the ML criterion when asked for (performance's default is REML)
  p <- reference_pairs()$lmm
  expect_same_numbers(
    as.list(performance::model_performance(p$glmmr, estimator = "ML", metrics = "common")),
    as.list(performance::model_performance(p$lme4, estimator = "ML", metrics = "common")))
})
