# RcppML for nmf-bench's time-to-quality mode.
#
# Reads V (m x n, float64, little-endian, column-major) from --v, or with --sparse 1 V's
# compressed columns from --v.ptr, --v.idx (int32) and --v.val (float64) into a
# Matrix::dgCMatrix (which RcppML fits with its sparse code), and, for each repeat and each
# budget N of --iters, fits
#     RcppML::nmf(A, k, tol = TOL, maxit = N, verbose = FALSE, seed = SEED + 1)
# (its defaults otherwise: random start, diag = TRUE, no L1, dense A; RcppML takes seed 0
# for "no seed", a new random start at every call, hence SEED + 1) with
# RcppML's threads set to --threads (setRcppMLthreads where the version has it, and the
# RcppML.threads option; OMP_NUM_THREADS is set by the caller). TOL is the smallest positive
# tolerance, so that the N iterations run unless the factors stop changing at all. Only the
# call of RcppML::nmf is timed (Sys.time, microseconds): R's start, loading RcppML, reading V,
# one untimed warm-up fit (maxit = 1) and the relative error ||A - W diag(d) H||_F / ||A||_F,
# computed after the fit (for a sparse A without forming WH:
# ||A||^2 - 2 sum_nnz a (WH) + <W^T W, H H^T>), are not.
#
# Prints one line per fit, tab-separated:
#     point  rcppml  N  iterations  seconds  rel_err
# and info lines: info  key  value

args <- commandArgs(trailingOnly = TRUE)
opt <- function(name) {
  i <- match(paste0("--", name), args)
  if (is.na(i) || i == length(args)) stop(paste0("missing --", name))
  args[[i + 1]]
}
vfile <- opt("v")
m <- as.integer(opt("m"))
n <- as.integer(opt("n"))
k <- as.integer(opt("k"))
iters <- as.integer(strsplit(opt("iters"), ",")[[1]])
repeats <- as.integer(opt("repeats"))
threads <- as.integer(opt("threads"))
seed <- as.integer(opt("seed")) + 1L
sparse <- "--sparse" %in% args && opt("sparse") == "1"

suppressPackageStartupMessages(library(RcppML))
if (exists("setRcppMLthreads", mode = "function")) setRcppMLthreads(threads)
options(RcppML.threads = threads)

rd <- function(path, what, size) {
  len <- file.size(path) / size
  con <- file(path, "rb")
  on.exit(close(con))
  readBin(con, what = what, n = len, size = size, endian = "little")
}
if (sparse) {
  suppressPackageStartupMessages(library(Matrix))
  A <- new("dgCMatrix", p = rd(paste0(vfile, ".ptr"), "integer", 4),
           i = rd(paste0(vfile, ".idx"), "integer", 4),
           x = rd(paste0(vfile, ".val"), "double", 8), Dim = c(m, n))
  trip <- summary(A)
  anorm <- sqrt(sum(A@x^2))
} else {
  x <- rd(vfile, "double", 8)
  if (length(x) != m * n) stop(sprintf("%s: %d values, expected %d", vfile, length(x), m * n))
  A <- matrix(x, nrow = m, ncol = n)
  rm(x)
  anorm <- sqrt(sum(A * A))
}
rel_err <- function(w, h) {
  if (!sparse) return(sqrt(sum((A - w %*% h)^2)) / anorm)
  wh <- rowSums(w[trip$i, , drop = FALSE] * t(h)[trip$j, , drop = FALSE])
  num <- anorm^2 - 2 * sum(trip$x * wh) + sum(crossprod(w) * tcrossprod(h))
  sqrt(max(num, 0)) / anorm
}
tol <- .Machine$double.xmin

part <- function(model, name) {
  if (isS4(model)) methods::slot(model, name) else model[[name]]
}
iterations <- function(model) {
  it <- if (isS4(model)) model@misc$iter else model$iter
  if (is.null(it)) NA_integer_ else as.integer(it)
}

fit <- function(budget) {
  t0 <- Sys.time()
  model <- RcppML::nmf(A, k, tol = tol, maxit = budget, verbose = FALSE, seed = seed)
  seconds <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
  w <- part(model, "w")
  d <- part(model, "d")
  h <- part(model, "h")
  err <- rel_err(w, d * h)
  list(iter = iterations(model), seconds = seconds, err = err)
}

cat(sprintf("info\tRcppML\t%s\n", as.character(utils::packageVersion("RcppML"))))
cat(sprintf("info\tR\t%s\n", paste(R.version$major, R.version$minor, sep = ".")))
cat(sprintf("info\tseed\t%d\n", seed))
cat(sprintf("info\tV\t%s\n", if (sparse) "Matrix::dgCMatrix" else "dense matrix"))
th <- if (exists("getRcppMLthreads", mode = "function")) getRcppMLthreads() else getOption("RcppML.threads")
cat(sprintf("info\tthreads\t%s\n", paste(th, collapse = " ")))
invisible(fit(1L))
for (r in seq_len(repeats)) {
  for (budget in iters) {
    f <- fit(budget)
    it <- if (is.na(f$iter)) budget else f$iter
    cat(sprintf("point\trcppml\t%d\t%d\t%.9g\t%.17g\n", budget, it, f$seconds, f$err))
    flush(stdout())
  }
}
