#!/usr/bin/env bash
# Side-by-side time of 30 multiplicative-update iterations on the bundled Brown corpus
# (500 × 15,820 document-term counts, 255,342 non-zeros, crates/nmf-cli/data/), rank 20,
# random start, tol 0, Frobenius and KL: `nmf fit` kept sparse, `nmf fit --dense`, and
# scikit-learn's NMF(solver="mu") on the same matrix in CSR. Wall time of the whole command
# (reading included) and, for nmf, the fit time from summary.json; median of REPEATS runs
# (default 3), all in one run so that the machine's load is shared.
#
#   cargo build --release -p nmf-cli && scripts/bench-sparse-brown.sh [REPEATS] [THREADS]
#
# Needs python3 with scikit-learn and scipy (scripts/install-peers.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
repeats="${1:-3}"
threads="${2:-2}"
nmf="$PWD/target/release/nmf"
data="$PWD/crates/nmf-cli/data/brown_docterm.mtx.gz"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads"
python3 - "$nmf" "$data" "$work" "$repeats" "$threads" <<'PY'
import gzip, json, os, statistics, subprocess, sys, time
import numpy as np, scipy.io, scipy.sparse as sp
from sklearn.decomposition import NMF

nmf, data, work, repeats, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
v = sp.csr_matrix(scipy.io.mmread(gzip.open(data)), dtype=np.float64)
print(f"Brown corpus {v.shape[0]}×{v.shape[1]}, {v.nnz} non-zeros; rank 20, 30 iterations, "
      f"{threads} threads, median of {repeats}")
rows = []
for loss, sk_loss in [("frobenius", "frobenius"), ("kl", "kullback-leibler")]:
    res = {}
    for label, extra in [("nmf sparse", []), ("nmf --dense", ["--dense"])]:
        walls, fits, losses = [], [], []
        for r in range(repeats):
            out = os.path.join(work, f"{loss}-{label.replace(' ', '')}-{r}")
            t = time.perf_counter()
            subprocess.run([nmf, "fit", data, "-k", "20", "--loss", loss, "--solver", "mu",
                            "--init", "random", "--max-iter", "30", "--tol", "0",
                            "--threads", threads, "--model-format", "none", "-q",
                            "--out", out] + extra, check=True)
            walls.append(time.perf_counter() - t)
            s = json.load(open(os.path.join(out, "summary.json")))
            fits.append(s["wall_time_seconds"]["fit"])
            losses.append(s["final_loss"])
        res[label] = (statistics.median(walls), statistics.median(fits), losses[0])
    walls, fits = [], []
    for r in range(repeats):
        m = NMF(20, solver="mu", beta_loss=sk_loss, init="random", max_iter=30, tol=0,
                random_state=r)
        t = time.perf_counter()
        m.fit(v)
        fits.append(time.perf_counter() - t)
    res["scikit-learn mu (CSR)"] = (None, statistics.median(fits), None)
    for label, (wall, fit, l) in res.items():
        rows.append((loss, label, wall, fit))
print("| loss | run | fit (s) | whole command (s) | fit / sparse fit |")
print("|---|---|---|---|---|")
base = {l: f for (l, lab, w, f) in rows if lab == "nmf sparse"}
for loss, label, wall, fit in rows:
    ws = f"{wall:.3f}" if wall is not None else "–"
    print(f"| {loss} | {label} | {fit:.3f} | {ws} | {fit / base[loss]:.2f} |")
PY
