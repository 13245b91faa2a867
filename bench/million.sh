#!/usr/bin/env bash
# The load model of "a million accounts on one machine": PostgreSQL seeded
# with N accounts (one calendar of 5 events each, an app password each,
# every row as the server writes it), then an open-loop load at the rate
# of two devices per account polling every 15 minutes (N * 2 / 900 req/s):
# idle polls and sync-collection from a random account, 1 % new events.
# Prints the achieved rate, p50/p99 latency, errors, the server's CPU and
# peak memory, and PostgreSQL's CPU. A load tool, not a test.
#
#   bench/million.sh [N=10000] [SECONDS=60]      BENCH_RATE=... overrides the rate
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N="${1:-10000}"
RUN_SECONDS="${2:-60}"
RATE="${BENCH_RATE:-$(( N * 2 / 900 > 1 ? N * 2 / 900 : 1 ))}"
PG="${ALMANAC_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
DB="almanac_load_$N"
DB_URL="${PG%/*}/$DB"
WORK="${BENCH_LOAD_DIR:-/var/tmp/almanac-load}/$N"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
mkdir -p "$WORK"

(cd "$ROOT" && cargo build --release -q -p almanac -p almanac-bench-seed)
ALMANAC="$TARGET/release/almanac"
LOAD="$TARGET/release/almanac-bench-load"

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$WORK/almanac.toml" <<EOF
data_dir = "$WORK/data"
database_url = "$DB_URL"
content_dir = "$ROOT/content"
[site]
base_url = "http://127.0.0.1:$PORT"
EOF
export ALMANAC_CONFIG="$WORK/almanac.toml"

if [ "$(psql "$PG" -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ] ||
   [ "$(psql "$DB_URL" -Atc "SELECT count(*) FROM users" 2>/dev/null || echo 0)" != "$N" ]; then
    echo "== seeding $N accounts into $DB"
    psql "$PG" -qc "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" -qc "CREATE DATABASE \"$DB\""
    "$ALMANAC" migrate >/dev/null 2>&1
    # One real argon2 hash (the account password "bench-password") for all.
    echo bench-password | "$ALMANAC" user add template --email t@example.org --password-stdin >/dev/null 2>&1
    started=$(date +%s)
    psql "$DB_URL" -v ON_ERROR_STOP=1 -v n="$N" -q <<'SQL'
BEGIN;
SELECT password_hash AS hash FROM users WHERE name = 'template' \gset
DELETE FROM users WHERE name = 'template';
INSERT INTO users (id, name, email, password_hash, is_admin, created_at, verified_at, locked)
SELECT 1000000000 + n, 'u' || n, 'u' || n || '@example.org', :'hash', 0, 1764000000, 1764000000, 0
FROM generate_series(1, :n) n;
-- The app password of account n: n in 24 digits written with a-j (bench/seed/src/load.rs).
INSERT INTO app_passwords (user_id, label, secret_hash, created_at)
SELECT 1000000000 + n, 'Phone',
       encode(sha256(convert_to(translate(lpad(n::text, 24, '0'), '0123456789', 'abcdefghij'), 'UTF8')), 'hex'),
       1764000000
FROM generate_series(1, :n) n;
-- Calendar id n, so its sync token is urn:almanac:sync:n:5.
INSERT INTO collections (id, owner_id, path, is_calendar, displayname, components, sync_revision, created_at, modified_at)
SELECT n, 1000000000 + n, 'calendar', 1, 'Calendar', 'VEVENT,VTODO,VJOURNAL', 5, 1764000000, 1764000000
FROM generate_series(1, :n) n;
CREATE TEMP TABLE seed_events ON COMMIT DROP AS
SELECT n, k, 1796126400 + k * 86400 AS start,
       convert_to('BEGIN:VCALENDAR' || chr(13) || chr(10) || 'VERSION:2.0' || chr(13) || chr(10)
           || 'PRODID:-//Almanac bench//EN' || chr(13) || chr(10) || 'BEGIN:VEVENT' || chr(13) || chr(10)
           || 'UID:ev' || k || '-' || n || chr(13) || chr(10)
           || 'DTSTAMP:20261101T000000Z' || chr(13) || chr(10)
           || 'DTSTART:' || to_char(to_timestamp(1796126400 + k * 86400) AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS"Z"') || chr(13) || chr(10)
           || 'DURATION:PT1H' || chr(13) || chr(10) || 'SUMMARY:Meeting ' || k || chr(13) || chr(10)
           || 'END:VEVENT' || chr(13) || chr(10) || 'END:VCALENDAR' || chr(13) || chr(10), 'UTF8') AS data
FROM generate_series(1, :n) n, generate_series(1, 5) k;
INSERT INTO items (collection_id, name, content_type, etag, data, size, uid, component, start_utc, end_utc, revision, modified_at)
SELECT n, 'ev' || k || '.ics', 'text/calendar; charset=utf-8', '"' || left(encode(sha256(data), 'hex'), 24) || '"',
       data, length(data), 'ev' || k || '-' || n, 'VEVENT', start, start + 3600, k, 1764000000
FROM seed_events;
INSERT INTO changes (collection_id, name, revision, deleted, origin)
SELECT n, 'ev' || k || '.ics', k, 0, 'sync' FROM seed_events;
\o /dev/null
SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) + 1 FROM users), false);
SELECT setval(pg_get_serial_sequence('collections', 'id'), (SELECT max(id) + 1 FROM collections), false);
SELECT setval(pg_get_serial_sequence('items', 'id'), (SELECT max(id) + 1 FROM items), false);
\o
COMMIT;
ANALYZE;
SQL
    echo "   seeded in $(( $(date +%s) - started )) s"
fi

"$ALMANAC" serve --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

ticks() { # pids... -> utime + stime in clock ticks
    local total=0
    for pid in "$@"; do
        [ -r "/proc/$pid/stat" ] || continue
        set -- $(sed 's/^.*) //' "/proc/$pid/stat")
        total=$(( total + ${12} + ${13} ))
    done
    echo "$total"
}
postgres_pids() { pgrep -x postgres || pgrep postgres || true; }
hz=$(getconf CLK_TCK)
server_before=$(ticks "$SERVER"); pg_before=$(ticks $(postgres_pids))
"$LOAD" --base "http://127.0.0.1:$PORT" --accounts "$N" --rate "$RATE" --seconds "$RUN_SECONDS"
server_after=$(ticks "$SERVER"); pg_after=$(ticks $(postgres_pids))
peak=$(awk '/VmHWM/ { print int($2 / 1024) }' "/proc/$SERVER/status")
awk -v s=$(( server_after - server_before )) -v p=$(( pg_after - pg_before )) -v hz="$hz" -v t="$RUN_SECONDS" -v m="$peak" \
    'BEGIN { printf "server CPU %.0f%% of one core, peak RSS %d MiB; PostgreSQL CPU %.0f%% of one core\n", 100 * s / hz / t, m, 100 * p / hz / t }'
