#!/usr/bin/env python3
"""Sparse V side by side: `nmf fit` kept sparse, scikit-learn on CSR and RcppML on a dgCMatrix.

Driven by scripts/bench-sparse.sh (read its header for the command). For each input (the
Brown corpus and random sparse matrices made here from a seed, never stored in the
repository) and each run below, fits rank K for ITERS iterations, tol 0, f64, THREADS threads:

    nmf-mu-fro, nmf-hals-fro, nmf-mu-kl               `nmf fit V.npz|V.mtx.gz --init custom`
    sklearn-mu-fro, sklearn-cd-fro, sklearn-mu-kl    NMF(init='custom') on the CSR matrix
    sklearn-mu-kl-T                                  the same on Vᵀ with the start swapped
                                                     (Brown only, see below)
    rcppml-fro                                       RcppML::nmf on a dgCMatrix

from one start per input (W0, H0: |N(0, 1)|·√(mean(V)/K), scikit-learn's random start, drawn
from SEED): `nmf` reads it with --w0/--h0, scikit-learn with init='custom'; RcppML takes a
seed, not a start (its own random start, seed SEED + 1).

The repeats are interleaved: repeat r runs every input and every run before repeat r + 1.

What is timed: for `nmf`, the fit alone (summary.json's wall_time_seconds.fit: the checks
of V, the start, the iterations and the loss every --check-every = 10 iterations), and the
whole command beside it; for scikit-learn, NMF.fit_transform (its validation of V, the
iterations, and for mu the loss every 10 iterations); for RcppML, the call of RcppML::nmf.
Not timed: reading V into Python or R, starting the interpreters.

The loss of every run is computed here, in f64, from the factors the tool returned, with one
formula per loss (no tool's own figure is used):
    Frobenius ½‖V − WH‖² = ½(‖V‖² − 2 Σ_nnz v·(WH) + ⟨WᵀW, HHᵀ⟩)
    KL        Σ_nnz v·log(v/(WH)) − Σ v + (1ᵀW)(H1)
(RcppML's model is W·diag(d)·H; d is folded into W.)

scikit-learn's mu updates W before H; nmf-rs updates H before W. From the same start they
are therefore different sequences. scikit-learn on Vᵀ, with W0ᵀ and H0ᵀ swapped, runs the
H-first sequence of nmf-rs: its loss after ITERS iterations is the one to compare with
`nmf`'s to rounding (sklearn-mu-kl-T), and its time is reported too.

Writes RESULTS.json (every sample) and prints the Markdown tables.
"""

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
import scipy
import scipy.io
import scipy.sparse as sp


def make_random(m, n, density, seed):
    """A random m×n CSR matrix with round(density·m·n) non-zeros at uniform places, counts
    1 + Poisson(2) (document-term-like), from `seed`."""
    rng = np.random.default_rng(seed)
    nnz = int(round(density * m * n))
    flat = rng.choice(m * n, size=nnz, replace=False)
    rows, cols = np.divmod(flat, n)
    vals = 1.0 + rng.poisson(2.0, size=nnz).astype(np.float64)
    v = sp.csr_matrix((vals, (rows, cols)), shape=(m, n), dtype=np.float64)
    v.sum_duplicates()
    v.sort_indices()
    return v


def wh_at(v, w, h, chunk=1 << 16):
    """(WH) at the stored entries of the CSR matrix v, in the order of v.data."""
    coo = v.tocoo()
    out = np.empty(coo.nnz)
    ht = np.ascontiguousarray(h.T)
    for s in range(0, coo.nnz, chunk):
        e = min(s + chunk, coo.nnz)
        out[s:e] = np.einsum("ij,ij->i", w[coo.row[s:e]], ht[coo.col[s:e]])
    return coo.data, out


def losses(v, vnorm2, w, h):
    """(½‖V − WH‖², ‖V − WH‖/‖V‖, KL(V‖WH)) in f64 from the factors."""
    w = np.asarray(w, dtype=np.float64)
    h = np.asarray(h, dtype=np.float64)
    x, wh = wh_at(v, w, h)
    cross = float(np.dot(x, wh))
    gram = float(np.sum((w.T @ w) * (h @ h.T)))
    fro = 0.5 * max(vnorm2 - 2.0 * cross + gram, 0.0)
    rel = (2.0 * fro / vnorm2) ** 0.5
    total = float(w.sum(axis=0) @ h.sum(axis=1))
    with np.errstate(divide="ignore"):
        kl = float(np.sum(x * np.log(x / wh))) - float(x.sum()) + total
    return fro, rel, kl


RUNS_NMF = [
    ("nmf-mu-fro", "frobenius", "mu"),
    ("nmf-hals-fro", "frobenius", "hals"),
    ("nmf-mu-kl", "kl", "mu"),
]
# (nmf-rs's KL coordinate descent, --solver cd, also runs on sparse V: not run here.)
RUNS_SKLEARN = [
    ("sklearn-mu-fro", "frobenius", "mu", False),
    ("sklearn-cd-fro", "frobenius", "cd", False),
    ("sklearn-mu-kl", "kullback-leibler", "mu", False),
    ("sklearn-mu-kl-T", "kullback-leibler", "mu", True),
]
LOSS_OF = {
    "nmf-mu-fro": "fro", "nmf-hals-fro": "fro", "nmf-mu-kl": "kl",
    "sklearn-mu-fro": "fro", "sklearn-cd-fro": "fro", "sklearn-mu-kl": "kl",
    "sklearn-mu-kl-T": "kl", "rcppml-fro": "fro",
}
LABEL = {
    "nmf-mu-fro": "nmf-rs `--solver mu`",
    "nmf-hals-fro": "nmf-rs `--solver hals`",
    "nmf-mu-kl": "nmf-rs `--solver mu`",
    "sklearn-mu-fro": "scikit-learn `mu` (CSR)",
    "sklearn-cd-fro": "scikit-learn `cd` (CSR)",
    "sklearn-mu-kl": "scikit-learn `mu` (CSR)",
    "sklearn-mu-kl-T": "scikit-learn `mu` (CSR of Vᵀ, H first)",
    "rcppml-fro": "RcppML `nmf` (dgCMatrix, own start)",
}

R_SCRIPT = r"""
args <- commandArgs(trailingOnly = TRUE)
prefix <- args[[1]]; m <- as.integer(args[[2]]); n <- as.integer(args[[3]])
nnz <- as.integer(args[[4]]); k <- as.integer(args[[5]]); iters <- as.integer(args[[6]])
threads <- as.integer(args[[7]]); seed <- as.integer(args[[8]])
suppressPackageStartupMessages({ library(Matrix); library(RcppML) })
setRcppMLthreads(threads)
rd <- function(suffix, what, size, len) {
  con <- file(paste0(prefix, suffix), "rb"); on.exit(close(con))
  readBin(con, what = what, n = len, size = size, endian = "little")
}
A <- new("dgCMatrix", i = rd(".csc.i", "integer", 4, nnz), p = rd(".csc.p", "integer", 4, n + 1),
         x = rd(".csc.x", "double", 8, nnz), Dim = c(m, n))
# One untimed warm-up fit (its threads, its code paths), as for scikit-learn.
invisible(RcppML::nmf(A, k, tol = .Machine$double.xmin, maxit = 1, verbose = FALSE, seed = seed))
t0 <- Sys.time()
model <- RcppML::nmf(A, k, tol = .Machine$double.xmin, maxit = iters, verbose = FALSE, seed = seed)
seconds <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
# RcppML 0.3.7 returns a list (w, d, h, tol, iter); later versions an S4 object.
part <- function(name) if (isS4(model)) methods::slot(model, name) else model[[name]]
w <- part("w") %*% diag(part("d"))
con <- file(paste0(prefix, ".rcppml.w"), "wb"); writeBin(as.vector(t(w)), con, endian = "little"); close(con)
con <- file(paste0(prefix, ".rcppml.h"), "wb"); writeBin(as.vector(t(part("h"))), con, endian = "little"); close(con)
it <- if (isS4(model)) model@misc$iter else model$iter
cat(sprintf("seconds\t%.9g\niter\t%s\nversion\t%s\nthreads\t%s\n", seconds,
            paste(it, collapse = ""), as.character(packageVersion("RcppML")),
            paste(getRcppMLthreads(), collapse = "")))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nmf", required=True)
    ap.add_argument("--brown", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True, help="RESULTS.json")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rank", type=int, default=20)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rscript", default="Rscript")
    ap.add_argument("--inputs", default="brown,0.001,0.01,0.1",
                    help="brown and/or densities of the random matrices")
    a = ap.parse_args()

    import sklearn
    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_info, threadpool_limits

    warnings.simplefilter("ignore", ConvergenceWarning)
    k, iters, threads = a.rank, a.iters, a.threads
    # The random matrices: m × n for each density, about 100–250k non-zeros each, so that a
    # run of each tool stays within seconds (scikit-learn's KL mu costs ~1 µs per non-zero
    # and iteration here).
    shapes = {"0.001": (40000, 5000), "0.01": (10000, 2000), "0.1": (2000, 1000)}

    inputs = []
    for i, name in enumerate(a.inputs.split(",")):
        d = os.path.join(a.work, f"in{i}")
        os.makedirs(d, exist_ok=True)
        if name == "brown":
            v = sp.csr_matrix(scipy.io.mmread(gzip.open(a.brown)), dtype=np.float64)
            v.sum_duplicates()
            v.sort_indices()
            path = a.brown
            what = "Brown corpus (documents × terms)"
        else:
            m, n = shapes[name]
            v = make_random(m, n, float(name), a.seed + 1000 + i)
            path = os.path.join(d, "V.npz")
            sp.save_npz(path, v)
            what = f"random, {float(name) * 100:g}% non-zero"
        m, n = v.shape
        rng = np.random.default_rng(a.seed + i)
        avg = np.sqrt(v.sum() / (m * n) / k)
        w0 = np.abs(avg * rng.standard_normal((m, k)))
        h0 = np.abs(avg * rng.standard_normal((k, n)))
        np.save(os.path.join(d, "W0.npy"), w0)
        np.save(os.path.join(d, "H0.npy"), h0)
        csc = v.tocsc()
        csc.sort_indices()
        csc.indices.astype("<i4").tofile(os.path.join(d, "V.csc.i"))
        csc.indptr.astype("<i4").tofile(os.path.join(d, "V.csc.p"))
        csc.data.astype("<f8").tofile(os.path.join(d, "V.csc.x"))
        inputs.append(dict(name=name, what=what, path=path, dir=d, v=v, vt=v.T.tocsr(),
                           w0=w0, h0=h0, vnorm2=float(v.data @ v.data), m=m, n=n))
        print(f"{name}: {what}, {m}×{n}, {v.nnz} non-zeros ({100 * v.nnz / (m * n):.2f}%)",
              file=sys.stderr, flush=True)
    rfile = os.path.join(a.work, "rcppml_sparse.R")
    with open(rfile, "w") as f:
        f.write(R_SCRIPT)

    info = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "load average at the start": "%.2f %.2f %.2f" % os.getloadavg(),
            "scikit-learn": sklearn.__version__, "numpy": np.__version__,
            "scipy": scipy.__version__, "python": sys.version.split()[0],
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "unset")}
    samples = []
    # The `nmf` children run without the wrapper's malloc settings (meant for scikit-learn).
    nmf_env = {x: y for x, y in os.environ.items() if not x.startswith("MALLOC_")}
    info["MALLOC_MMAP_THRESHOLD_"] = os.environ.get("MALLOC_MMAP_THRESHOLD_", "unset")

    def record(inp, run, seconds, w, h, r, wall=None, n_iter=None):
        fro, rel, kl = losses(inp["v"], inp["vnorm2"], w, h)
        s = dict(input=inp["name"], run=run, repeat=r, seconds=seconds, wall=wall,
                 n_iter=n_iter, frobenius=fro, rel_err=rel, kl=kl)
        samples.append(s)
        print(f"  r{r} {inp['name']:>6} {run:<16} {seconds:8.3f} s  "
              f"fro {fro:.10e}  kl {kl:.10e}  it {n_iter}", file=sys.stderr, flush=True)

    with threadpool_limits(limits=threads):
        for d in threadpool_info():
            if d.get("internal_api") not in ("openblas", "mkl", "blis", "openmp"):
                continue
            info.setdefault("BLAS", []).append("{} {} {} ({} threads)".format(
                d.get("internal_api", "?"), d.get("version", "?"),
                d.get("architecture", ""), d.get("num_threads", "?")))
        # Untimed warm-up of scikit-learn's code paths (imports, thread pools).
        x0 = inputs[0]
        NMF(k, solver="mu", init="custom", max_iter=1, tol=0).fit_transform(
            x0["v"], W=x0["w0"].copy(), H=x0["h0"].copy())
        for r in range(a.repeats):
            for inp in inputs:
                for run, loss, solver in RUNS_NMF:
                    out = os.path.join(inp["dir"], f"{run}-{r}")
                    cmd = [a.nmf, "fit", inp["path"], "-k", str(k), "--loss", loss,
                           "--solver", solver, "--init", "custom",
                           "--w0", os.path.join(inp["dir"], "W0.npy"),
                           "--h0", os.path.join(inp["dir"], "H0.npy"),
                           "--max-iter", str(iters), "--tol", "0", "--threads", str(threads),
                           "--model-format", "none", "-q", "--out", out]
                    t = time.perf_counter()
                    p = subprocess.run(cmd, capture_output=True, text=True, env=nmf_env)
                    wall = time.perf_counter() - t
                    if p.returncode != 0:
                        print(f"  {run} failed: {p.stderr.strip()}", file=sys.stderr)
                        continue
                    s = json.load(open(os.path.join(out, "summary.json")))
                    if r == 0:
                        info[f"nmf storage ({inp['name']})"] = s.get("input", {}).get(
                            "storage", s.get("storage", "?"))
                    w = np.load(os.path.join(out, "W.npy"))
                    h = np.load(os.path.join(out, "H.npy"))
                    record(inp, run, s["wall_time_seconds"]["fit"], w, h, r, wall,
                           s.get("iterations"))
                for run, loss, solver, transposed in RUNS_SKLEARN:
                    if transposed and inp["name"] != "brown":
                        continue
                    x, w0, h0 = ((inp["vt"], inp["h0"].T, inp["w0"].T) if transposed
                                 else (inp["v"], inp["w0"], inp["h0"]))
                    model = NMF(k, solver=solver, beta_loss=loss, init="custom",
                                max_iter=iters, tol=0)
                    # Copies: scikit-learn's mu updates the arrays it is given in place.
                    w0c, h0c = np.array(w0, order="C"), np.array(h0, order="C")
                    t = time.perf_counter()
                    w = model.fit_transform(x, W=w0c, H=h0c)
                    sec = time.perf_counter() - t
                    h = model.components_
                    if transposed:
                        w, h = h.T, w.T
                    record(inp, run, sec, w, h, r, None, int(model.n_iter_))
                prefix = os.path.join(inp["dir"], "V")
                p = subprocess.run(
                    [a.rscript, rfile, prefix, str(inp["m"]), str(inp["n"]),
                     str(inp["v"].nnz), str(k), str(iters), str(threads), str(a.seed + 1)],
                    capture_output=True, text=True)
                if p.returncode != 0:
                    print(f"  RcppML failed: {p.stderr.strip()[-500:]}", file=sys.stderr)
                    continue
                kv = dict(line.split("\t", 1) for line in p.stdout.splitlines() if "\t" in line)
                info["RcppML"] = kv.get("version", "?")
                info["RcppML threads"] = kv.get("threads", "?")
                w = np.fromfile(prefix + ".rcppml.w", dtype="<f8").reshape(inp["m"], k)
                h = np.fromfile(prefix + ".rcppml.h", dtype="<f8").reshape(k, inp["n"])
                it = kv.get("iter", "")
                record(inp, "rcppml-fro", float(kv["seconds"]), w, h, r, None,
                       int(it) if it.isdigit() else None)

    info["load average at the end"] = "%.2f %.2f %.2f" % os.getloadavg()
    described = [dict(name=i["name"], what=i["what"], m=i["m"], n=i["n"], nnz=int(i["v"].nnz))
                 for i in inputs]
    with open(a.out, "w") as f:
        json.dump(dict(rank=k, iters=iters, threads=threads, repeats=a.repeats, seed=a.seed,
                       info=info, inputs=described, samples=samples), f, indent=1)
    print(table(described, samples, iters, info))


def table(inputs, samples, iters, info):
    """The Markdown tables: per input, per run, the median fit time, time per iteration, the
    ratio to the fastest nmf-rs run of the same loss, and the loss of the first repeat."""
    out = []
    for inp in inputs:
        name = inp["name"]
        out.append(f"\n{inp['what']}, {inp['m']}×{inp['n']}, {inp['nnz']} non-zeros "
                   f"({100 * inp['nnz'] / (inp['m'] * inp['n']):.2f}%):\n")
        out.append("| loss | run | fit (s), median | ms/iter | ÷ fastest nmf-rs | repeats "
                   "| loss after the fit (f64, from the factors) |")
        out.append("|---|---|---:|---:|---:|---:|---:|")
        med = {}
        for run in LOSS_OF:
            ss = [s for s in samples if s["input"] == name and s["run"] == run]
            if ss:
                med[run] = (statistics.median(s["seconds"] for s in ss), ss)
        for loss in ("fro", "kl"):
            own = [med[r][0] for r in med if r.startswith("nmf-") and LOSS_OF[r] == loss]
            best = min(own) if own else None
            for run, (sec, ss) in med.items():
                if LOSS_OF[run] != loss:
                    continue
                val = ss[0]["frobenius"] if loss == "fro" else ss[0]["kl"]
                extra = f" (rel. err {ss[0]['rel_err']:.6f})" if loss == "fro" else ""
                ratio = f"{sec / best:.2f}" if best else "–"
                out.append(f"| {'Frobenius' if loss == 'fro' else 'KL'} | {LABEL[run]} | "
                           f"{sec:.3f} | {1e3 * sec / iters:.1f} | {ratio} | {len(ss)} | "
                           f"{val:.12e}{extra} |")
    out.append("\n" + "; ".join(f"{k2}: {v}" for k2, v in info.items()))
    return "\n".join(out)


if __name__ == "__main__":
    main()
