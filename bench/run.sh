#!/usr/bin/env bash
# Almanac load benchmark: 1,000 users x 1,000 events (plus one 10,000-event
# calendar), the same workloads against Almanac and against Radicale (PyPI)
# on this machine, in this run. See bench/README.md.
#
# Settings (environment):
#   BENCH_DURATION=10       seconds per Almanac workload (Radicale's slow
#                           workloads get longer, see radicale_duration)
#   BENCH_CONNECTIONS=8 BENCH_THREADS=2
#   BENCH_CACHE=/var/tmp/almanac-bench-seed   seeded data, reused while the
#                           seed version matches (each run works on a copy)
#   BENCH_USERS=1000 BENCH_EVENTS=1000 BENCH_BIG_EVENTS=10000
#   ALMANAC_PORT=28180 RADICALE_PORT=28181
#   BENCH_SKIP_BUILD=1      use the binaries already in target/release
#   BENCH_KEEP=1            keep the work directory (logs, databases)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="$ROOT/bench"
DURATION="${BENCH_DURATION:-10}"
CONNECTIONS="${BENCH_CONNECTIONS:-8}"
THREADS="${BENCH_THREADS:-2}"
CACHE="${BENCH_CACHE:-/var/tmp/almanac-bench-seed}"
USERS="${BENCH_USERS:-1000}"
EVENTS="${BENCH_EVENTS:-1000}"
BIG_EVENTS="${BENCH_BIG_EVENTS:-10000}"
ALMANAC_PORT="${ALMANAC_PORT:-28180}"
RADICALE_PORT="${RADICALE_PORT:-28181}"
PASSWORD="bench-password"
MONTH="20260301"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
RUN_STARTED=$(date +%s)

say() { printf '\n== %s\n' "$*"; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# ------------------------------------------------------------------ tools
command -v wrk >/dev/null || die "wrk is missing (Debian: apt-get install wrk)"
command -v curl >/dev/null || die "curl is missing"
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import radicale' 2>/dev/null; then
    say "installing Radicale from PyPI"
    "$PYTHON" -m pip install --quiet radicale
fi
RADICALE_VERSION=$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("radicale"))')

if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
    say "building (release)"
    (cd "$ROOT" && cargo build --release -p almanac -p almanac-bench-seed)
fi
ALMANAC="$TARGET/release/almanac"
SEED="$TARGET/release/almanac-bench-seed"
[ -x "$ALMANAC" ] && [ -x "$SEED" ] || die "binaries missing in $TARGET/release"

# ------------------------------------------------------------------ seed
SEED_ARGS=(--users "$USERS" --events "$EVENTS" --big-events "$BIG_EVENTS" --password "$PASSWORD")
WANT_VERSION=$("$SEED" "${SEED_ARGS[@]}" --data-dir /nonexistent --print-version)
if [ -f "$CACHE/almanac/SEED_VERSION" ] && [ "$(cat "$CACHE/almanac/SEED_VERSION")" = "$WANT_VERSION" ]; then
    say "reusing the seeded data in $CACHE ($WANT_VERSION)"
else
    say "seeding $CACHE ($WANT_VERSION)"
    rm -rf "$CACHE"
    mkdir -p "$CACHE"
    "$SEED" "${SEED_ARGS[@]}" --data-dir "$CACHE/almanac.tmp" --radicale-dir "$CACHE/radicale"
    mv "$CACHE/almanac.tmp" "$CACHE/almanac"
fi

WORK=$(mktemp -d /tmp/almanac-bench.XXXXXX)
ALMANAC_PID=""
RADICALE_PID=""
cleanup() {
    local pid
    for pid in "$ALMANAC_PID" "$RADICALE_PID"; do
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    if [ -n "${BENCH_KEEP:-}" ]; then
        echo "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "copying the data set to $WORK"
cp -a "$CACHE/almanac" "$WORK/almanac"
cp -a "$CACHE/radicale" "$WORK/radicale"
MANIFEST="$WORK/almanac/bench-manifest.tsv"
du -sh "$WORK/almanac" "$WORK/radicale" | sed 's/^/   /'

# ------------------------------------------------------------------ servers
for port in "$ALMANAC_PORT" "$RADICALE_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        die "port $port is in use on 127.0.0.1: set ALMANAC_PORT / RADICALE_PORT"
    fi
done
say "starting Almanac on 127.0.0.1:$ALMANAC_PORT and Radicale $RADICALE_VERSION on 127.0.0.1:$RADICALE_PORT"
"$ALMANAC" --data-dir "$WORK/almanac" --access-log - serve --listen "127.0.0.1:$ALMANAC_PORT" \
    >"$WORK/almanac.log" 2>&1 &
ALMANAC_PID=$!

cat >"$WORK/radicale.conf" <<EOF
[server]
hosts = 127.0.0.1:$RADICALE_PORT
max_connections = $CONNECTIONS
timeout = 600

[auth]
type = htpasswd
htpasswd_filename = $WORK/radicale/htpasswd
htpasswd_encryption = plain
delay = 0

[rights]
type = owner_only

[storage]
type = multifilesystem
filesystem_folder = $WORK/radicale

[web]
type = none

[logging]
level = warning
EOF
"$PYTHON" -m radicale --config "$WORK/radicale.conf" >"$WORK/radicale.log" 2>&1 &
RADICALE_PID=$!

wait_for() { # url [curl options...]
    local url=$1; shift
    for _ in $(seq 300); do
        if curl -s -o /dev/null --max-time 2 "$@" "$url"; then return 0; fi
        sleep 0.1
    done
    return 1
}
wait_for "http://127.0.0.1:$ALMANAC_PORT/healthz" || { cat "$WORK/almanac.log"; die "Almanac did not start"; }
wait_for "http://127.0.0.1:$RADICALE_PORT/" || { cat "$WORK/radicale.log"; die "Radicale did not start"; }

A="http://127.0.0.1:$ALMANAC_PORT"
R="http://127.0.0.1:$RADICALE_PORT"
FIRST_USER=$(head -n1 "$MANIFEST" | cut -f1)
FIRST_TOKEN=$(head -n1 "$MANIFEST" | cut -f3)
XML='Content-Type: application/xml; charset=utf-8'

dav() { # method url depth body [curl options]
    local method=$1 url=$2 depth=$3 body=$4; shift 4
    curl -s --max-time 900 -u "$FIRST_USER:$PASSWORD" "$@" -X "$method" -H "Depth: $depth" -H "$XML" \
        --data-binary "$body" "$url"
}
count() { grep -o "$1" | wc -l; }

CTAG_BODY='<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/"><d:prop><cs:getctag/><d:sync-token/></d:prop></d:propfind>'
LIST_BODY='<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/><d:getcontenttype/></d:prop></d:propfind>'
QUERY_BODY="<?xml version=\"1.0\" encoding=\"utf-8\"?><c:calendar-query xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\"><d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name=\"VCALENDAR\"><c:comp-filter name=\"VEVENT\"><c:time-range start=\"${MONTH}T000000Z\" end=\"20260401T000000Z\"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>"
sync_body() { echo "<?xml version=\"1.0\" encoding=\"utf-8\"?><d:sync-collection xmlns:d=\"DAV:\"><d:sync-token>$1</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"; }

# ------------------------------------------------------------------ checks and warm-up
say "checking both servers answer the same data"
a_ctag=$(dav PROPFIND "$A/dav/calendars/$FIRST_USER/calendar/" 0 "$CTAG_BODY")
echo "$a_ctag" | grep -q "$FIRST_TOKEN" || die "Almanac's sync token for $FIRST_USER is not the seeded $FIRST_TOKEN: $a_ctag"
a_sync=$(dav REPORT "$A/dav/calendars/$FIRST_USER/calendar/" 0 "$(sync_body "$FIRST_TOKEN")")
[ "$(echo "$a_sync" | count href)" = 0 ] || die "Almanac: an unchanged sync-collection poll is not empty: $a_sync"
ITEM_HREF='\.ics</[A-Za-z0-9]*:*href>'
a_list=$(dav PROPFIND "$A/dav/calendars/$FIRST_USER/calendar/" 1 "$LIST_BODY" | count "$ITEM_HREF")
echo "   Almanac:  PROPFIND depth 1 on $FIRST_USER/calendar lists $a_list events"
t0=$(date +%s.%N)
r_list=$(dav PROPFIND "$R/$FIRST_USER/calendar/" 1 "$LIST_BODY" | count "$ITEM_HREF")
echo "   Radicale: PROPFIND depth 1 on $FIRST_USER/calendar lists $r_list events (first request, builds its cache: $(echo "$(date +%s.%N) - $t0" | bc) s)"
R_TOKEN=$(dav PROPFIND "$R/$FIRST_USER/calendar/" 0 "$CTAG_BODY" | grep -o '<[^>]*sync-token>[^<]*<' | sed 's/.*>\(.*\)</\1/')
[ -n "$R_TOKEN" ] || die "Radicale gave no sync token"
r_sync=$(dav REPORT "$R/$FIRST_USER/calendar/" 0 "$(sync_body "$R_TOKEN")")
[ "$(echo "$r_sync" | count href)" = 0 ] || die "Radicale: an unchanged sync-collection poll is not empty: $r_sync"
a_query=$(curl -s --max-time 900 -u "big:$PASSWORD" -X REPORT -H 'Depth: 1' -H "$XML" --data-binary "$QUERY_BODY" "$A/dav/calendars/big/calendar/" | count "$ITEM_HREF")
t0=$(date +%s.%N)
r_query=$(curl -s --max-time 900 -u "big:$PASSWORD" -X REPORT -H 'Depth: 1' -H "$XML" --data-binary "$QUERY_BODY" "$R/big/calendar/" | count "$ITEM_HREF")
echo "   one-month query on big/calendar: Almanac $a_query events, Radicale $r_query events (Radicale's first query: $(echo "$(date +%s.%N) - $t0" | bc) s)"
[ "$a_list" = "$r_list" ] || echo "   WARNING: the listings differ"
[ "$a_query" = "$r_query" ] || echo "   WARNING: the query results differ"

# Every user logs in once, so the measured polls hit the credential cache
# (argon2 costs tens of milliseconds; the cache keeps a login 2 minutes).
warm_almanac() {
    local t0 codes
    t0=$(date +%s.%N)
    codes=$(head -n "$USERS" "$MANIFEST" | cut -f1 | xargs -P 8 -I{} \
        curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 -u "{}:$PASSWORD" -X PROPFIND \
        -H 'Depth: 0' -H "$XML" --data-binary "$CTAG_BODY" "$A/dav/calendars/{}/calendar/" | sort | uniq -c | tr -s ' ' | tr '\n' ' ')
    echo "   log-in pass over $USERS users: $(echo "$(date +%s.%N) - $t0" | bc) s, statuses:$codes"
}
say "first log-in of every user (argon2)"
warm_almanac

# ------------------------------------------------------------------ measurements
declare -A RPS P50 P99 BAD NOTE
ERRORS=0

# run_wrk KEY SERVER WORKLOAD SECONDS [VAR=VALUE ...]: one wrk run, result in RPS[KEY,SERVER]...
run_wrk() {
    local key=$1 server=$2 workload=$3 seconds=$4; shift 4
    local url timeout line
    if [ "$server" = almanac ]; then url=$A; timeout=30s; else url=$R; timeout=600s; fi
    line=$(env BENCH_WORKLOAD="$workload" BENCH_MANIFEST="$MANIFEST" BENCH_PASSWORD="$PASSWORD" \
        BENCH_MONTH="$MONTH" "$@" \
        timeout $((seconds + 660)) wrk -t "$THREADS" -c "$CONNECTIONS" -d "${seconds}s" --timeout "$timeout" \
        -s "$BENCH/workload.lua" "$url" | tee -a "$WORK/wrk.log" | grep '^RESULT' || true)
    [ -n "$line" ] || { echo "   $key/$server: wrk printed no result"; ERRORS=$((ERRORS + 1)); return; }
    local rps p50 p99 bad first nonempty sock tmo req
    req=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$line")
    rps=$(sed 's/.*rps=\([0-9.]*\).*/\1/' <<<"$line")
    p50=$(sed 's/.*p50_ms=\([0-9.]*\).*/\1/' <<<"$line")
    p99=$(sed 's/.*p99_ms=\([0-9.]*\).*/\1/' <<<"$line")
    bad=$(sed 's/.*bad_status=\([0-9]*\).*/\1/' <<<"$line")
    first=$(sed 's/.*first_bad=\([0-9]*\).*/\1/' <<<"$line")
    nonempty=$(sed 's/.*nonempty=\([0-9]*\).*/\1/' <<<"$line")
    sock=$(sed 's/.*socket_errors=\([0-9]*\).*/\1/' <<<"$line")
    tmo=$(sed 's/.*timeouts=\([0-9]*\).*/\1/' <<<"$line")
    RPS[$key,$server]=$rps; P50[$key,$server]=$p50; P99[$key,$server]=$p99
    BAD[$key,$server]=$((bad + nonempty + sock + tmo))
    printf '   %-8s %-8s %6d requests in %ss: %10s req/s  p50 %8s ms  p99 %8s ms  non-2xx %s%s  non-empty sync %s  socket errors %s  timeouts %s\n' \
        "$key" "$server" "$req" "$seconds" "$rps" "$p50" "$p99" "$bad" \
        "$([ "$first" != 0 ] && echo " (first: $first)")" "$nonempty" "$sock" "$tmo"
    if [ $((bad + nonempty + sock + tmo)) -ne 0 ]; then ERRORS=$((ERRORS + 1)); fi
}

# Radicale is slow: give each of its workloads enough seconds for several
# rounds of 8 requests, judged from one request timed beforehand (after a
# first one that warms its caches), at most 60 s.
radicale_duration() { # workload curl-args...
    local t0 secs
    curl -s -o /dev/null --max-time 900 "${@:2}"   # warm Radicale's caches first
    t0=$(date +%s.%N)
    curl -s -o /dev/null --max-time 900 "${@:2}"
    secs=$(echo "$(date +%s.%N) - $t0" | bc)
    awk -v s="$secs" -v c="$CONNECTIONS" -v d="$DURATION" 'BEGIN { x = int(s * c * 5 + 1); if (x < d) x = d; if (x > 60) x = 60; print x }'
}

SPREAD=(BENCH_BASE=/dav/calendars/ BENCH_SPREAD="$USERS")
ONE=(BENCH_SPREAD=1)

say "Almanac ($DURATION s each, $CONNECTIONS connections, $THREADS threads; polls spread over $USERS users)"
run_wrk healthz almanac healthz "$DURATION"
warm_almanac
run_wrk poll almanac poll "$DURATION" "${SPREAD[@]}"
run_wrk sync almanac sync "$DURATION" "${SPREAD[@]}"
warm_almanac
run_wrk depth1 almanac depth1 "$DURATION" "${SPREAD[@]}"
run_wrk query almanac query "$DURATION" BENCH_BASE=/dav/calendars/ BENCH_USER=big
warm_almanac
run_wrk get almanac get "$DURATION" "${SPREAD[@]}"
run_wrk put almanac put "$DURATION" "${SPREAD[@]}"
# The same single-user setting Radicale gets, for reference.
run_wrk poll1 almanac poll "$DURATION" BENCH_BASE=/dav/calendars/ "${ONE[@]}"

say "Radicale $RADICALE_VERSION (one user's calendar; slow workloads run longer)"
RC="$R/$FIRST_USER/calendar/"
ITEM=$(head -n1 "$MANIFEST" | cut -f4)
d=$(radicale_duration poll -u "$FIRST_USER:$PASSWORD" -X PROPFIND -H 'Depth: 0' -H "$XML" --data-binary "$CTAG_BODY" "$RC")
run_wrk poll radicale poll "$d" BENCH_BASE=/ "${ONE[@]}"
d=$(radicale_duration sync -u "$FIRST_USER:$PASSWORD" -X REPORT -H 'Depth: 0' -H "$XML" --data-binary "$(sync_body "$R_TOKEN")" "$RC")
run_wrk sync radicale sync "$d" BENCH_BASE=/ "${ONE[@]}" BENCH_TOKEN="$R_TOKEN"
d=$(radicale_duration depth1 -u "$FIRST_USER:$PASSWORD" -X PROPFIND -H 'Depth: 1' -H "$XML" --data-binary "$LIST_BODY" "$RC")
run_wrk depth1 radicale depth1 "$d" BENCH_BASE=/ "${ONE[@]}"
d=$(radicale_duration query -u "big:$PASSWORD" -X REPORT -H 'Depth: 1' -H "$XML" --data-binary "$QUERY_BODY" "$R/big/calendar/")
run_wrk query radicale query "$d" BENCH_BASE=/ BENCH_USER=big
d=$(radicale_duration get -u "$FIRST_USER:$PASSWORD" "$RC$ITEM")
run_wrk get radicale get "$d" BENCH_BASE=/ "${ONE[@]}"
# Radicale's PUTs into a big calendar can take many seconds each.
run_wrk put radicale put 30 BENCH_BASE=/ "${ONE[@]}"

# ------------------------------------------------------------------ report
say "results ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, Radicale $RADICALE_VERSION, wrk -t$THREADS -c$CONNECTIONS)"
goal() { case $1 in poll|sync|depth1|query) echo 100;; get) echo 10;; *) echo "";; esac; }
label() {
    case $1 in
        healthz) echo "GET /healthz";;
        poll) echo "idle poll: PROPFIND depth 0 getctag";;
        sync) echo "unchanged sync-collection poll";;
        depth1) echo "PROPFIND depth 1, $EVENTS events";;
        query) echo "calendar-query 1 month, $BIG_EVENTS ev.";;
        get) echo "GET one event";;
        put) echo "PUT a new event";;
        poll1) echo "idle poll, one user only";;
    esac
}
printf '%-40s %12s %12s %8s %-11s %s\n' workload "Almanac/s" "Radicale/s" ratio goal "p50 / p99 ms (Almanac | Radicale)"
for key in healthz poll sync depth1 query get put poll1; do
    a=${RPS[$key,almanac]:-}
    r=${RPS[$key,radicale]:-}
    ratio="-"; met="-"
    if [ -n "$a" ] && [ -n "$r" ]; then
        ratio=$(awk -v a="$a" -v r="$r" 'BEGIN { if (r > 0) printf "%.0fx", a / r; else print "n/a" }')
        g=$(goal "$key")
        if [ -n "$g" ]; then
            met=$(awk -v a="$a" -v r="$r" -v g="$g" 'BEGIN { print (r == 0) ? "n/a" : (a / r >= g) ? "yes" : "NO" }')
            met="$met (${g}x)"
        fi
    fi
    lat="${P50[$key,almanac]:--} / ${P99[$key,almanac]:--}"
    [ -n "$r" ] && lat="$lat | ${P50[$key,radicale]} / ${P99[$key,radicale]}"
    printf '%-40s %12s %12s %8s %-11s %s\n' "$(label "$key")" "${a:--}" "${r:--}" "$ratio" "$met" "$lat"
done
h=${RPS[healthz,almanac]:-0}; p=${RPS[poll,almanac]:-0}
awk -v h="$h" -v p="$p" 'BEGIN { r = (h > 0) ? p / h : 0; printf "\nidle poll / healthz: %.0f / %.0f = %.2f (goal >= 0.50: %s)\n", p, h, r, (r >= 0.5) ? "yes" : "NO" }'
echo "wall time of the run: $(( $(date +%s) - RUN_STARTED )) s"
if [ "$ERRORS" -ne 0 ]; then
    echo "ERRORS: $ERRORS workload(s) had non-2xx responses, non-empty sync answers, socket errors or timeouts (see above)"
    tail -n 20 "$WORK/almanac.log" "$WORK/radicale.log" || true
    exit 1
fi
echo "no errors: every response was 2xx"
