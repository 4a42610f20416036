#!/usr/bin/env bash
# The bounded fuzz pass .ci/run makes after the tests (see docs/fuzzing.md): both C extensions built with ASan
# and UBSan, then each harness for a fixed number of inputs from a fixed seed, starting from the checked-in
# seeds, so that every machine tries the same inputs and the pass fails or passes alike everywhere. Any
# sanitizer report, parity difference, exception or hang fails the pass; the input that did it is kept in
# build/fuzz/ and printed (base64) in the log.
#
#   fuzz/bounded_pass.sh                          # 12,000 pages of fuzz/links.py, 6,000 batches of fuzz/match.py
#   FUZZ_LINKS_RUNS=500000 fuzz/bounded_pass.sh   # longer (FUZZ_MAX_SECONDS bounds each harness, default 600)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
out=build/fuzz
mkdir -p "$out"
"$python" -m fuzz.sanitized build >/dev/null

run() {  # name inputs
    local corpus
    corpus=$(mktemp -d)
    local started=$SECONDS status=0
    "$python" -m fuzz.sanitized run -- "$python" "fuzz/$1.py" -seed=1 -runs="$2" -max_total_time="${FUZZ_MAX_SECONDS:-600}" -max_len=4096 \
        -timeout=60 -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$out/$1-" \
        "$corpus" "fuzz/seeds/$1" >"$out/$1.log" 2>&1 || status=$?
    rm -rf "$corpus"
    local runs
    runs=$(sed -n 's/^Done \([0-9]*\) runs in .*/\1/p' "$out/$1.log")
    if [ "$status" -ne 0 ]; then
        tail -n 80 "$out/$1.log"
        echo "fuzz/$1.py FAILED (exit $status) after $((SECONDS - started)) s: full log $out/$1.log, input in $out/"
        return 1
    fi
    echo "fuzz/$1.py: ${runs:-?} inputs in $((SECONDS - started)) s, no sanitizer report or parity difference"
}

run links "${FUZZ_LINKS_RUNS:-12000}"
run match "${FUZZ_MATCH_RUNS:-6000}"
