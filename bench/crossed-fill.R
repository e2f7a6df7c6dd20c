# Benchmark: how the sparse Cholesky factor that lme4 uses (CHOLMOD, through
# the Matrix package, with its fill-reducing ordering) grows for two random
# crossed factors of N x N levels with about 2.08 rows per level, as in
# bench/scale.R's crossed_250k (N = 120,000). Not a test.
#   Rscript bench/crossed-fill.R [N ...]     (default 10000 20000 40000)
# Prints, per N: the levels observed, the factor's nonzeros and its time
# (symbolic analysis and numeric factor of Z'Z + I, once).
suppressPackageStartupMessages(library(Matrix))
args <- commandArgs(trailingOnly = TRUE)
sizes <- if (length(args)) as.numeric(args) else c(10000, 20000, 40000)
for (ng in sizes) {
  set.seed(250)
  n <- round(ng * 250000 / 120000)
  g <- factor(sample(ng, n, TRUE))
  h <- factor(sample(ng, n, TRUE))
  Zt <- rbind(fac2sparse(g), fac2sparse(h))
  A <- tcrossprod(Zt) + Diagonal(nrow(Zt))
  t0 <- proc.time()[["elapsed"]]
  L <- Cholesky(A, perm = TRUE, LDL = FALSE, super = TRUE)
  secs <- proc.time()[["elapsed"]] - t0
  nnz <- nnzero(as(L, "CsparseMatrix"))
  cat(sprintf("N = %d (%d rows): q = %d, CHOLMOD factor %.2f s, nnz(L) %.3g (%.0f MB)\n",
              ng, n, nrow(A), secs, nnz, nnz * 8 / 2^20))
}
