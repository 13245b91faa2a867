#!/usr/bin/env bash
# The web calendar on a 10,000-event account: week view time to first
# render, the feed, and search latency, measured in Debian's Chromium (see
# bench/web-calendar.mjs). Release build; the account is seeded by
# almanac-bench-seed (user "big").
#
# Settings: BENCH_RUNS=15, ALMANAC_PORT=28190, BENCH_SKIP_BUILD=1
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PORT="${ALMANAC_PORT:-28190}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
    cargo build --release --locked -p almanac -p almanac-bench-seed
fi
(cd "$ROOT/tests/browser" && [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error)
WORK="$(mktemp -d /var/tmp/almanac-web-bench.XXXXXX)"
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT
"$TARGET/release/almanac-bench-seed" --data-dir "$WORK/data" --users 1 --events 10 \
    --big-events 10000 --radicale-users 0
ALMANAC_DATA_DIR="$WORK/data" "$TARGET/release/almanac" serve --listen "127.0.0.1:$PORT" \
    >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
node "$ROOT/bench/web-calendar.mjs" "http://127.0.0.1:$PORT" big bench-password
