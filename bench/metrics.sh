#!/usr/bin/env bash
# The metrics collector against GoAccess and a mawk one-liner, on the same
# 1,000,000-line access log made by ../shared/tools/genlog.py, in one run.
# Prints lines per second and peak memory of each (the median of BENCH_RUNS=5
# runs; GoAccess, slow, once). A load tool, not a test.
#
#   bench/metrics.sh            # BENCH_LINES=1000000 by default
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LINES="${BENCH_LINES:-1000000}"
WORK="${BENCH_METRICS_DIR:-/var/tmp/almanac-bench-metrics}"
mkdir -p "$WORK"
LOG="$WORK/access-$LINES.log"
command -v goaccess >/dev/null || { apt-get update -qq && apt-get install -y -qq goaccess >/dev/null; }
[ -f "$LOG" ] || python3 "$ROOT/../shared/tools/genlog.py" --lines "$LINES" --days 90 --seed 1 -o "$LOG"
(cd "$ROOT" && cargo build --release -q -p almanac-metrics --example throughput)
EXAMPLE="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/throughput"

RUNS="${BENCH_RUNS:-5}"
peak() { # command... -> prints "seconds peak_kib": the median of $RUNS runs
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" >/dev/null 2>&1
        cat "$WORK/time.txt"
    done | sort -n | awk -v n="$RUNS" 'NR == int((n + 1) / 2)'
}
rate() { awk -v l="$LINES" -v s="$1" 'BEGIN { printf "%.0f", (s > 0 ? l / s : 0) }'; }

cat "$LOG" >/dev/null   # the file in the page cache for everyone
read -r t_almanac m_almanac < <(peak "$EXAMPLE" "$LOG")
read -r t_single m_single < <(peak "$EXAMPLE" "$LOG" 1)
read -r t_goaccess m_goaccess < <(RUNS=1 peak goaccess "$LOG" --log-format=COMBINED --no-global-config -o "$WORK/goaccess.json")
read -r t_mawk m_mawk < <(peak mawk '{ split($4, d, ":"); n[d[1]]++ } END { for (k in n) print k, n[k] }' "$LOG")

printf '%-52s %12s %12s %14s\n' "$LINES lines, $(nproc) cores" "seconds" "lines/s" "peak memory"
printf '%-52s %12s %12s %11s MiB\n' "almanac-metrics, $(nproc) threads (full catalogue + report)" "$t_almanac" "$(rate "$t_almanac")" "$((m_almanac / 1024))"
printf '%-52s %12s %12s %11s MiB\n' "almanac-metrics, 1 thread" "$t_single" "$(rate "$t_single")" "$((m_single / 1024))"
printf '%-52s %12s %12s %11s MiB\n' "GoAccess $(goaccess --version | head -1 | awk '{print $3}' | sed 's/\.$//') (JSON report)" "$t_goaccess" "$(rate "$t_goaccess")" "$((m_goaccess / 1024))"
printf '%-52s %12s %12s %11s MiB\n' "mawk: hits per day only" "$t_mawk" "$(rate "$t_mawk")" "$((m_mawk / 1024))"
