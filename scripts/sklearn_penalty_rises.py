#!/usr/bin/env python3
"""Counts the iterations in which scikit-learn's penalised multiplicative updates raise the
penalised objective they are meant to minimise (docs/penalties.md cites its output).

For each β it draws 200 random problems (V of 2–11 rows and columns with magnitudes over four
orders, rank 2–11, positive starts), sets a pure L2 penalty with scikit-learn's scaling
(l1_ratio = 0, alpha relative to mean(V) over four orders), runs 30 iterations of
scikit-learn's own `_multiplicative_update_w` / `_multiplicative_update_h` (private names of
sklearn.decomposition._nmf, as called by NMF(solver='mu')), and evaluates
D_β(V‖WH) + ½·l2_w‖W‖² + ½·l2_h‖H‖² after each iteration. A rise is counted when the
objective grows by more than a relative 1e-12 (far above its f64 rounding).

Usage: python3 scripts/sklearn_penalty_rises.py   (needs numpy and scikit-learn)
"""

import numpy as np
from sklearn.decomposition import _nmf


def objective(x, w, h, beta, l2w, l2h):
    return (
        _nmf._beta_divergence(x, w, h, beta)
        + 0.5 * l2w * (w**2).sum()
        + 0.5 * l2h * (h**2).sum()
    )


def gamma(beta):
    if beta < 1:
        return 1.0 / (2.0 - beta)
    if beta > 2:
        return 1.0 / (beta - 1.0)
    return 1.0


def main():
    rng = np.random.default_rng(0)
    for beta in [1.0, 1.5, 0.5, 0.0, 3.0]:
        rises = total = 0
        max_rel = 0.0
        for _ in range(200):
            m, n, k = rng.integers(2, 12, size=3)
            x = rng.random((m, n)) * 10 ** rng.uniform(-2, 2)
            if beta <= 0:
                x += 1e-3  # the divergence is infinite at zero data
            w = rng.random((m, k)) + 0.01
            h = rng.random((k, n)) + 0.01
            alpha = x.mean() * 10 ** rng.uniform(-3, 1)
            l2w, l2h = n * alpha, m * alpha
            prev = objective(x, w, h, beta, l2w, l2h)
            for _ in range(30):
                w, *_ = _nmf._multiplicative_update_w(x, w, h, beta, 0.0, l2w, gamma(beta))
                h = _nmf._multiplicative_update_h(x, w, h, beta, 0.0, l2h, gamma(beta))
                cur = objective(x, w, h, beta, l2w, l2h)
                total += 1
                if cur > prev * (1 + 1e-12):
                    rises += 1
                    max_rel = max(max_rel, (cur - prev) / prev)
                prev = cur
        print(
            f"beta = {beta}: the objective rose in {rises} of {total} iterations "
            f"(largest relative rise {max_rel:.3g})"
        )


if __name__ == "__main__":
    main()
