#!/bin/sh
# Time per iteration of a Frobenius fit through the `nmf` command and through the library,
# side by side in one run (issue 11): for each of REPS rounds, both sides fit INPUT at rank K
# on THREADS threads with N1 and with N2 iterations (tol 0, loss checked every 10);
# the time per iteration is (t(N2) − t(N1))/(N2 − N1), which leaves out reading, the start
# and writing. Both start from the seeded random start (seed 0). The command's time is
# `wall_time_seconds.fit` of its summary.json (the fit alone) and
# its whole wall time; the library's the fit's (examples/fit_time.rs). Prints the medians.
# Usage (after cargo build --release -p nmf-cli -p nmf-bench --examples):
#   crates/nmf-bench/scripts/cli-vs-library.sh INPUT K THREADS [SOLVER] [N1] [N2] [REPS]
set -eu
input=$1 k=$2 threads=$3 solver=${4:-mu} n1=${5:-20} n2=${6:-220} reps=${7:-7}
bin=${CARGO_TARGET_DIR:-target}/release
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
now() { date +%s.%N; }
cli() { # iterations → "fit-seconds wall-seconds"
    t0=$(now)
    "$bin/nmf" fit "$input" -k "$k" --solver "$solver" --max-iter "$1" --tol 0 --init random \
        --threads "$threads" --dtype f64 --out "$out/o" --quiet
    t1=$(now)
    fit=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["wall_time_seconds"]["fit"])' "$out/o/summary.json")
    echo "$fit $(echo "$t1 - $t0" | bc -l)"
    rm -rf "$out/o"
}
lib() { "$bin/examples/fit_time" "$input" "$k" "$threads" "$1" "$solver" | cut -d' ' -f1; }
: > "$out/rows"
r=0
while [ "$r" -lt "$reps" ]; do
    c1=$(cli "$n1"); c2=$(cli "$n2"); l1=$(lib "$n1"); l2=$(lib "$n2")
    echo "$c1 $c2 $l1 $l2" >> "$out/rows"
    r=$((r + 1))
done
python3 - "$out/rows" "$n1" "$n2" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
n1, n2 = int(sys.argv[2]), int(sys.argv[3])
d = n2 - n1
cli_fit = [(r[2] - r[0]) / d * 1e3 for r in rows]
cli_wall = [(r[3] - r[1]) / d * 1e3 for r in rows]
lib = [(r[5] - r[4]) / d * 1e3 for r in rows]
ratio = [c / l for c, l in zip(cli_fit, lib)]
m = statistics.median
print(f"ms per iteration, medians of {len(rows)} (from fits of {n1} and {n2} iterations):")
print(f"  nmf fit, summary seconds: {m(cli_fit):.3f}   nmf fit, wall: {m(cli_wall):.3f}   library: {m(lib):.3f}")
print(f"  nmf fit ÷ library (per round, median): {m(ratio):.3f}  [{min(ratio):.3f} … {max(ratio):.3f}]")
print(f"  whole fit of {n2} iterations: nmf fit {m([r[2] for r in rows]):.3f} s (wall {m([r[3] for r in rows]):.3f} s), library {m([r[5] for r in rows]):.3f} s")
PY
