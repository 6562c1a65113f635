#!/bin/sh
# Regenerates src/link/hot-symbols.txt: the functions of the strata executable that a headless
# collector (default collectors, streaming to a parent) runs in its steady state (callgrind's
# "'N" recursion marks removed). src/build.rs turns the list into a linker script that places
# these functions next to each other, so the few pages of code the collector keeps using stay
# few once its start-up code is released (src/resident.rs).
#
# Usage: src/link/hot-symbols.sh [STRATA_BINARY]   (default target/release/strata; needs valgrind)
# Run it after `cargo build --release` when the list has drifted: the names carry hashes that
# change with the dependencies and the compiler (not with edits of the code, apart from the
# `.llvm.NUMBER` suffixes src/build.rs ignores), and a name the binary no longer has is ignored
# (no error; only the grouping of that function is lost). It prints how many names of the
# previous list the binary still had.
set -eu
cd "$(dirname "$0")/../.."
BIN=${1:-target/release/strata}
OUT=src/link/hot-symbols.txt
WARMUP=${WARMUP:-20}
PROFILE=${PROFILE_SECONDS:-60}
command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 1; }
dir=$(mktemp -d)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT INT TERM
key=11111111-2222-3333-4444-555555555555
mkdir -p "$dir/parent" "$dir/child/plugins.d"
printf '[global]\n    hostname = hot-parent\n[directories]\n    lib = %s/parent/lib\n    cache = %s/parent/cache\n    plugins = "%s/parent/plugins.d"\n[web]\n    bind to = 127.0.0.1:0\n' \
    "$dir" "$dir" "$dir" > "$dir/parent/netdata.conf"
printf '[%s]\n    enabled = yes\n    allow from = *\n' "$key" > "$dir/parent/stream.conf"
"$BIN" --config-dir "$dir/parent" --cores 1 > "$dir/parent.log" 2>&1 &
pids="$!"
i=0
until addr=$(sed -n 's/.*web server listening on \([0-9.:]*\).*/\1/p' "$dir/parent.log" | head -1) && [ -n "$addr" ]; do
    i=$((i + 1)); [ $i -lt 100 ] || { cat "$dir/parent.log" >&2; exit 1; }; sleep 0.1
done
printf '[global]\n    hostname = hot-child\n    memory mode = none\n[directories]\n    lib = %s/child/lib\n    cache = %s/child/cache\n    plugins = "%s/child/plugins.d"\n[web]\n    mode = none\n' \
    "$dir" "$dir" "$dir" > "$dir/child/netdata.conf"
printf '[stream]\n    enabled = yes\n    destination = %s\n    api key = %s\n' "$addr" "$key" > "$dir/child/stream.conf"
valgrind --tool=callgrind --demangle=no --callgrind-out-file="$dir/cg.out" \
    "$BIN" --config-dir "$dir/child" > "$dir/child.log" 2>&1 &
child=$!
pids="$pids $child"
sleep "$WARMUP"
grep -q "established link" "$dir/child.log" || { cat "$dir/child.log" >&2; exit 1; }
callgrind_control -z "$child" > /dev/null
sleep "$PROFILE"
callgrind_control -d "$child" > /dev/null
sleep 1
# Every function of the strata object with a cost line after the counters were zeroed.
# Callgrind compresses names: "fn=(7) name" defines id 7, "fn=(7)" refers to it.
awk -v bin="$(basename "$BIN")" '
    function parse(s,   id, name) {
        id = s; sub(/^\(/, "", id); sub(/\).*$/, "", id)
        name = s; if (sub(/^\([0-9]+\) /, "", name)) { return id SUBSEP name }
        return id SUBSEP ""
    }
    /^(c?ob)=/ { split(parse(substr($0, index($0, "=") + 1)), p, SUBSEP); if (p[2] != "") ob[p[1]] = p[2]
                 if ($0 ~ /^ob=/) { o = ob[p[1]]; n = split(o, parts, "/"); cur_ob = parts[n] } next }
    /^(c?fn)=/ { split(parse(substr($0, index($0, "=") + 1)), p, SUBSEP); if (p[2] != "") fn[p[1]] = p[2]
                 if ($0 ~ /^fn=/) cur = (cur_ob == bin) ? fn[p[1]] : ""; next }
    /^[0-9+*-]/ { if (cur != "") hot[cur] = 1 }
    END { for (f in hot) print f }
' "$dir"/cg.out.* | sed "s/'[0-9]*\$//" | LC_ALL=C sort -u > "$dir/hot.txt"
[ -s "$dir/hot.txt" ] || { echo "no function of $BIN in the profile" >&2; exit 1; }
nm --defined-only "$BIN" | awk '{print $NF}' | LC_ALL=C sort -u > "$dir/syms.txt"
before=$( [ -f "$OUT" ] && LC_ALL=C sort -u "$OUT" | comm -12 - "$dir/syms.txt" | wc -l || echo 0)
cp "$dir/hot.txt" "$OUT"
echo "$OUT: $(wc -l < "$OUT") functions ($before of the previous list were still in $BIN)"
