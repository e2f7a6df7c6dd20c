# glmmr fits in lme4's functions (issue 13, part 1): lme4's generics ngrps()
# and getME() have glmmr methods, lme4's isSingular() works through getME(),
# and glmmr masks none of lme4's, nlme's or stats' names. The references are
# lme4's results on lme4's fit of the same model.

test_that("glmmr exports no name of lme4, nlme or stats other than their own objects", {
  skip_if_not_installed("lme4")
  ours <- getNamespaceExports("glmmr")
  for (pkg in c("lme4", "nlme", "stats")) {
    shared <- intersect(ours, getNamespaceExports(pkg))
    for (nm in shared) {
      expect_identical(getExportedValue("glmmr", nm), getExportedValue(pkg, nm),
                       info = paste(pkg, nm))
    }
  }
  expect_false(any(c("ngrps", "isSingular", "getME") %in% ours))
})

test_that("lme4's functions work on lme4 and glmmr fits in either load order", {
  skip_if_not_installed("lme4")
  child <- function(first) {
    pkgs <- if (first == "lme4") c("lme4", "glmmr") else c("glmmr", "lme4")
    for (p in pkgs) suppressPackageStartupMessages(library(p, character.only = TRUE))
    d <- glmmr::sleepstudy
    l <- lmer(Reaction ~ Days + (Days | Subject), d, REML = FALSE)
    g <- glmmr(Reaction ~ Days + (Days | Subject), d)
    list(search = search(),
         ngrps = list(ngrps(l), ngrps(g)),
         singular = list(isSingular(l), isSingular(g)),
         theta = list(getME(l, "theta"), getME(g, "theta")),
         fixef = list(fixef(l), fixef(g)),
         vc = list(as.data.frame(VarCorr(l))$vcov, as.data.frame(VarCorr(g))$vcov))
  }
  for (first in c("lme4", "glmmr")) {
    r <- in_fresh_r(child, list(first = first))
    # the package attached last is first on the search path
    pos <- match(c("package:lme4", "package:glmmr"), r$search)
    expect_identical(pos[1] > pos[2], first == "lme4", info = first)
    expect_equal(r$ngrps[[2]], r$ngrps[[1]], ignore_attr = FALSE, info = first)
    expect_identical(r$singular, list(FALSE, FALSE), info = first)
    expect_equal(r$theta[[2]], r$theta[[1]], tolerance = 1e-3, info = first)
    expect_equal(r$fixef[[2]], r$fixef[[1]], tolerance = 1e-3, info = first)
    expect_equal(r$vc[[2]], r$vc[[1]], tolerance = 1e-3, info = first)
  }
})

test_that("getME gives lme4's pieces of an ML fit", {
  skip_if_not_installed("lme4")
  p <- sleep_pair(Reaction ~ Days + (Days | Subject))
  for (nm in c("theta", "lower", "beta", "fixef", "sigma", "u", "Tlist")) {
    expect_equal(lme4::getME(p$g, nm), lme4::getME(p$l, nm), tolerance = 1e-3, info = nm)
  }
  # lme4 gives b as a one-column Matrix, mu named by row
  expect_equal(lme4::getME(p$g, "b"), as.vector(lme4::getME(p$l, "b")), tolerance = 1e-3)
  expect_equal(lme4::getME(p$g, "mu"), lme4::getME(p$l, "mu"), tolerance = 1e-3,
               ignore_attr = TRUE)
  for (nm in c("Gp", "n", "N", "p", "q", "k", "m", "p_i", "l_i", "q_i", "m_i",
               "REML", "is_REML", "n_rtrms", "n_rfacs", "Lind", "cnms", "flist",
               "y", "offset")) {
    expect_equal(lme4::getME(p$g, nm), lme4::getME(p$l, nm), info = nm)
  }
  expect_equal(unclass(lme4::getME(p$g, "X")), unclass(lme4::getME(p$l, "X")),
               ignore_attr = TRUE)
  expect_equal(lme4::getME(p$g, "Z"), lme4::getME(p$l, "Z"))
  expect_equal(lme4::getME(p$g, "Zt"), lme4::getME(p$l, "Zt"))
  expect_equal(lme4::getME(p$g, "Lambda"), lme4::getME(p$l, "Lambda"), tolerance = 1e-3)
  expect_equal(lme4::getME(p$g, "Lambdat"), lme4::getME(p$l, "Lambdat"), tolerance = 1e-3)
  expect_equal(lme4::getME(p$g, "devcomp"), lme4::getME(p$l, "devcomp"), tolerance = 1e-3)
  # several names at once, and ALL, as lme4
  both <- lme4::getME(p$g, c("theta", "n"))
  expect_named(both, c("theta", "n"))
  expect_identical(both$n, 180L)
  all <- lme4::getME(p$g, "ALL")
  expect_equal(all$devcomp, lme4::getME(p$g, "devcomp"))
  expect_true(all(c("X", "Z", "theta", "lower", "flist", "cnms") %in% names(all)))
})

test_that("getME on a REML fit and on two terms of one factor", {
  skip_if_not_installed("lme4")
  p <- sleep_pair(Reaction ~ Days + (Days | Subject), REML = TRUE)
  expect_equal(lme4::getME(p$g, "devcomp"), lme4::getME(p$l, "devcomp"), tolerance = 1e-3)
  expect_identical(lme4::getME(p$g, "REML"), lme4::getME(p$l, "REML"))
  expect_true(lme4::getME(p$g, "is_REML"))
  p <- sleep_pair(Reaction ~ Days + (1 | Subject) + (0 + Days | Subject))
  for (nm in c("flist", "cnms", "Lind", "Gp", "p_i", "q_i", "n_rtrms", "n_rfacs", "Z")) {
    expect_equal(lme4::getME(p$g, nm), lme4::getME(p$l, nm), info = nm)
  }
  for (nm in c("theta", "lower", "u", "Lambdat")) {
    expect_equal(lme4::getME(p$g, nm), lme4::getME(p$l, nm), tolerance = 1e-3, info = nm)
  }
})

test_that("getME of gm1 (binomial, nAGQ = 9) is lme4's", {
  skip_if_not_installed("lme4")
  p <- gm1_pair()
  for (nm in c("theta", "beta", "u", "sigma")) {
    expect_equal(lme4::getME(p$g, nm), lme4::getME(p$l, nm), tolerance = 1e-3, info = nm)
  }
  expect_equal(lme4::getME(p$g, "b"), as.vector(lme4::getME(p$l, "b")), tolerance = 1e-3)
  expect_equal(lme4::getME(p$g, "mu"), lme4::getME(p$l, "mu"), tolerance = 1e-3,
               ignore_attr = TRUE)
  expect_equal(lme4::getME(p$g, "Z"), lme4::getME(p$l, "Z"))
  dg <- lme4::getME(p$g, "devcomp")
  dl <- lme4::getME(p$l, "devcomp")
  expect_equal(dg$dims, dl$dims)
  # the components glmmr fills for a GLMM
  expect_equal(dg$cmp[c("ussq", "drsum", "dev")], dl$cmp[c("ussq", "drsum", "dev")],
               tolerance = 1e-3)
  expect_identical(lme4::ngrps(p$g), c(district = 60L))
  expect_equal(lme4::ngrps(p$g), lme4::ngrps(p$l), ignore_attr = FALSE)
  expect_identical(lme4::isSingular(p$g), lme4::isSingular(p$l))
})

test_that("isSingular (lme4's, through getME) agrees with lme4 on a singular fit", {
  skip_if_not_installed("lme4")
  fx <- lmm_fixtures$dyestuff2_singular
  g <- glmmr(as.formula(fx$formula), fx$data)
  l <- suppressMessages(lme4::lmer(as.formula(fx$formula), fx$data, REML = FALSE))
  expect_true(lme4::isSingular(l))
  expect_identical(lme4::isSingular(g), lme4::isSingular(l))
  expect_identical(lme4::isSingular(g, tol = 0), lme4::isSingular(l, tol = 0))
  skip_if_not_installed("performance")
  expect_identical(performance::check_singularity(g), performance::check_singularity(l))
  m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
  expect_identical(performance::check_singularity(m),
                   performance::check_singularity(lme4::lmer(Reaction ~ Days + (Days | Subject),
                                                             sleepstudy, REML = FALSE)))
})

test_that("getME refuses names it does not know, and unknown arguments", {
  skip_if_not_installed("lme4")
  m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
  expect_error(lme4::getME(m, "devfun"), "'devfun' is not available")
  expect_error(lme4::getME(m), "`name` must be given")
  expect_error(lme4::getME(m, "theta", foo = 1), "unknown argument .*`foo`")
  expect_error(lme4::ngrps(m, 2), "unknown argument .*`2`")
})
