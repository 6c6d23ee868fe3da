#!/usr/bin/env python3
"""scikit-learn's multiplicative updates on the nmf-bench problem, for the comparison runner.

Reads V, W0 and H0 from .npy files (written by the runner, in the scalar type of the run),
runs NMF(solver='mu', init='custom', tol=0, max_iter=N, beta_loss=...) under
threadpoolctl.threadpool_limits(threads), and prints one JSON object on stdout:
per-iteration wall times, the loss trace, the final loss, the time of the dominant products
(numpy, same threads) and the BLAS in use. The final W and H are written as raw little-endian
float64, row-major, to OUT/w.f64 and OUT/h.f64.

Per-iteration times: scikit-learn's loop calls _multiplicative_update_w then
_multiplicative_update_h once per iteration; the script wraps both (private names of
sklearn.decomposition._nmf) and times from the start of the W update to the end of the H
update. If those names are missing, it falls back to the total fit time divided by N for
every iteration (and says so in "timing"). The loss is evaluated outside the timed region.

Note that scikit-learn updates W before H (nmf-rs: H before W) and adds its EPSILON to the
denominators (nmf-rs: max(eps, .)), so its factors are not expected to agree with the
library's to rounding.
"""

import argparse
import json
import os
import sys
import time

import numpy as np


def loss_of(v, w, h, kind):
    v64 = v.astype(np.float64)
    wh = (w.astype(np.float64) @ h.astype(np.float64))
    if kind == "frobenius":
        return float(0.5 * np.sum((v64 - wh) ** 2))
    nz = v64 != 0
    return float(np.sum(v64[nz] * np.log(v64[nz] / wh[nz])) - v64.sum() + wh.sum())


def median(x):
    return float(np.median(np.asarray(x))) if len(x) else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True, help="folder with v.npy, w0.npy, h0.npy")
    ap.add_argument("--loss", choices=["frobenius", "kl"], required=True)
    ap.add_argument("--iters", type=int, required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--loss-every", type=int, default=1)
    args = ap.parse_args()

    import sklearn
    import sklearn.decomposition._nmf as nmf_mod
    from sklearn.decomposition import NMF
    from threadpoolctl import threadpool_info, threadpool_limits

    v = np.load(os.path.join(args.dir, "v.npy"))
    w0 = np.load(os.path.join(args.dir, "w0.npy"))
    h0 = np.load(os.path.join(args.dir, "h0.npy"))
    k = w0.shape[1]
    beta = "frobenius" if args.loss == "frobenius" else "kullback-leibler"

    starts, times, trace = [], [], []
    state = {"elapsed": 0.0, "it": 0}
    timing = "per-iteration (wrapped _multiplicative_update_w/_h)"
    orig_w = getattr(nmf_mod, "_multiplicative_update_w", None)
    orig_h = getattr(nmf_mod, "_multiplicative_update_h", None)
    wrapped = orig_w is not None and orig_h is not None
    trace.append((0.0, loss_of(v, w0, h0, args.loss)))

    if wrapped:
        def upd_w(*a, **kw):
            starts.append(time.perf_counter())
            return orig_w(*a, **kw)

        def upd_h(X, W, H, *a, **kw):
            out = orig_h(X, W, H, *a, **kw)
            t = time.perf_counter() - starts[-1]
            times.append(t)
            state["elapsed"] += t
            state["it"] += 1
            it = state["it"]
            if it == args.iters or (args.loss_every > 0 and it % args.loss_every == 0):
                hn = out[0] if isinstance(out, tuple) else out
                trace.append((state["elapsed"], loss_of(X, W, hn, args.loss)))
            return out

        nmf_mod._multiplicative_update_w = upd_w
        nmf_mod._multiplicative_update_h = upd_h
    else:
        timing = "total fit time / iterations (private update functions not found)"

    model = NMF(n_components=k, solver="mu", init="custom", tol=0.0, max_iter=args.iters,
                beta_loss=beta, alpha_W=0.0, alpha_H="same")
    with threadpool_limits(limits=args.threads):
        t0 = time.perf_counter()
        w = model.fit_transform(v, W=w0.copy(), H=h0.copy())
        total = time.perf_counter() - t0
        h = model.components_
        if not wrapped or len(times) != args.iters:
            times = [total / args.iters] * args.iters
            trace = [(0.0, trace[0][1]), (total, loss_of(v, w, h, args.loss))]
        # The dominant products, with numpy on the same threads, at the final factors.
        prods = [[], [], []]
        for _ in range(max(3, min(args.iters, 10))):
            t = time.perf_counter(); wtv = w.T @ v; prods[0].append(time.perf_counter() - t)
            t = time.perf_counter(); vht = v @ h.T; prods[1].append(time.perf_counter() - t)
            if args.loss == "kl":
                t = time.perf_counter(); wh = w @ h; prods[2].append(time.perf_counter() - t)
        del wtv, vht
    if args.loss == "frobenius":
        product_time = median(prods[0]) + median(prods[1])
    else:
        product_time = 2 * median(prods[2]) + median(prods[0]) + median(prods[1])

    np.ascontiguousarray(w, dtype=np.float64).tofile(os.path.join(args.dir, "w.f64"))
    np.ascontiguousarray(h, dtype=np.float64).tofile(os.path.join(args.dir, "h.f64"))
    blas = [{k2: str(v2) for k2, v2 in d.items() if k2 in
             ("internal_api", "version", "num_threads", "threading_layer", "architecture")}
            for d in threadpool_info()]
    blas.sort(key=lambda d: sorted(d.items()))
    print(json.dumps({
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "dtype": str(v.dtype),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "unset"),
        "blas": blas,
        "timing": timing,
        "iter_times": times,
        "trace": trace,
        "final_loss": loss_of(v, w, h, args.loss),
        "product_time": product_time,
        "n_iter": int(model.n_iter_),
    }))


if __name__ == "__main__":
    main()
