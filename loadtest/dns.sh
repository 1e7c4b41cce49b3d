#!/usr/bin/env bash
# Whole-server benchmark of idnode's DNS front end beside Knot DNS (../shared/bench/dns_knot.sh)
# measured in the same run, same pinning (server on core 1, dnsperf on core 0) and the same
# dnsperf settings (-c 4 -Q 2000000):
#   1. register COUNT identifiers (SQLite) through the management API;
#   2. dnsperf asks idnode once for every identifier (the warm-up: answers come from the
#      cache afterwards, as Knot's come from memory), then for the TXT records of random ones
#      of them for SECONDS;
#   3. Knot DNS answering TXT records for COUNT identifier-like names, loaded by dnsperf.
# Usage: loadtest/dns.sh [COUNT=100000] [SECONDS=15]
set -euo pipefail
export RUST_BACKTRACE=0
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared/bench}
N=${1:-100000}; T=${2:-15}
PORT=18000; HPORT=12641; DPORT=15300
command -v dnsperf >/dev/null || { apt-get update -qq; apt-get install -y -qq dnsperf >/dev/null; }
cargo build --release -q -p idnode -p idnode-loadtest --manifest-path "$ROOT/Cargo.toml"
BIN=$ROOT/target/release
# IDNODE: the idnode binary measured (default: this tree's release build); set it to another
# build to compare two versions back to back with the same load generator and references.
IDNODE=${IDNODE:-$BIN/idnode}
W=$(mktemp -d /tmp/idnode-dlt.XXXX)
SP=""
cleanup() { [ -n "$SP" ] && kill "$SP" 2>/dev/null && wait "$SP" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT

DB="sqlite://$W/idnode.db"
# Response rate limiting off, as in the Knot configuration: all load comes from one address.
printf '[dns]\nresponses_per_second = 0\n' >"$W/idnode.toml"
"$IDNODE" --database-url "$DB" init --node-prefix 88.100 >/dev/null
SECRET=$("$IDNODE" --database-url "$DB" enterprise create --name bench --prefix 88.100.1 | awk '/^secret:/{print $2}')
IDNODE_LOG=warn taskset -c 1 "$IDNODE" --config "$W/idnode.toml" --database-url "$DB" serve --http 127.0.0.1:$PORT \
  --handle 127.0.0.1:$HPORT --dns 127.0.0.1:$DPORT --dns-zone id. >/dev/null &
SP=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

echo "== idnode DNS benchmark: $N identifiers, ${T}s runs, $(date -u +%FT%TZ) =="
taskset -c 0 "$BIN/idnode-loadtest" bulk --url "http://127.0.0.1:$PORT" --identity 300:0.NA/88.100.1 \
  --secret="$SECRET" --prefix 88.100.1 --count "$N" >/dev/null
python3 - "$N" "$W/queries" "$W/all" <<'PY'
import sys, random
n = int(sys.argv[1]); rnd = random.Random(1)
with open(sys.argv[2], "w") as q:
    for _ in range(200000):
        q.write(f"p{rnd.randrange(n):09d}.1.100.88.id. TXT\n")
with open(sys.argv[3], "w") as a:
    for i in range(n):
        a.write(f"p{i:09d}.1.100.88.id. TXT\n")
PY
perf() { taskset -c 0 dnsperf -s 127.0.0.1 -p $DPORT -d "$W/queries" -l "$1" -c 4 -Q 2000000 2>&1; }
taskset -c 0 dnsperf -s 127.0.0.1 -p $DPORT -d "$W/all" -n 1 -c 4 >/dev/null 2>&1   # warm the cache
IDN=$(perf "$T" | grep -E "Queries per second|Average Latency|Queries lost|Queries completed")
kill "$SP"; wait "$SP" 2>/dev/null || true; SP=""

KNOT=$(bash "$SHARED/dns_knot.sh" "$N" "$T")
q() { echo "$1" | awk '/Queries per second/{print $4}'; }
lat() { echo "$1" | awk '/Average Latency/{print $4}'; }
lost() { echo "$1" | awk '/Queries lost/{print $3, $4}'; }
echo
printf "%-34s %12s %12s\n" "" "idnode" "Knot DNS"
printf "%-34s %12s %12s\n" "TXT queries per second" "$(q "$IDN")" "$(q "$KNOT")"
printf "%-34s %12s %12s\n" "average latency, s" "$(lat "$IDN")" "$(lat "$KNOT")"
printf "%-34s %12s %12s\n" "queries lost" "$(lost "$IDN")" "$(lost "$KNOT")"
python3 -c "print(f'ratio idnode / Knot: {$(q "$IDN")/$(q "$KNOT"):.2f} (target >= 1.2)')"
