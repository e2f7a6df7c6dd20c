# Denominator degrees of freedom for the fixed effects of a linear mixed
# model, as lmerTest gives them: t-tests of each coefficient for summary()
# and F tests of each term (types I and III) for anova(), with
# Satterthwaite's degrees of freedom (lmerTest's method) or Kenward and
# Roger's adjusted covariance and degrees of freedom (pbkrtest's). The
# functions follow lmerTest 3.1 and pbkrtest 0.5 closely, so that the
# numbers are theirs.

#' Which degrees-of-freedom method a summary or single-model anova uses
#'
#' A GLMM keeps its z (Wald chi-square) tests: there `ddf` may only be
#' `"none"` (the default for it).
#' @param ddf The `ddf` argument as given; `given`: whether the caller gave it.
#' @return "Satterthwaite", "Kenward-Roger" or "none".
#' @noRd
ddf_method <- function(object, ddf, given) {
  choices <- c("Satterthwaite", "Kenward-Roger", "none")
  if (!is.character(ddf) || length(ddf) < 1L || !all(ddf %in% choices)) {
    stop("`ddf` must be one of \"Satterthwaite\", \"Kenward-Roger\" or \"none\"",
         call. = FALSE)
  }
  ddf <- ddf[1L]
  if (!is.na(object$nAGQ)) {
    if (given && ddf != "none") {
      stop("`ddf` = \"", ddf, "\" applies to linear mixed models only; a ",
           "generalized linear mixed model has z tests (ddf = \"none\")", call. = FALSE)
    }
    return("none")
  }
  if (ddf == "Kenward-Roger" && !isTRUE(object$REML)) {
    # as lmerTest: Kenward-Roger's method is defined for REML estimates
    stop("`ddf` = \"Kenward-Roger\" needs a REML fit: refit with REML = TRUE ",
         "(or use ddf = \"Satterthwaite\")", call. = FALSE)
  }
  ddf
}

#' The t-tests of the fixed effects: Estimate, Std. Error, df, t value and
#' Pr(>|t|), as lmerTest's summary gives them (with Kenward-Roger, the
#' standard errors are the adjusted ones)
#' @noRd
ddf_coef_table <- function(object, ddf) {
  p <- length(object$beta)
  info <- ddf_info(object, ddf)
  rows <- lapply(seq_len(p), function(i) {
    L <- replace(numeric(p), i, 1)
    contest_1d(info, L)
  })
  tab <- do.call(rbind, rows)
  dimnames(tab) <- list(names(object$beta),
                        c("Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"))
  tab
}

#' The F tests of the fixed-effects terms (lmerTest's single-model anova)
#' @noRd
ddf_anova_table <- function(object, type, ddf) {
  L_list <- if (type == "I") contrasts_type1(object) else contrasts_type3(object)
  info <- ddf_info(object, ddf)
  cols <- c("Sum Sq", "Mean Sq", "NumDF", "DenDF", "F value", "Pr(>F)")
  rows <- lapply(L_list, function(L) contest_md(info, L))
  keep <- vapply(rows, length, 0L) > 0L
  tab <- if (any(keep)) do.call(rbind, rows[keep]) else matrix(numeric(0), 0L, 6L)
  tab <- as.data.frame(tab)
  names(tab) <- cols
  rownames(tab) <- names(L_list)[keep]
  method <- if (ddf == "Satterthwaite") "Satterthwaite's" else "Kenward-Roger's"
  structure(tab, heading = paste("Type", type, "Analysis of Variance Table with",
                                 method, "method"),
            hypotheses = L_list, class = c("anova", "data.frame"))
}

#' What the tests need: the estimates, their covariance, sigma and the
#' method's pieces
#' @noRd
ddf_info <- function(object, ddf) {
  info <- list(method = ddf, beta = unname(object$beta), sigma = object$sigma,
               vcov = unname(as.matrix(unclass(object$vcov))))
  attr(info$vcov, "type") <- NULL
  if (ddf == "Satterthwaite") c(info, satterthwaite_pieces(object))
  else c(info, kenward_roger_pieces(object, info$vcov))
}

# ---- Satterthwaite -------------------------------------------------------

#' The derivatives Satterthwaite's degrees of freedom need (lmerTest's
#' `as_lmerModLT()`): with the variance parameters varpar = (theta, sigma),
#' A = 2 H^-1, H the Hessian of the deviance (ML or REML, as fitted) in
#' varpar, and the Jacobian of Var(beta) = sigma^2 (X' V0^-1 X)^-1 in
#' varpar, one p x p matrix per parameter.
#'
#' The engine gives the deviance and (X' V0^-1 X)^-1 exactly at any varpar
#' (`rust_lmm_at()`, no refit); the derivatives are central differences of
#' these with one Richardson extrapolation step (error of order h^4), where
#' lmerTest applies numDeriv's Richardson extrapolation to lme4's deviance
#' function.
#' @noRd
satterthwaite_pieces <- function(object) {
  prepared <- prepared_model(object)
  x0 <- c(unname(object$theta), object$sigma)
  k <- length(x0)
  p <- length(object$beta)
  at <- function(x) {
    r <- engine_call(rust_lmm_at(prepared, x[-k], x[k]))
    list(dev = r$deviance, cov = x[k]^2 * matrix(r$unscaled_vcov, p, p))
  }
  f0 <- at(x0)$dev
  shift <- function(i, a) replace(numeric(k), i, a)
  differences <- function(h) {
    plus <- lapply(seq_len(k), function(i) at(x0 + shift(i, h[i])))
    minus <- lapply(seq_len(k), function(i) at(x0 - shift(i, h[i])))
    H <- matrix(0, k, k)
    for (i in seq_len(k)) {
      H[i, i] <- (plus[[i]]$dev - 2 * f0 + minus[[i]]$dev) / h[i]^2
      for (j in seq_len(i - 1L)) {
        f <- function(a, b) at(x0 + shift(i, a * h[i]) + shift(j, b * h[j]))$dev
        H[i, j] <- H[j, i] <- (f(1, 1) - f(1, -1) - f(-1, 1) + f(-1, -1)) / (4 * h[i] * h[j])
      }
    }
    list(H = H, jac = lapply(seq_len(k), function(i) (plus[[i]]$cov - minus[[i]]$cov) / (2 * h[i])))
  }
  # theta is on the scale of sigma (lambda is relative), so absolute steps
  # for it; a relative one for sigma
  h <- 1e-3 * c(pmax(abs(x0[-k]), 1), x0[k])
  d1 <- differences(h)
  d2 <- differences(h / 2)
  richardson <- function(a, b) (4 * b - a) / 3
  H <- richardson(d1$H, d2$H)
  list(vcov_varpar = 2 * positive_inverse(H), jac = Map(richardson, d1$jac, d2$jac),
       hessian = H)
}

#' The inverse of the Hessian on its positive eigenvalues, with lmerTest's
#' warnings where it is not positive definite
#' @noRd
positive_inverse <- function(H, tol = 1e-8) {
  e <- eigen(H, symmetric = TRUE)
  neg <- e$values < -tol
  zero <- abs(e$values) <= tol
  if (any(neg)) {
    warning("the Hessian of the deviance in (theta, sigma) has ", sum(neg),
            " negative eigenvalue(s) (", paste(sprintf("%1.1e", e$values[neg]), collapse = " "),
            "): the fit may not have converged; the degrees of freedom use its ",
            "positive part", call. = FALSE)
  }
  if (any(zero)) {
    warning("the Hessian of the deviance in (theta, sigma) has ", sum(zero),
            " eigenvalue(s) close to zero: the fit may not have converged", call. = FALSE)
  }
  pos <- e$values > tol
  v <- e$vectors[, pos, drop = FALSE]
  v %*% (t(v) / e$values[pos])
}

# ---- Kenward-Roger -------------------------------------------------------

#' Kenward-Roger's method uses dense n x n matrices (V, its inverse and one
#' product per covariance parameter): beyond this many observations it is
#' refused rather than exhausting memory.
#' @noRd
kr_max_n <- 5000L

#' The adjusted covariance of beta and the pieces of its degrees of freedom
#' (pbkrtest's `vcovAdj()`): V = sum_r gamma_r G_r over the covariance
#' parameters gamma (each term's covariance elements and sigma^2), G_r the
#' derivative of V in gamma_r (Z_r E_r Z_r', and W^-1 for sigma^2: pbkrtest
#' has the identity, as it ignores prior weights).
#' @noRd
kenward_roger_pieces <- function(object, Phi) {
  rows <- object$weights > 0
  n <- sum(rows)
  if (n > kr_max_n) {
    stop("`ddf` = \"Kenward-Roger\" works with dense n x n matrices and is limited to ",
         kr_max_n, " observations (this model has ", n, "); use ddf = \"Satterthwaite\"",
         call. = FALSE)
  }
  X <- unname(object$X[rows, , drop = FALSE])
  sigma2 <- object$sigma^2
  G <- list()
  gamma <- numeric(0)
  pos <- 0L
  for (t in object$reterms) {
    k <- ncol(t$z)
    nt <- k * (k + 1L) / 2L
    lam <- matrix(0, k, k)
    lam[lower.tri(lam, diag = TRUE)] <- object$theta[pos + seq_len(nt)]
    pos <- pos + nt
    cov <- sigma2 * tcrossprod(lam)
    g <- t$group[rows]
    z <- t$z[rows, , drop = FALSE]
    # column a of the term's Z: n x levels
    Za <- lapply(seq_len(k), function(a) {
      m <- matrix(0, n, t$nlevels)
      m[cbind(seq_len(n), g)] <- z[, a]
      m
    })
    for (b in seq_len(k)) for (a in b:k) {
      G[[length(G) + 1L]] <- if (a == b) tcrossprod(Za[[a]]) else {
        zz <- tcrossprod(Za[[a]], Za[[b]])
        zz + t(zz)
      }
      gamma <- c(gamma, cov[a, b])
    }
  }
  G[[length(G) + 1L]] <- diag(1 / object$weights[rows], n)
  gamma <- c(gamma, sigma2)
  Sigma <- Reduce(`+`, Map(`*`, gamma, G))
  SigmaInv <- chol2inv(chol(Sigma))
  ng <- length(G)
  TT <- SigmaInv %*% X
  HH <- lapply(G, function(g) g %*% SigmaInv)
  rm(G)
  OO <- lapply(HH, function(h) h %*% X)
  PP <- lapply(OO, function(o) {
    m <- -crossprod(o, TT)
    (m + t(m)) / 2
  })
  QQ <- matrix(list(), ng, ng)
  Ktrace <- IE2 <- matrix(0, ng, ng)
  for (r in seq_len(ng)) for (s in r:ng) {
    QQ[[r, s]] <- crossprod(OO[[r]], SigmaInv %*% OO[[s]])
    Ktrace[r, s] <- Ktrace[s, r] <- sum(t(HH[[r]]) * HH[[s]])
    IE2[r, s] <- IE2[s, r] <- Ktrace[r, s] - 2 * sum(Phi * QQ[[r, s]]) +
      sum((Phi %*% PP[[r]]) * (PP[[s]] %*% Phi))
  }
  condi <- min(abs(eigen(IE2, symmetric = TRUE, only.values = TRUE)$values))
  W <- 2 * (if (condi > 1e-10) solve(IE2) else ginv(IE2))
  W <- (W + t(W)) / 2
  UU <- matrix(0, ncol(X), ncol(X))
  for (r in seq_len(ng)) for (s in r:ng) {
    term <- W[r, s] * (QQ[[r, s]] - PP[[r]] %*% Phi %*% PP[[s]])
    UU <- UU + if (r == s) term else term + t(term)
  }
  list(vcov_adj = Phi + 2 * Phi %*% UU %*% Phi, P = PP, W = W)
}

#' pbkrtest's A1, A2 and degrees of freedom for the hypothesis L beta = 0
#' (`Lb_ddf()` and `.KR_adjust()`), with its F scaling
#' @noRd
kr_ddf <- function(info, L, q = nrow(L)) {
  Phi <- info$vcov
  Theta <- t(L) %*% solve(L %*% Phi %*% t(L), L)
  P <- info$P
  W <- info$W
  A1 <- A2 <- 0
  u <- lapply(P, function(Pi) Theta %*% Phi %*% Pi %*% Phi)
  for (i in seq_along(P)) for (j in i:length(P)) {
    e <- if (i == j) 1 else 2
    A1 <- A1 + e * W[i, j] * sum(diag(u[[i]])) * sum(diag(u[[j]]))
    A2 <- A2 + e * W[i, j] * sum(u[[i]] * t(u[[j]]))
  }
  B <- (A1 + 6 * A2) / (2 * q)
  g <- ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
  den <- 3 * q + 2 * (1 - g)
  c1 <- g / den
  c2 <- (q - g) / den
  c3 <- (q + 2 - g) / den
  V0 <- 1 + c1 * B
  V0 <- if (abs(V0) < 1e-10) 0 else V0
  V1 <- 1 - c2 * B
  V2 <- 1 - c3 * B
  ratio <- if (abs(1 - A2 / q) < 1e-14 && abs(V1) < 1e-14) 1 else (1 - A2 / q) / V1
  rho <- ratio^2 * V0 / V2 / q
  df2 <- 4 + (q + 2) / (q * rho - 1)
  scaling <- if (abs(df2 - 2) < 0.01) 1 else df2 * (1 - A2 / q) / (df2 - 2)
  c(ddf = df2, scaling = scaling)
}

# ---- tests of contrasts (lmerTest's contest1D and contestMD) ------------

#' The t-test of L beta = 0 for one contrast L: estimate, standard error,
#' df, t and p
#' @noRd
contest_1d <- function(info, L) {
  est <- sum(L * info$beta)
  if (info$method == "Satterthwaite") {
    v <- qform(L, info$vcov)
    grad <- vapply(info$jac, function(J) qform(L, J), 0)
    df <- 2 * v^2 / qform(grad, info$vcov_varpar)
  } else {
    v <- qform(L, info$vcov_adj)
    df <- kr_ddf(info, matrix(L, 1L))[["ddf"]]
  }
  t <- est / sqrt(v)
  c(est, sqrt(v), df, t, 2 * stats::pt(abs(t), df, lower.tail = FALSE))
}

#' The F test of L beta = 0 for a contrast matrix L: Sum Sq, Mean Sq, NumDF,
#' DenDF, F value and Pr(>F) (an empty vector for an empty L)
#' @noRd
contest_md <- function(info, L) {
  if (!is.matrix(L)) L <- matrix(L, nrow = 1L)
  if (nrow(L) == 0L) return(numeric(0))
  ftable <- function(F, ndf, ddf, scale = 1) {
    ms <- F * info$sigma^2
    c(ms * ndf, ms, ndf, ddf, F * scale,
      stats::pf(F * scale, ndf, ddf, lower.tail = FALSE))
  }
  if (info$method == "Kenward-Roger") {
    # as pbkrtest's KRmodcomp: a rank-deficient L replaced by a basis of its rows
    q <- qr(L)$rank
    if (q < nrow(L)) L <- t(qr.Q(qr(t(L)))[, seq_len(q), drop = FALSE])
    k <- kr_ddf(info, L, q)
    b <- L %*% info$beta
    wald <- drop(crossprod(b, solve(L %*% info$vcov_adj %*% t(L), b)))
    return(ftable(wald / q, q, k[["ddf"]], k[["scaling"]]))
  }
  if (nrow(L) == 1L) {
    r <- contest_1d(info, drop(L))
    return(ftable(r[4]^2, 1, r[3]))
  }
  e <- eigen(L %*% info$vcov %*% t(L), symmetric = TRUE)
  d <- e$values
  pos <- d > max(sqrt(.Machine$double.eps) * d[1L], 0)
  q <- sum(pos)
  if (q == 0L) return(numeric(0))
  PtL <- crossprod(e$vectors, L)[seq_len(q), , drop = FALSE]
  if (q == 1L) {
    r <- contest_1d(info, drop(PtL))
    return(ftable(r[4]^2, 1, r[3]))
  }
  F <- sum(drop(PtL %*% info$beta)^2 / d[seq_len(q)]) / q
  nu <- vapply(seq_len(q), function(m) {
    grad <- vapply(info$jac, function(J) qform(PtL[m, ], J), 0)
    2 * d[m]^2 / qform(grad, info$vcov_varpar)
  }, 0)
  ftable(F, q, f_ddf(nu))
}

#' The denominator df of an F test from the df of its q independent t-tests
#' (lmerTest's `get_Fstat_ddf()`)
#' @noRd
f_ddf <- function(nu, tol = 1e-8) {
  if (length(nu) == 1L) return(nu)
  if (all(abs(diff(nu)) < tol)) return(mean(nu))
  if (any(nu <= 2)) return(2)
  E <- sum(nu / (nu - 2))
  2 * E / (E - length(nu))
}

qform <- function(x, A) sum(x * (A %*% x))

#' The Moore-Penrose inverse (as MASS::ginv)
#' @noRd
ginv <- function(X, tol = sqrt(.Machine$double.eps)) {
  s <- svd(X)
  pos <- s$d > max(tol * s$d[1L], 0)
  if (!any(pos)) return(array(0, dim(X)[2:1]))
  s$v[, pos, drop = FALSE] %*% ((1 / s$d[pos]) * t(s$u[, pos, drop = FALSE]))
}

# ---- the hypotheses of each term (lmerTest's types I and III) -----------

#' Type I (sequential) contrasts: rows of the Doolittle factor of X'X
#' @noRd
contrasts_type1 <- function(object) {
  terms <- object$fixed_terms
  X <- object$X
  p <- ncol(X)
  if (p == 0L || (p == 1L && attr(terms, "intercept") > 0)) return(list())
  L <- if (p == 1L) matrix(1) else t(doolittle(crossprod(X))$L)
  dimnames(L) <- list(colnames(X), colnames(X))
  cols <- term_columns(terms, X)[attr(terms, "term.labels")]
  lapply(cols, function(r) L[r, , drop = FALSE])
}

#' Type III contrasts, as lmerTest makes them: the hypotheses of
#' treatment-coded X with each term made orthogonal to the terms that
#' contain it, mapped to the fit's own coding
#' @noRd
contrasts_type3 <- function(object) {
  terms <- object$fixed_terms
  term_names <- attr(terms, "term.labels")
  Xorig <- object$X
  if (ncol(Xorig) <= 1L || length(term_names) <= 1L) return(contrasts_type1(object))
  codings <- unlist(attr(Xorig, "contrasts"))
  if (length(codings) > 0L && is.character(codings) && all(codings == "contr.treatment")) {
    return(type3_treatment(object, Xorig))
  }
  frame <- object$frame
  coding <- stats::.getXlevels(terms, frame)
  coding[] <- "contr.treatment"
  X <- stats::model.matrix(terms, data = frame, contrasts.arg = coding)
  X <- full_rank_columns(X)
  L3 <- type3_treatment(object, X)
  map <- zapsmall(ginv(X) %*% Xorig)
  rownames(map) <- colnames(X)
  lapply(L3[term_names], function(L) L %*% map)
}

#' lmerTest's `extract_contrasts_type3()` for a treatment-coded X
#' @noRd
type3_treatment <- function(object, X) {
  terms <- object$fixed_terms
  term_names <- attr(terms, "term.labels")
  rdX <- dummy_design(object)
  L <- zapsmall(t(ginv(X) %*% rdX))
  dimnames(L) <- list(colnames(rdX), colnames(X))
  map <- term_columns(terms, X)
  contained <- containment(terms)
  for (term in term_names[order(attr(terms, "order"), decreasing = TRUE)]) {
    if (length(contains <- contained[[term]]) > 0L) {
      L[, map[[term]]] <- zapsmall(stats::resid(stats::lm.fit(
        x = L[, unlist(map[contains]), drop = FALSE], y = L[, map[[term]], drop = FALSE])))
    }
  }
  L <- L[colnames(X), , drop = FALSE]
  lapply(map[term_names], function(cols) {
    Lt <- t(L[, cols, drop = FALSE])
    Lt[rowSums(abs(Lt)) > 1e-8, , drop = FALSE]
  })
}

#' The over-parameterised design: each term with every level (lmerTest's
#' `get_rdX()`), from which type III hypotheses are read
#' @noRd
dummy_design <- function(object) {
  terms <- object$fixed_terms
  term_names <- attr(terms, "term.labels")
  frame <- object$frame
  blocks <- lapply(term_names, function(trm) {
    stats::model.matrix(stats::as.formula(paste("~ 0 +", trm)), data = frame)
  })
  rdX <- do.call(cbind, blocks)
  nm <- unlist(lapply(blocks, colnames))
  if (attr(terms, "intercept") != 0) {
    rdX <- cbind(rep(1, nrow(frame)), rdX)
    nm <- c("(Intercept)", nm)
  }
  colnames(rdX) <- nm
  empty <- which(apply(rdX, 2L, function(x) all(x == 0)))
  if (length(empty)) {
    message("Missing cells for: ", paste(nm[empty], collapse = ", "),
            ". Interpret type III hypotheses with care.")
  }
  rdX
}

#' For each term, the terms that contain it (lmerTest's `containment()`):
#' their variables include its own, and they have the same numeric ones
#' @noRd
containment <- function(terms) {
  classes <- attr(terms, "dataClasses")
  term_names <- attr(terms, "term.labels")
  factors <- attr(terms, "factors")
  vars <- lapply(stats::setNames(term_names, term_names),
                 function(t) rownames(factors)[factors[, t] == 1])
  numerics <- lapply(vars, function(v) v[which(classes[v] == "numeric")])
  lapply(stats::setNames(term_names, term_names), function(a) {
    term_names[vapply(term_names, function(b) {
      all(vars[[a]] %in% vars[[b]]) && length(setdiff(vars[[b]], vars[[a]])) > 0L &&
        setequal(numerics[[a]], numerics[[b]])
    }, TRUE)]
  })
}

#' The columns of X of each term, by its label (and "(Intercept)")
#' @noRd
term_columns <- function(terms, X) {
  asgn <- attr(X, "assign")
  term_names <- attr(terms, "term.labels")
  col_terms <- if (attr(terms, "intercept") > 0) {
    c("(Intercept)", term_names)[asgn + 1L]
  } else term_names[asgn[asgn > 0]]
  nm <- union(unique(col_terms), term_names)
  out <- lapply(stats::setNames(as.list(nm), nm), function(x) integer(0))
  map <- split(seq_along(col_terms), col_terms)
  out[names(map)] <- map
  out[nm]
}

#' X without the columns aliased with earlier ones (keeping its "assign")
#' @noRd
full_rank_columns <- function(X, tol = 1e-7) {
  qx <- qr(X, tol = tol, LAPACK = FALSE)
  if (qx$rank == ncol(X)) return(X)
  keep <- qx$pivot[seq_len(qx$rank)]
  asgn <- attr(X, "assign")
  newX <- X[, keep, drop = FALSE]
  attr(newX, "assign") <- asgn[keep]
  newX
}

#' The Doolittle LU factors of a square matrix (lmerTest's `doolittle()`)
#' @noRd
doolittle <- function(x, eps = 1e-6) {
  n <- nrow(x)
  L <- U <- matrix(0, n, n)
  diag(L) <- 1
  for (i in seq_len(n)) {
    for (j in seq_len(n)) {
      U[i, j] <- x[i, j] - sum(L[i, seq_len(i - 1L)] * U[seq_len(i - 1L), j])
    }
    if (i < n) {
      for (j in (i + 1L):n) {
        L[j, i] <- x[j, i] - sum(L[j, seq_len(i - 1L)] * U[seq_len(i - 1L), i])
        L[j, i] <- if (abs(U[i, i]) < eps) 0 else L[j, i] / U[i, i]
      }
    }
  }
  L[abs(L) < eps] <- 0
  U[abs(U) < eps] <- 0
  list(L = L, U = U)
}
