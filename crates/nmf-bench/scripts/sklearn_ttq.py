#!/usr/bin/env python3
"""scikit-learn's NMF solvers for nmf-bench's time-to-quality mode.

Reads V (float64) from a .npy file, or (--csr PREFIX --shape M,N) from the raw compressed rows
PREFIX.ptr, PREFIX.idx (int32) and PREFIX.val (float64) into a scipy.sparse CSR matrix that
scikit-learn fits kept sparse, and, for each repeat, each solver of --solvers ('mu',
'cd') and each budget N of --iters, fits

    NMF(n_components=K, solver=S, init=None, tol=0, max_iter=N, random_state=SEED)

(init=None: NNDSVDA when K <= min(m, n), else random; beta_loss 'frobenius'; no penalty)
under threadpoolctl.threadpool_limits(THREADS), timing fit_transform(V) alone with
time.perf_counter: the interpreter's start, the imports, np.load and one untimed warm-up fit
per solver (max_iter=1) are outside the timed region, and so is the relative error
||V - WH||_F / ||V||_F, computed in float64 after the fit (for a sparse V without forming
WH: ||V||^2 - 2 sum_nnz v (WH) + <W^T W, H H^T>, as nmf-bench does for its own fits). tol=0 runs the N iterations, except
that 'mu' stops when the loss went up between two of its checks (every 10 iterations): the
iterations done (n_iter_) are reported.

Prints one line per fit, tab-separated:
    point  sklearn-S  N  n_iter_  seconds  rel_err
and info lines (versions, BLAS, the start used):
    info  key  value
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--v", help="V as a float64 .npy file")
    ap.add_argument("--csr", help="prefix of V's raw compressed rows (.ptr, .idx, .val)")
    ap.add_argument("--shape", help="M,N of the --csr matrix")
    ap.add_argument("--k", type=int, required=True)
    ap.add_argument("--iters", required=True, help="comma-separated budgets")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--solvers", default="cd,mu", help="comma-separated: cd, mu")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    iters = [int(x) for x in args.iters.split(",") if x]
    solvers = [s for s in args.solvers.split(",") if s]

    import sklearn
    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_info, threadpool_limits

    warnings.simplefilter("ignore", ConvergenceWarning)
    if args.csr:
        import scipy.sparse as sp
        m, n = (int(x) for x in args.shape.split(","))
        ptr = np.fromfile(args.csr + ".ptr", dtype="<i4")
        idx = np.fromfile(args.csr + ".idx", dtype="<i4")
        val = np.fromfile(args.csr + ".val", dtype="<f8")
        v = sp.csr_matrix((val, idx, ptr), shape=(m, n))
        coo = v.tocoo()
        vnorm2 = float(val @ val)
    else:
        v = np.load(args.v).astype(np.float64, copy=False)
        m, n = v.shape
        vnorm2 = float(np.linalg.norm(v)) ** 2
    k = args.k

    def rel_err(w, h):
        if not args.csr:
            return float(np.linalg.norm(v - w @ h)) / vnorm2 ** 0.5
        wh = np.einsum("ij,ij->i", w[coo.row], h.T[coo.col])
        num = vnorm2 - 2.0 * float(coo.data @ wh) + float(np.sum((w.T @ w) * (h @ h.T)))
        return (max(num, 0.0) / vnorm2) ** 0.5

    def fit(solver, budget):
        model = NMF(n_components=k, solver=solver, init=None, tol=0.0, max_iter=budget,
                    random_state=args.seed, beta_loss="frobenius")
        t0 = time.perf_counter()
        w = model.fit_transform(v)
        seconds = time.perf_counter() - t0
        return int(model.n_iter_), seconds, rel_err(w, model.components_)

    print(f"info\tscikit-learn\t{sklearn.__version__}")
    print(f"info\tnumpy\t{np.__version__}")
    print(f"info\tpython\t{sys.version.split()[0]}")
    print(f"info\tV\t{'scipy.sparse CSR' if args.csr else 'dense ndarray'}")
    print(f"info\tinit\t{'nndsvda' if k <= min(m, n) else 'random'}")
    print(f"info\tOPENBLAS_CORETYPE\t{os.environ.get('OPENBLAS_CORETYPE', 'unset')}")
    with threadpool_limits(limits=args.threads):
        for d in threadpool_info():
            print("info\tBLAS\t{} {} {} ({} threads)".format(
                d.get("internal_api", "?"), d.get("version", "?"),
                d.get("architecture", ""), d.get("num_threads", "?")))
        for s in solvers:
            fit(s, 1)
        for _ in range(args.repeats):
            for s in solvers:
                for budget in iters:
                    n_iter, seconds, err = fit(s, budget)
                    print(f"point\tsklearn-{s}\t{budget}\t{n_iter}\t{seconds!r}\t{err!r}",
                          flush=True)


if __name__ == "__main__":
    main()
