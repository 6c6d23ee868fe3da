# RcppML for nmf-bench's time-to-quality mode.
#
# Reads V (m x n, float64, little-endian, column-major) from --v and, for each repeat and each
# budget N of --iters, fits
#     RcppML::nmf(A, k, tol = TOL, maxit = N, verbose = FALSE, seed = SEED + 1)
# (its defaults otherwise: random start, diag = TRUE, no L1, dense A; RcppML takes seed 0
# for "no seed", a new random start at every call, hence SEED + 1) with
# RcppML's threads set to --threads (setRcppMLthreads where the version has it, and the
# RcppML.threads option; OMP_NUM_THREADS is set by the caller). TOL is the smallest positive
# tolerance, so that the N iterations run unless the factors stop changing at all. Only the
# call of RcppML::nmf is timed (Sys.time, microseconds): R's start, loading RcppML, reading V,
# one untimed warm-up fit (maxit = 1) and the relative error ||A - W diag(d) H||_F / ||A||_F,
# computed after the fit, are not.
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

suppressPackageStartupMessages(library(RcppML))
if (exists("setRcppMLthreads", mode = "function")) setRcppMLthreads(threads)
options(RcppML.threads = threads)

con <- file(vfile, "rb")
x <- readBin(con, what = "double", n = m * n, size = 8, endian = "little")
close(con)
if (length(x) != m * n) stop(sprintf("%s: %d values, expected %d", vfile, length(x), m * n))
A <- matrix(x, nrow = m, ncol = n)
rm(x)
anorm <- sqrt(sum(A * A))
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
  err <- sqrt(sum((A - w %*% (d * h))^2)) / anorm
  list(iter = iterations(model), seconds = seconds, err = err)
}

cat(sprintf("info\tRcppML\t%s\n", as.character(utils::packageVersion("RcppML"))))
cat(sprintf("info\tR\t%s\n", paste(R.version$major, R.version$minor, sep = ".")))
cat(sprintf("info\tseed\t%d\n", seed))
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
