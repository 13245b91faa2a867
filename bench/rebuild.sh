#!/usr/bin/env bash
# Times an incremental debug `cargo build` after a one-line change: a
# tracing line added at the top of one function, then taken out again.
#
#   bench/rebuild.sh [FILE 'FUNCTION SIGNATURE START' ...]
#
# With no arguments it times a page handler and a DAV handler. Each change
# is built three times; the file is restored whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -eq 0 ]; then
    set -- crates/site/src/pages.rs 'pub async fn content_page' \
        crates/dav-server/src/request.rs 'pub(crate) fn options()'
fi

seconds() { date +%s.%N; }
build() { cargo build -q 2>&1 | tail -n 3; }

echo "warming up: cargo build"
build
while [ $# -ge 2 ]; do
    file=$1 signature=$2
    shift 2
    backup=$(mktemp)
    cp "$file" "$backup"
    trap 'cp "$backup" "$file"' EXIT
    start_line=$(grep -nF "$signature" "$file" | head -n 1 | cut -d: -f1)
    [ -n "$start_line" ] || { echo "no '$signature' in $file"; exit 1; }
    # The line of the function's opening brace.
    brace=$(awk -v s="$start_line" 'NR >= s && /\{ *$/ { print NR; exit }' "$file")
    for run in 1 2 3; do
        sed -i "${brace}a\\    tracing::trace!(\"rebuild probe $run\");" "$file"
        t0=$(seconds); build; t1=$(seconds)
        cp "$backup" "$file"
        build
        printf '%s (%s), run %d: %.1f s\n' "$file" "$signature" "$run" "$(echo "$t1 - $t0" | bc)"
    done
    trap - EXIT
    rm -f "$backup"
done
