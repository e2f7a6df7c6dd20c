# glmmr fits as lme4 sees them. glmmr defines no generics of lme4's names
# (an exported ngrps() or isSingular() of its own would mask lme4's when
# both are attached, and lme4's fits would then fail in them): it registers
# methods for lme4's generics ngrps() and getME() instead, lazily (R >= 3.6
# registers S3method(lme4::generic, class) when lme4 is loaded), so that
# lme4's own functions built on getME(), such as isSingular(), work on a
# glmmr fit.

#' glmmr fits in lme4's functions
#'
#' glmmr registers methods for lme4's generics `ngrps()` and `getME()`, so
#' that `lme4::ngrps(m)`, `lme4::getME(m, name)` and lme4's functions built
#' on `getME()` (`lme4::isSingular(m)`) work on a glmmr fit `m`. glmmr does
#' not define functions of these names itself, so that attaching both
#' packages, in either order, masks nothing. Without lme4 the same
#' information is in the fit's printout (levels per grouping factor, and a
#' note on a boundary (singular) fit), and `performance::check_singularity(m)`
#' works too.
#'
#' `getME()` knows lme4's common names, with lme4's meanings:
#' * `"X"`, `"Z"` (sparse, a `"dgCMatrix"` from the Matrix package, as
#'   lme4's; dense if Matrix is missing), `"Zt"`, `"y"`, `"mu"`, `"offset"`;
#' * `"theta"` (the relative covariance factors' lower triangles, column by
#'   column, named as lme4 names them), `"lower"` (their lower bounds: 0 on
#'   the diagonals, `-Inf` elsewhere), `"beta"`, `"fixef"`, `"sigma"`;
#' * `"u"` (the spherical random effects; in a linear mixed model with
#'   variance \eqn{\sigma^2}, as lme4's), `"b"` (the random effects,
#'   \eqn{\Lambda u}, a vector), `"Lambda"`, `"Lambdat"`, `"Lind"`,
#'   `"Tlist"`;
#' * `"flist"` (the grouping factors), `"cnms"` (each term's column names),
#'   `"Gp"` (the first column of each term in Z, from 0), `"n_rtrms"`,
#'   `"n_rfacs"`, `"N"`, `"n"`, `"p"`, `"q"`, `"k"`, `"m"`, `"p_i"`,
#'   `"l_i"`, `"q_i"`, `"m_i"`, `"REML"`, `"is_REML"`;
#' * `"devcomp"`: lme4's list of the deviance's components (`cmp`) and
#'   dimensions (`dims`); for a generalized model only `ussq`, `drsum` and
#'   `dev` of `cmp` are filled;
#' * `"ALL"`: all of these in a list.
#'
#' Other names (`"L"`, `"RX"`, `"devfun"`, ...) are an error that names them.
#' Observations with a prior weight of 0 are outside the fit (see [glmmr()])
#' but are rows of `"X"`, `"Z"`, `"y"` and `"mu"`; `"n"` counts the
#' observations of the fit.
#'
#' @param object A fitted `"glmmr"` model.
#' @param name A name from the list below, or several of them (a named
#'   list is returned).
#' @param ... Unused; an error if given.
#' @return `ngrps()`: a named integer vector, the number of levels of each
#'   grouping factor. `getME()`: the piece asked for.
#' @examplesIf requireNamespace("lme4", quietly = TRUE)
#' m <- glmmr(Reaction ~ Days + (Days | Subject), sleepstudy)
#' lme4::ngrps(m)
#' lme4::isSingular(m)
#' lme4::getME(m, "theta")
#' @name glmmr-lme4
#' @aliases getME.glmmr ngrps.glmmr
NULL

#' @rdname glmmr-lme4
#' @exportS3Method lme4::ngrps
ngrps.glmmr <- function(object, ...) {
  check_dots(...)
  group_sizes(object)
}

#' @rdname glmmr-lme4
#' @exportS3Method lme4::getME
getME.glmmr <- function(object, name, ...) {
  check_dots(...)
  if (missing(name)) stop("`name` must be given", call. = FALSE)
  name <- as.character(name)
  if (length(name) > 1L) {
    names(name) <- name
    return(lapply(name, function(nm) getME.glmmr(object, nm)))
  }
  if (identical(name, "ALL")) {
    return(sapply(getme_names, function(nm) getME.glmmr(object, nm),
                  simplify = FALSE))
  }
  if (length(name) != 1L || !name %in% getme_names) {
    stop("`name`: '", paste(name, collapse = "', '"), "' is not available ",
         "from getME() for glmmr fits; available: ",
         paste(getme_names, collapse = ", "), call. = FALSE)
  }
  reterms <- object$reterms
  k_i <- vapply(reterms, function(t) length(t$cnms), 0L)
  l_i <- vapply(reterms, `[[`, 0L, "nlevels")
  labels <- vapply(reterms, function(t) deparse1(t$bar), "")
  switch(name,
    X = with_frame_rownames(object$X, object),
    Z = random_matrix(object),
    Zt = Matrix_t(random_matrix(object)),
    y = object$y,
    mu = unname(object$family$linkinv(object$eta)),
    offset = object$offset,
    u = object$u,
    b = as.vector(lambda_matrix(object) %*% object$u),
    Lambda = lambda_matrix(object),
    Lambdat = Matrix_t(lambda_matrix(object)),
    Lind = unlist(lapply(seq_along(reterms), function(i) {
      k <- k_i[i]
      idx <- matrix(0L, k, k)
      idx[lower.tri(idx, diag = TRUE)] <- seq_len(k * (k + 1L) / 2L)
      idx <- t(idx)[upper.tri(idx, diag = TRUE)] # Lambdat's nonzeros, by column
      rep(idx + sum(k_i[seq_len(i - 1L)] * (k_i[seq_len(i - 1L)] + 1L) / 2L),
          l_i[i])
    })),
    Tlist = stats::setNames(relative_factors(object),
                            vapply(reterms, `[[`, "", "group_name")),
    theta = object$theta,
    lower = stats::setNames(theta_lower(object), names(object$theta)),
    beta = unname(object$beta),
    fixef = object$beta,
    sigma = object$sigma,
    flist = grouping_factors(object),
    cnms = stats::setNames(lapply(reterms, `[[`, "cnms"),
                           vapply(reterms, `[[`, "", "group_name")),
    Gp = as.integer(c(0, cumsum(k_i * l_i))),
    n_rtrms = length(reterms),
    n_rfacs = length(group_sizes(object)),
    N = nrow(object$X),
    n = object$nobs,
    p = ncol(object$X),
    q = as.integer(sum(k_i * l_i)),
    k = length(reterms),
    m = length(object$theta),
    p_i = stats::setNames(k_i, labels),
    l_i = group_sizes(object),
    q_i = stats::setNames(k_i * l_i, labels),
    m_i = stats::setNames(choose(k_i + 1, 2), labels),
    REML = if (isTRUE(object$REML)) ncol(object$X) else 0L,
    is_REML = isTRUE(object$REML),
    devcomp = devcomp(object))
}

#' The names getME.glmmr() knows
#' @noRd
getme_names <- c("X", "Z", "Zt", "y", "mu", "offset", "u", "b", "Lambda",
                 "Lambdat", "Lind", "Tlist", "theta", "lower", "beta", "fixef",
                 "sigma", "flist", "cnms", "Gp", "n_rtrms", "n_rfacs", "N", "n",
                 "p", "q", "k", "m", "p_i", "l_i", "q_i", "m_i", "REML",
                 "is_REML", "devcomp")

#' 0 for the diagonal elements of each term's lambda, -Inf elsewhere
#' (lme4's "lower")
#' @noRd
theta_lower <- function(x) {
  unlist(lapply(x$reterms, function(t) {
    k <- length(t$cnms)
    m <- matrix(-Inf, k, k)
    diag(m) <- 0
    m[lower.tri(m, diag = TRUE)]
  }))
}

#' Each term's relative covariance factor lambda (k x k, lower triangular)
#' @noRd
relative_factors <- function(object) {
  pos <- 0L
  lapply(object$reterms, function(t) {
    k <- length(t$cnms)
    nt <- k * (k + 1L) / 2L
    lam <- matrix(0, k, k)
    lam[lower.tri(lam, diag = TRUE)] <- object$theta[pos + seq_len(nt)]
    pos <<- pos + nt
    lam
  })
}

#' Is the Matrix package there (it ships with R, but is only suggested)?
#' @noRd
has_Matrix <- function() requireNamespace("Matrix", quietly = TRUE)

#' Transpose of a dense or Matrix matrix
#' @noRd
Matrix_t <- function(m) if (is.matrix(m)) t(m) else Matrix::t(m)

#' Lambda: block diagonal, each term's lambda repeated for its levels (the
#' random effects are ordered level by level within a term, as in Z)
#' @noRd
lambda_matrix <- function(object) {
  lams <- relative_factors(object)
  blocks <- Map(function(lam, t) {
    if (has_Matrix()) Matrix::kronecker(Matrix::Diagonal(t$nlevels), lam)
    else diag(t$nlevels) %x% lam
  }, lams, object$reterms)
  if (has_Matrix()) {
    Matrix::bdiag(blocks)
  } else {
    q <- sum(vapply(blocks, nrow, 0L))
    out <- matrix(0, q, q)
    pos <- 0L
    for (b in blocks) {
      idx <- pos + seq_len(nrow(b))
      out[idx, idx] <- b
      pos <- pos + nrow(b)
    }
    out
  }
}

#' Z as lme4 gives it: sparse (rows named 1..N, columns by level), or dense
#' @noRd
random_matrix <- function(object) {
  if (!has_Matrix()) return(stats::model.matrix(object, type = "random"))
  n <- nrow(object$X)
  blocks <- lapply(object$reterms, function(t) {
    k <- ncol(t$z)
    Matrix::sparseMatrix(
      i = rep(seq_len(n), k),
      j = as.vector(outer((t$group - 1L) * k, seq_len(k), `+`)),
      x = as.vector(t$z), dims = c(n, t$nlevels * k),
      dimnames = list(as.character(seq_len(n)), rep(t$levels, each = k)))
  })
  z <- do.call(cbind, blocks)
  Matrix::drop0(z)
}

#' The grouping factors, once each, as lme4's flist (a list with attribute
#' "assign": the factor of each term)
#' @noRd
grouping_factors <- function(object) {
  groups <- vapply(object$reterms, `[[`, "", "group_name")
  first <- !duplicated(groups)
  fl <- lapply(object$reterms[first], function(t) {
    factor(t$levels[t$group], levels = t$levels)
  })
  names(fl) <- groups[first]
  attr(fl, "assign") <- match(groups, groups[first])
  fl
}

#' lme4's devcomp: the components of the deviance and the dimensions
#'
#' For a linear mixed model, lme4's profiled deviance is
#' ldL2 - ldW + n (1 + log(2 pi pwrss / n)) (ML), with ldRX2 added and n - p
#' for n for REML, where pwrss is the penalized weighted residual sum of
#' squares, ldW the sum of the log prior weights, and RX (with
#' vcov = sigma^2 (RX'RX)^-1) the fixed-effects block of the Cholesky factor.
#' ldRX2 comes from vcov and ldL2 from the deviance.
#' @noRd
devcomp <- function(object) {
  lmm <- is.na(object$nAGQ)
  fitted_rows <- object$weights > 0
  w <- object$weights[fitted_rows]
  mu <- object$family$linkinv(object$eta)[fitted_rows]
  y <- object$y[fitted_rows]
  n <- object$nobs
  p <- ncol(object$X)
  ussq <- sum(object$u^2)
  cmp <- c(ldL2 = NA, ldRX2 = NA, wrss = NA, ussq = ussq, pwrss = NA,
           drsum = NA, REML = NA, dev = NA, sigmaML = NA, sigmaREML = NA)
  if (lmm) {
    wrss <- sum(w * (y - mu)^2)
    pwrss <- wrss + ussq
    ldW <- sum(log(w))
    reml <- isTRUE(object$REML)
    ldRX2 <- if (p > 0L) {
      p * log(object$sigma^2) -
        as.numeric(determinant(object$vcov_factor, logarithm = TRUE)$modulus)
    } else 0
    nmp <- if (reml) n - p else n
    ldL2 <- object$objective + ldW - nmp * (1 + log(2 * pi * pwrss / nmp)) -
      if (reml) ldRX2 else 0
    cmp[c("ldL2", "ldRX2", "wrss", "pwrss", "sigmaML", "sigmaREML")] <-
      c(ldL2, ldRX2, wrss, pwrss, sqrt(pwrss / n), sqrt(pwrss / (n - p)))
    cmp[if (reml) "REML" else "dev"] <- object$objective
  } else {
    cmp[["drsum"]] <- sum(object$family$dev.resids(y, mu, w))
    cmp[["dev"]] <- object$objective
  }
  q <- sum(vapply(object$reterms, function(t) t$nlevels * length(t$cnms), 0))
  dims <- c(N = nrow(object$X), n = n, p = p, nmp = n - p, q = q,
            nth = length(object$theta),
            if (!lmm) c(nAGQ = object$nAGQ, compDev = 1L),
            useSc = as.integer(isTRUE(object$use_scale)), reTrms = 1L,
            spFe = 0L, REML = if (isTRUE(object$REML)) p else 0L,
            GLMM = as.integer(!lmm), NLMM = 0L)
  storage.mode(dims) <- "integer"
  list(cmp = cmp, dims = dims)
}

#' Is the fit singular? performance's check_singularity() for glmmr fits
#'
#' As for lme4's fits: a diagonal element of a relative covariance factor
#' (theta with lower bound 0) below `tolerance`.
#' @param x A fitted `"glmmr"` model.
#' @param tolerance The threshold (performance's default).
#' @param ... Unused; an error if given.
#' @return `TRUE` or `FALSE`.
#' @keywords internal
#' @exportS3Method performance::check_singularity
check_singularity.glmmr <- function(x, tolerance = 1e-5, ...) {
  check_dots(...)
  any(abs(x$theta[theta_lower(x) == 0]) < tolerance)
}
