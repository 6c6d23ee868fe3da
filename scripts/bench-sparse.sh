#!/usr/bin/env bash
# Sparse V side by side, all in one run so that the machine's load is shared: the bundled
# Brown corpus (500 × 15,820 document-term counts, 255,342 non-zeros) and random sparse
# matrices at 0.1%, 1% and 10% non-zeros (40,000 × 5,000, 10,000 × 2,000 and 2,000 × 1,000,
# made from --seed in a scratch folder, never stored), rank 20, 30 iterations, tol 0, f64,
# 2 threads, median of REPEATS interleaved repeats (default 3):
#   `nmf fit` kept sparse (.mtx.gz / .npz), --solver mu and hals (Frobenius), mu and cd (KL);
#   scikit-learn NMF mu and cd (Frobenius), mu (KL) on the CSR matrix, init='custom';
#   RcppML::nmf on a Matrix::dgCMatrix (Frobenius; it takes a seed, not a start).
# Every tool but RcppML starts from the same W0, H0. The loss of every run is computed from
# its factors by one formula in f64. See crates/nmf-bench/scripts/sparse_side_by_side.py.
#
#   cargo build --release -p nmf-cli && scripts/bench-sparse.sh [REPEATS] [THREADS] [OUT.json]
#
# Needs python3 with scikit-learn, scipy, threadpoolctl, and Rscript with RcppML and Matrix
# (scripts/install-peers.sh). OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset for the run
# (they select slower kernels in a current numpy).
set -euo pipefail
cd "$(dirname "$0")/.."
repeats="${1:-3}"
threads="${2:-2}"
out="${3:-$PWD/crates/nmf-bench/results/sparse-k20-t2/samples.json}"
mkdir -p "$(dirname "$out")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads"
# glibc's malloc serves scikit-learn's large temporaries (its KL ratio at the non-zeros, in
# blocks of a few MB) by mmap, one page fault per page, which on this loaded VM made its KL
# mu up to 6× slower depending on what the process had freed before (a process that had
# freed a larger block earlier got them from the heap). These two settings give every
# Python run the fast path; the `nmf` children run without them (their loops allocate
# nothing).
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
    MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=1073741824 python3 \
    crates/nmf-bench/scripts/sparse_side_by_side.py \
    --nmf "$PWD/target/release/nmf" --brown "$PWD/crates/nmf-cli/data/brown_docterm.mtx.gz" \
    --work "$work" --out "$out" --repeats "$repeats" --threads "$threads" \
    ${BENCH_SPARSE_ARGS:-}
