#!/usr/bin/env bash
# Side by side: scikit-learn's MiniBatchNMF and `nmf fit --batch-size` (the online fit of
# nmf_core::minibatch) on the same dense float64 data, with the same batch size, forget factor
# (0.7), β (Frobenius and KL), rank, stopping rules (scikit-learn's defaults: tol 1e-4 on the
# change of H, max_no_improvement 10, at most MAX_ITER epochs, no fresh restarts) and a random
# start (init="random"; nmf's only start). Data: the UCI digits (1797 images × 64 pixels,
# /work/shared/data/digits.csv.gz or crates/nmf-cli/data/) and the Brown document-term counts
# (500 documents × 15,820 terms, made dense). Rows are samples in both (scikit-learn's
# orientation is this crate's: a batch is a block of rows).
#
# For each run: the time (scikit-learn: fit_transform in the process, data in memory; nmf: the
# whole command, reading the .npy by row blocks and writing W and H included, and the
# command's own figure from summary.json), the epochs and batches taken, and the final
# full-data loss of the returned W and H, both evaluated here the same way in float64
# (½‖X − WH‖² or the generalized KL divergence). Medians over REPEATS runs (default 3, seeds
# 0, 1, …), the two implementations interleaved so that they share the machine's load.
#
#   cargo build --release -p nmf-cli && scripts/bench-minibatch.sh [REPEATS] [THREADS] [MAX_ITER] [DATA]
#
# DATA: digits, brown or both (default). NMF_BIN overrides the nmf binary.
#
# Needs python3 with numpy, scipy and scikit-learn (scripts/install-peers.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
repeats="${1:-3}"
threads="${2:-2}"
max_iter="${3:-200}"
which="${4:-digits,brown}"
nmf="${NMF_BIN:-$PWD/target/release/nmf}"
data_dir=/work/shared/data
[ -f "$data_dir/digits.csv.gz" ] || data_dir="$PWD/crates/nmf-cli/data"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads"
python3 - "$nmf" "$data_dir" "$work" "$repeats" "$threads" "$max_iter" "$which" <<'PY'
import gzip, json, os, statistics, subprocess, sys, time, warnings
import numpy as np, scipy.io
import sklearn
from sklearn.decomposition import MiniBatchNMF
from sklearn.exceptions import ConvergenceWarning

nmf, data_dir, work = sys.argv[1], sys.argv[2], sys.argv[3]
repeats, threads, max_iter = int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
which = sys.argv[7].split(",")
warnings.simplefilter("ignore", ConvergenceWarning)

digits = np.loadtxt(gzip.open(os.path.join(data_dir, "digits.csv.gz")), delimiter=",")[:, :64]
brown = scipy.io.mmread(gzip.open(os.path.join(data_dir, "brown_docterm.mtx.gz"))).toarray()
datasets = {
    "digits": (np.ascontiguousarray(digits, dtype=np.float64), 10, 128),
    "brown": (np.ascontiguousarray(brown, dtype=np.float64), 20, 50),
}
datasets = {k: v for k, v in datasets.items() if k in which}
for name, (x, _, _) in datasets.items():
    np.save(os.path.join(work, f"{name}.npy"), x)


def loss(x, w, h, beta):
    """The full-data loss in float64: ½‖X − WH‖² or the generalized KL divergence."""
    wh = w @ h
    if beta == "frobenius":
        return 0.5 * float(np.sum((x - wh) ** 2))
    nz = x > 0
    return float(np.sum(x[nz] * np.log(x[nz] / wh[nz])) - x.sum() + wh.sum())


def run_sklearn(x, k, bs, beta, seed):
    m = MiniBatchNMF(n_components=k, init="random", batch_size=bs, beta_loss=beta,
                     forget_factor=0.7, max_iter=max_iter, random_state=seed)
    t = time.perf_counter()
    w = m.fit_transform(x)
    dt = time.perf_counter() - t
    return dt, None, m.n_iter_, m.n_steps_, loss(x, w, m.components_, beta)


def run_nmf(name, x, k, bs, beta, seed):
    out = os.path.join(work, f"out-{name}-{beta}-{seed}")
    arg = "frobenius" if beta == "frobenius" else "kl"
    t = time.perf_counter()
    subprocess.run([nmf, "fit", os.path.join(work, f"{name}.npy"), "-k", str(k),
                    "--batch-size", str(bs), "--forget-factor", "0.7", "--loss", arg,
                    "--max-iter", str(max_iter), "--seed", str(seed), "--dtype", "f64",
                    "--backend", "faer", "--threads", threads, "-q", "--out", out],
                   check=True)
    dt = time.perf_counter() - t
    s = json.load(open(os.path.join(out, "summary.json")))
    w, h = np.load(os.path.join(out, "W.npy")), np.load(os.path.join(out, "H.npy"))
    return dt, s["seconds"], s["epochs"], s["batches"], loss(x, w, h, beta)


cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
            if l.startswith("model name")), "?")
print(f"{time.strftime('%Y-%m-%d', time.gmtime())}, {cpu}, {os.cpu_count()} cores, "
      f"{threads} threads; scikit-learn {sklearn.__version__}, numpy {np.__version__}; "
      f"forget_factor 0.7, tol 1e-4, max_no_improvement 10, max_iter {max_iter}, "
      f"init random; median of {repeats}; load average at start {os.getloadavg()[0]:.1f}")
print("| data | loss | k | batch | run | time (s) | nmf's own (s) | epochs | batches | "
      "final loss | loss / scikit-learn's |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for name, (x, k, bs) in datasets.items():
    for beta in ["frobenius", "kullback-leibler"]:
        res = {"scikit-learn MiniBatchNMF": [], "nmf fit --batch-size": []}
        for seed in range(repeats):
            res["scikit-learn MiniBatchNMF"].append(run_sklearn(x, k, bs, beta, seed))
            res["nmf fit --batch-size"].append(run_nmf(name, x, k, bs, beta, seed))
        med = {}
        for label, runs in res.items():
            col = lambda i: [r[i] for r in runs]
            own = col(1)
            med[label] = (statistics.median(col(0)),
                          statistics.median(own) if own[0] is not None else None,
                          statistics.median(col(2)), statistics.median(col(3)),
                          statistics.median(col(4)))
        ref = med["scikit-learn MiniBatchNMF"][4]
        for label, (t, own, ep, st, l) in med.items():
            own_s = f"{own:.3f}" if own is not None else "–"
            print(f"| {name} {x.shape[0]}×{x.shape[1]} | {beta} | {k} | {bs} | {label} | "
                  f"{t:.3f} | {own_s} | {ep:g} | {st:g} | {l:.6g} | {l / ref:.3f} |")
        sys.stdout.flush()
PY
