#!/usr/bin/env bash
# Whole-server benchmark of idnode's binary Handle protocol front end beside Knot DNS
# (../shared/bench/dns_knot.sh) measured in the same run, same pinning: server on core 1,
# load generator on core 0.
#   1. register COUNT identifiers through the management API (SQLite, or with BACKEND
#      postgres a throwaway PostgreSQL cluster on core 0, beside the load generator: the
#      measured answers come from the cache, so only the warm-up reads it);
#   2. warm the cache (rounds until no misses), then, in each of ROUNDS rounds: resolve
#      random ones of them from the cache with `idnode-loadtest handle` over UDP (64 clients,
#      one request in flight each, hdrhistogram percentiles); Knot DNS answering TXT
#      records for COUNT identifier-like names, loaded by dnsperf; the floor (below);
#   3. once after the rounds, the same over TCP;
#   4. the floor: `idnode-loadtest floor` on core 1 answers every request with an empty
#      success and looks nothing up; the same generator against it measures what the
#      machine, its kernel and the generator allow (the p99 of 64 clients in flight is mostly
#      their queueing: p50 is about 64 / rate).
# Usage: loadtest/handle.sh [COUNT=100000] [SECONDS=15] [BACKEND=sqlite|postgres] [ROUNDS=3]
set -euo pipefail
export RUST_BACKTRACE=0
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared/bench}
N=${1:-100000}; T=${2:-15}; BACKEND=${3:-sqlite}; R=${4:-3}
PORT=18000; HPORT=12641; FPORT=12642
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
  --secret="$SECRET" --prefix 88.100.1 --count "$N" >/dev/null
# After the load, PostgreSQL's autovacuum would vacuum and analyse the new rows on core 0
# during the measured runs, taking the generator's core; settle it first, as a production
# database settles after a bulk import.
[ "$BACKEND" = postgres ] && as_pg psql -h 127.0.0.1 -p 55435 -U postgres -q -c "VACUUM ANALYZE" postgres
load() { taskset -c 0 "$BIN/idnode-loadtest" handle --addr "127.0.0.1:${LPORT:-$HPORT}" --prefix 88.100.1 --count "$N" --concurrency 64 "$@"; }
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
val() { echo "$1" | awk -v k="$2" '$1==k{print $2}'; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
median() { python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }
# The floor answers on its own port; idle, it and the node cost the other runs nothing.
taskset -c 1 "$BIN/idnode-loadtest" floor --addr 127.0.0.1:$FPORT &
FP=$!
trap 'kill $FP 2>/dev/null; cleanup' EXIT
echo
printf "%-6s %-34s %-30s %s\n" "round" "idnode UDP req/s (p50/p99/p99.9)" "Knot DNS q/s -> ratio" "floor req/s (p99) -> idnode/floor"
RATIOS=(); P99S=(); FRACS=(); UDP_MISSES=0
# Rounds of idnode, Knot, floor back to back: this machine's speed drifts by tens of percent
# within minutes, so each ratio is taken within one round and the median reported.
for r in $(seq "$R"); do
  M1=$(misses); UDP=$(load --transport udp --seconds "$T"); UDP_MISSES=$(( UDP_MISSES + $(misses) - M1 ))
  KNOT=$(bash "$SHARED/dns_knot.sh" "$N" "$T")
  FLOOR=$(LPORT=$FPORT load --transport udp --seconds "$T")
  U=$(val "$UDP" handle_udp_rps); K=$(echo "$KNOT" | awk '/Queries per second/{print $4}'); F=$(val "$FLOOR" handle_udp_rps)
  RATIOS+=("$(ratio "$U" "$K")"); FRACS+=("$(ratio "$U" "$F")"); P99S+=("$(val "$UDP" p99 | tr -d 'us')")
  printf "%-6s %-34s %-30s %s\n" "$r" "$U ($(val "$UDP" p50)/$(val "$UDP" p99)/$(val "$UDP" p99.9))" \
    "$(printf '%.0f' "$K") -> ${RATIOS[-1]}" "$F ($(val "$FLOOR" p99)) -> ${FRACS[-1]}"
  echo "$UDP" | grep -E "^ok" | sed 's/^/       /'
done
TCP=$(load --transport tcp --seconds "$T")
echo
echo "median of $R rounds: idnode UDP / Knot DNS $(median "${RATIOS[@]}") (target >= 1.0), UDP p99 $(median "${P99S[@]}") us, idnode / floor $(median "${FRACS[@]}")"
echo "cached Handle resolve over TCP (one run after the rounds): $(val "$TCP" handle_tcp_rps) req/s, p50 / p99 / p99.9 $(val "$TCP" p50) / $(val "$TCP" p99) / $(val "$TCP" p99.9); $(echo "$TCP" | grep -E "^ok")"
echo "cache warm-up before the measured runs: $WARM; store reads during the measured UDP runs: $UDP_MISSES"
