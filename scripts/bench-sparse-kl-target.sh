#!/usr/bin/env bash
# Issue 12's KL target on the bundled Brown corpus (500 × 15,820 document-term counts,
# 255,342 non-zeros): the time of one KL multiplicative-update iteration of `nmf fit` kept
# sparse against scikit-learn's NMF(solver="mu", beta_loss="kullback-leibler") on the same
# CSR matrix, rank 20, 2 threads, f64, from the same start (scikit-learn's random start,
# seed 0, given to `nmf fit` by --init custom and to scikit-learn by init="custom").
#
# Time per iteration = (time of a fit of HI iterations − time of a fit of LO iterations) /
# (HI − LO), so that what a fit does once (reading, checks, the start's loss) cancels; both
# tools evaluate the loss every 10 iterations (scikit-learn always does; `nmf fit
# --check-every 10`), so both differences contain the same number of evaluations. Times:
# summary.json's fit time for `nmf`, NMF.fit_transform for scikit-learn. Medians over
# REPEATS interleaved rounds (default 7).
#
# scikit-learn updates W then H, `nmf` H then W; scikit-learn on Vᵀ with the start swapped
# runs nmf's sequence, so both are timed, and the KL losses after 30 iterations are printed
# for nmf and for scikit-learn on Vᵀ, computed from the factors by one formula in f64:
# Σ_nnz v·log(v/(WH)) − Σv + (1ᵀW)(H1).
#
#   cargo build --release -p nmf-cli && scripts/bench-sparse-kl-target.sh [REPEATS] [LO] [HI]
set -euo pipefail
cd "$(dirname "$0")/.."
repeats="${1:-7}"
lo="${2:-10}"
hi="${3:-40}"
threads=2
nmf="$PWD/target/release/nmf"
data="$PWD/crates/nmf-cli/data/brown_docterm.mtx.gz"
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
    MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=1073741824 python3 - "$nmf" "$data" "$work" "$repeats" "$lo" "$hi" "$threads" <<'PY'
import gzip, json, os, statistics, subprocess, sys, time, warnings
import numpy as np, scipy.io, scipy.sparse as sp
import sklearn
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

warnings.simplefilter("ignore", ConvergenceWarning)
nmf, data, work = sys.argv[1], sys.argv[2], sys.argv[3]
repeats, lo, hi, threads = (int(x) for x in sys.argv[4:8])
k = 20
v = sp.csr_matrix(scipy.io.mmread(gzip.open(data)), dtype=np.float64)
v.sum_duplicates(); v.sort_indices()
vt = v.T.tocsr()
m, n = v.shape
rng = np.random.default_rng(0)
avg = np.sqrt(v.sum() / (m * n) / k)
w0 = np.abs(avg * rng.standard_normal((m, k)))
h0 = np.abs(avg * rng.standard_normal((k, n)))
np.save(os.path.join(work, "W0.npy"), w0)
np.save(os.path.join(work, "H0.npy"), h0)
coo = v.tocoo()
nmf_env = {x: y for x, y in os.environ.items() if not x.startswith("MALLOC_")}

def kl(w, h):
    wh = np.einsum("ij,ij->i", w[coo.row], h.T[coo.col])
    return float(np.sum(coo.data * np.log(coo.data / wh))) - float(coo.data.sum()) \
        + float(w.sum(axis=0) @ h.sum(axis=1))

def run_nmf(iters, tag):
    out = os.path.join(work, tag)
    subprocess.run([nmf, "fit", data, "-k", str(k), "--loss", "kl", "--solver", "mu",
                    "--init", "custom", "--w0", os.path.join(work, "W0.npy"),
                    "--h0", os.path.join(work, "H0.npy"), "--max-iter", str(iters),
                    "--tol", "0", "--check-every", "10", "--threads", str(threads),
                    "--model-format", "none", "-q", "--out", out], check=True, env=nmf_env)
    s = json.load(open(os.path.join(out, "summary.json")))
    return s["wall_time_seconds"]["fit"], np.load(os.path.join(out, "W.npy")), \
        np.load(os.path.join(out, "H.npy"))

def run_sk(iters, transposed):
    x, a, b = (vt, h0.T, w0.T) if transposed else (v, w0, h0)
    a, b = np.array(a, order="C"), np.array(b, order="C")  # mu updates them in place
    model = NMF(k, solver="mu", beta_loss="kullback-leibler", init="custom",
                max_iter=iters, tol=0)
    t = time.perf_counter()
    w = model.fit_transform(x, W=a, H=b)
    sec = time.perf_counter() - t
    h = model.components_
    return (sec, h.T, w.T) if transposed else (sec, w, h)

times = {"nmf": {lo: [], hi: []}, "sklearn": {lo: [], hi: []}, "sklearn-T": {lo: [], hi: []}}
with threadpool_limits(limits=threads):
    run_sk(1, False)  # warm-up
    for r in range(repeats):
        for iters in (lo, hi):
            times["nmf"][iters].append(run_nmf(iters, f"n{r}-{iters}")[0])
            times["sklearn"][iters].append(run_sk(iters, False)[0])
            times["sklearn-T"][iters].append(run_sk(iters, True)[0])
    _, wn, hn = run_nmf(30, "loss30")
    _, ws, hs = run_sk(30, True)
    _, wv, hv = run_sk(30, False)

print(f"Brown corpus {m}×{n}, {v.nnz} non-zeros; KL MU, rank {k}, {threads} threads, f64; "
      f"per iteration = (fit of {hi} − fit of {lo}) / {hi - lo}, median of {repeats} "
      f"interleaved rounds; scikit-learn {sklearn.__version__}; "
      f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
      + "%.2f %.2f %.2f" % os.getloadavg())
print()
print("| run | fit of %d (s) | fit of %d (s) | ms per iteration | ÷ nmf |" % (lo, hi))
print("|---|---:|---:|---:|---:|")
per = {}
for name, label in [("nmf", "`nmf fit` kept sparse (H then W)"),
                    ("sklearn", "scikit-learn `mu` on CSR of V (W then H)"),
                    ("sklearn-T", "scikit-learn `mu` on CSR of Vᵀ, start swapped (H then W)")]:
    t_lo, t_hi = times[name][lo], times[name][hi]
    diffs = [(b - a) / (hi - lo) for a, b in zip(t_lo, t_hi)]
    per[name] = statistics.median(diffs)
    print(f"| {label} | {statistics.median(t_lo):.3f} | {statistics.median(t_hi):.3f} | "
          f"{1e3 * per[name]:.2f} | {per[name] / per['nmf']:.2f} |")
print()
ln, ls, lv = kl(wn, hn), kl(ws, hs), kl(wv, hv)
print(f"KL loss after 30 iterations from the same start (f64, from the factors): "
      f"nmf {ln:.15e}, scikit-learn on Vᵀ (same sequence) {ls:.15e}, relative difference "
      f"{abs(ln - ls) / ls:.1e}; scikit-learn on V (W first) {lv:.15e}")
print()
print("raw: " + json.dumps(times))
PY
