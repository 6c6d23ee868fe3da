#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for SECONDS each (default 600), starting from its
# committed seed corpus (fuzz/corpus/<target>; new inputs go to the ignored fuzz/corpus-run/),
# and prints one summary line per target: target, seconds, executions (from libFuzzer's final
# stats) and crashes (0, or 1 with the input saved under fuzz/artifacts/<target>/: libFuzzer
# stops at the first crash, timeout or out-of-memory). Exits 1 if any target crashed.
#
#   scripts/fuzz-long.sh          # 10 minutes per target (the run README reports)
#   scripts/fuzz-long.sh 5        # the short run of CI
#
# Needs the nightly toolchain and cargo-fuzz (.ci/run installs both when absent).
# FUZZ_SANITIZER (default: address) is passed to `cargo fuzz --sanitizer`; FUZZ_TARGETS (a
# space-separated list, default every target) chooses the targets, so that two runs can share
# the targets out between two cores.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-600}"
sanitizer="${FUZZ_SANITIZER:-address}"
# Debug assertions (and so overflow checks) on: a wrapped size is a crash, not a wrong answer.
flags=(--debug-assertions --sanitizer "$sanitizer")

cargo +nightly fuzz build "${flags[@]}"
mapfile -t targets < <(cargo +nightly fuzz list)
if [[ -n "${FUZZ_TARGETS:-}" ]]; then
    read -ra targets <<<"$FUZZ_TARGETS"
fi

logs="fuzz/corpus-run/logs"
mkdir -p "$logs"
summary=()
failed=0
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus-run/$t" "fuzz/artifacts/$t"
    log="$logs/$t.log"
    status=0
    # -timeout: one input taking 10 s is a hang; -rss_limit_mb: 2 GiB is far more than any
    # input of at most 4 KiB may make a reader take.
    cargo +nightly fuzz run "${flags[@]}" "$t" "fuzz/corpus-run/$t" "fuzz/corpus/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
        -print_final_stats=1 >"$log" 2>&1 || status=$?
    # libFuzzer's final stats (-print_final_stats=1), printed on a crash too.
    runs=$( (grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" || true) | grep -o '[0-9]*$' | tail -1 || true)
    if [[ $status -eq 0 ]]; then
        line="$t: ${secs} s, ${runs:-?} executions, 0 crashes"
    else
        failed=1
        artifact=$( (grep -o 'Test unit written to [^ ]*' "$log" || true) | tail -1 | sed 's/Test unit written to //')
        # The first line saying what happened: the panic's message, or libFuzzer's or the
        # sanitizer's error (out-of-memory, timeout, deadly signal).
        what=$( (grep -A1 -m1 -E "panicked at" "$log" || grep -m1 -E "==[0-9]+== ?ERROR" "$log" || true) | tr '\n' ' ' | cut -c1-300)
        line="$t: stopped within ${secs} s after ${runs:-?} executions, 1 crash: ${artifact:-no artifact} (${what:-exit $status}; log $log)"
    fi
    echo "$line"
    summary+=("$line")
done

echo
echo "fuzzing summary ($(date -u +%Y-%m-%d), $secs s per target, sanitizer $sanitizer):"
printf '  %s\n' "${summary[@]}"
exit "$failed"
