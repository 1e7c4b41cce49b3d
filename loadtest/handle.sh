#!/usr/bin/env bash
# Whole-server benchmark of idnode's binary Handle protocol front end beside Knot DNS
# (../shared/bench/dns_knot.sh) measured in the same run, same pinning: server on core 1,
# load generator on core 0.
#   1. register COUNT identifiers through the management API (SQLite, or with BACKEND
#      postgres a throwaway PostgreSQL cluster on core 0, beside the load generator: the
#      measured answers come from the cache, so only the warm-up reads it);
#   2. warm the cache (rounds until no misses), then resolve random ones of them from the
#      cache with `idnode-loadtest handle` over UDP and over TCP (64 clients, one request in
#      flight each, hdrhistogram percentiles);
#   3. Knot DNS answering TXT records for COUNT identifier-like names, loaded by dnsperf;
#   4. the floor: `idnode-loadtest floor` on core 1 answers every request with an empty
#      success and looks nothing up; the same generator against it measures what the
#      machine, its kernel and the generator allow (the p99 of 64 clients in flight is mostly
#      their queueing: p50 is about 64 / rate).
# Usage: loadtest/handle.sh [COUNT=100000] [SECONDS=15] [BACKEND=sqlite|postgres]
set -euo pipefail
export RUST_BACKTRACE=0
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared/bench}
N=${1:-100000}; T=${2:-15}; BACKEND=${3:-sqlite}
PORT=18000; HPORT=12641
cargo build --release -q -p idnode -p idnode-loadtest --manifest-path "$ROOT/Cargo.toml"
BIN=$ROOT/target/release
# IDNODE: the idnode binary measured (default: this tree's release build); set it to another
# build to compare two versions back to back with the same load generator and references.
IDNODE=${IDNODE:-$BIN/idnode}
W=$(mktemp -d /tmp/idnode-hlt.XXXX)
. "$ROOT/loadtest/common.sh"

case "$BACKEND" in
  sqlite) DB="sqlite://$W/idnode.db" ;;
  postgres)
    pg_start 0 55435
    DB="postgres://postgres@127.0.0.1:55435/postgres" ;;
  *) echo "BACKEND is sqlite or postgres" >&2; exit 2 ;;
esac
"$IDNODE" --database-url "$DB" init --node-prefix 88.100 >/dev/null
SECRET=$("$IDNODE" --database-url "$DB" enterprise create --name bench --prefix 88.100.1 | awk '/^secret:/{print $2}')
IDNODE_LOG=warn taskset -c 1 "$IDNODE" --database-url "$DB" serve --http 127.0.0.1:$PORT --handle 127.0.0.1:$HPORT >/dev/null &
SP=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

echo "== idnode Handle protocol benchmark: $N identifiers on $BACKEND, ${T}s runs, $(date -u +%FT%TZ) =="
taskset -c 0 "$BIN/idnode-loadtest" bulk --url "http://127.0.0.1:$PORT" --identity 300:0.NA/88.100.1 \
  --secret "$SECRET" --prefix 88.100.1 --count "$N" >/dev/null
# After the load, PostgreSQL's autovacuum would vacuum and analyse the new rows on core 0
# during the measured runs, taking the generator's core; settle it first, as a production
# database settles after a bulk import.
[ "$BACKEND" = postgres ] && as_pg psql -h 127.0.0.1 -p 55435 -U postgres -q -c "VACUUM ANALYZE" postgres
load() { taskset -c 0 "$BIN/idnode-loadtest" handle --addr 127.0.0.1:$HPORT --prefix 88.100.1 --count "$N" --concurrency 64 "$@"; }
# Warm the cache. The measured runs are of cached answers, so warm-up rounds of 5 s go on
# until a round meets almost no misses (< N/1000, from the node's own miss counter). A miss
# reads the store: on SQLite that work runs on the node's core, so filling 100,000 entries
# takes more than one round there; the fill is reported beside the results.
misses() { curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^idnode_cache_lookups_total\{result="miss"\}/{print $2}'; }
ROUNDS=0; M0=$(misses); FILL=$(date +%s.%N)
while :; do
  BEFORE=$(misses); load --transport udp --seconds 5 >/dev/null; ROUNDS=$((ROUNDS + 1))
  DELTA=$(( $(misses) - BEFORE ))
  [ "$DELTA" -lt $((N / 1000)) ] || [ "$ROUNDS" -ge 10 ] && break
done
WARM="$ROUNDS rounds of 5 s, $(( $(misses) - M0 )) misses (store reads) in $(python3 -c "import time; print(f'{time.time()-$FILL:.0f}')") s"
M1=$(misses); UDP=$(load --transport udp --seconds "$T"); UDP_MISSES=$(( $(misses) - M1 ))
TCP=$(load --transport tcp --seconds "$T")
kill "$SP"; wait "$SP" 2>/dev/null || true; SP=""

taskset -c 1 "$BIN/idnode-loadtest" floor --addr 127.0.0.1:$HPORT &
SP=$!
sleep 0.3
FLOOR=$(load --transport udp --seconds "$T")
kill "$SP"; wait "$SP" 2>/dev/null || true; SP=""

KNOT=$(bash "$SHARED/dns_knot.sh" "$N" "$T")
KNOT_QPS=$(echo "$KNOT" | awk '/Queries per second/{print $4}')
KNOT_LAT=$(echo "$KNOT" | awk '/Average Latency/{print $4}')

val() { echo "$1" | awk -v k="$2" '$1==k{print $2}'; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
UDP_RPS=$(val "$UDP" handle_udp_rps); TCP_RPS=$(val "$TCP" handle_tcp_rps); FLOOR_RPS=$(val "$FLOOR" handle_udp_rps)
echo
printf "%-40s %10s   %s\n" "measure" "figure" "reference (same run)"
printf "%-40s %10s   %s\n" "cached Handle resolve over UDP, req/s" "$UDP_RPS" "Knot DNS $KNOT_QPS q/s -> ratio $(ratio "$UDP_RPS" "$KNOT_QPS") (target >= 1.0)"
printf "%-40s %10s   %s\n" "  latency p50 / p99 / p99.9" "$(val "$UDP" p50) / $(val "$UDP" p99) / $(val "$UDP" p99.9)" "Knot average ${KNOT_LAT}s"
printf "%-40s %10s   %s\n" "cached Handle resolve over TCP, req/s" "$TCP_RPS" "ratio to Knot UDP $(ratio "$TCP_RPS" "$KNOT_QPS")"
printf "%-40s %10s\n" "  latency p50 / p99 / p99.9" "$(val "$TCP" p50) / $(val "$TCP" p99) / $(val "$TCP" p99.9)"
printf "%-40s %10s   %s\n" "floor: no-work UDP answers, req/s" "$FLOOR_RPS" "idnode UDP at $(ratio "$UDP_RPS" "$FLOOR_RPS") of it"
printf "%-40s %10s\n" "  latency p50 / p99 / p99.9" "$(val "$FLOOR" p50) / $(val "$FLOOR" p99) / $(val "$FLOOR" p99.9)"
echo "cache warm-up before the measured runs: $WARM; store reads during the measured UDP run: $UDP_MISSES"
echo "$UDP" | grep -E "^ok"; echo "$TCP" | grep -E "^ok"
