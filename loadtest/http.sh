#!/usr/bin/env bash
# Whole-server benchmark of idnode's HTTP front end, each figure beside its reference system
# from ../shared/bench measured in the same run (server on core 1, load on core 0):
#   1. bulk registration through POST /api/v1/identifiers/batch on SQLite (idnode on core 1)
#      and on PostgreSQL (the PostgreSQL server on core 1, idnode on core 0 as its client),
#      beside PostgreSQL's \copy of the same number of rows (pg.sh);
#   2. cached GET /api/handles/{handle} with wrk (64 connections) over the registered
#      identifiers, beside nginx serving the same-shaped JSON files (http_nginx.sh).
# Usage: loadtest/http.sh [COUNT=100000] [SECONDS=15]
set -euo pipefail
export RUST_BACKTRACE=0
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared/bench}
N=${1:-100000}; T=${2:-15}
PORT=18000
command -v wrk >/dev/null || { apt-get update -qq; apt-get install -y -qq wrk >/dev/null; }
cargo build --release -q -p idnode -p idnode-loadtest --manifest-path "$ROOT/Cargo.toml"
BIN=$ROOT/target/release
# IDNODE: the idnode binary measured (default: this tree's release build); set it to another
# build to compare two versions back to back with the same load generator and references.
IDNODE=${IDNODE:-$BIN/idnode}
W=$(mktemp -d /tmp/idnode-lt.XXXX); chmod 755 "$W"
. "$ROOT/loadtest/common.sh"

start_node() { # $1 database url, $2 core; sets SECRET (enterprise secret) and SP (server pid)
  "$IDNODE" --database-url "$1" init --node-prefix 88.100 >/dev/null
  SECRET=$("$IDNODE" --database-url "$1" enterprise create --name bench --prefix 88.100.1 | awk '/^secret:/{print $2}')
  RUST_BACKTRACE=0 IDNODE_LOG=warn taskset -c "$2" "$IDNODE" --database-url "$1" serve --http 127.0.0.1:$PORT >/dev/null &
  SP=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return; sleep 0.1; done
  echo "idnode did not start" >&2; exit 1
}
stop_node() { kill "$SP"; wait "$SP" 2>/dev/null || true; SP=""; }
bulk() { # $1 secret
  taskset -c 0 "$BIN/idnode-loadtest" bulk --url "http://127.0.0.1:$PORT" --identity 300:0.NA/88.100.1 \
    --secret="$1" --prefix 88.100.1 --count "$N" | awk '/bulk_ids_per_s/{print $2}'
}

echo "== idnode HTTP benchmark: $N identifiers, ${T}s runs, $(date -u +%FT%TZ) =="

# --- SQLite: bulk registration, then cached resolution ---
start_node "sqlite://$W/sqlite/idnode.db" 1
SQLITE_BULK=$(bulk "$SECRET")
"$BIN/idnode-loadtest" paths --cycle --prefix 88.100.1 --count "$N" > "$W/paths.lua"
# Warm the cache: the measured run is of cached answers, so 5 s rounds go on until one meets
# almost no misses (< N/1000, from the node's own miss counter); the fill is reported.
misses() { curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^idnode_cache_lookups_total\{result="miss"\}/{print $2}'; }
ROUNDS=0; M0=$(misses)
while :; do
  BEFORE=$(misses); taskset -c 0 wrk -t1 -c64 -d5s -s "$W/paths.lua" "http://127.0.0.1:$PORT/" >/dev/null
  ROUNDS=$((ROUNDS + 1)); DELTA=$(( $(misses) - BEFORE ))
  [ "$DELTA" -lt $((N / 1000)) ] || [ "$ROUNDS" -ge 10 ] && break
done
WARM="$ROUNDS rounds of 5 s, $(( $(misses) - M0 )) misses (store reads)"
OURS=$(taskset -c 0 wrk -t1 -c64 -d${T}s --latency -s "$W/paths.lua" "http://127.0.0.1:$PORT/")
stop_node
OUR_RPS=$(echo "$OURS" | awk '/Requests\/sec/{print $2}')
OUR_P50=$(echo "$OURS" | awk '$1=="50%"{print $2}')
OUR_P99=$(echo "$OURS" | awk '$1=="99%"{print $2}')
echo "$OURS" | grep -q "Non-2xx" && { echo "idnode answered non-2xx during the run:"; echo "$OURS"; exit 1; }

# --- PostgreSQL: bulk registration ---
pg_start 1 55434 "-c shared_buffers=1GB -c fsync=on -c synchronous_commit=on"
# PostgreSQL has core 1 as in pg.sh; idnode, its client, runs on core 0 with the load
# generator (pg.sh leaves its client, psql, unpinned).
start_node "postgres://postgres@127.0.0.1:55434/postgres" 0
PG_BULK=$(bulk "$SECRET")
stop_node
as_pg pg_ctl -D "$PGDATA" stop -m fast >/dev/null; PGDATA=""

# --- reference systems, same machine, same run ---
NGINX=$(bash "$SHARED/http_nginx.sh" "$N" "$T")
NGINX_RPS=$(echo "$NGINX" | awk '/Requests\/sec/{print $2}')
NGINX_P99=$(echo "$NGINX" | awk '$1=="99%"{print $2}')
PGREF=$(bash "$SHARED/pg.sh" "$N" 5)
COPY=$(echo "$PGREF" | awk '/copy_rows_per_s/{print $2}')

ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
echo
echo "cache warm-up before the measured run: $WARM"
printf "%-44s %12s   %s\n" "measure" "figure" "reference (same run)"
printf "%-44s %12s   %s\n" "cached REST resolve, req/s (1 core)" "$OUR_RPS" "nginx $NGINX_RPS req/s -> ratio $(ratio "$OUR_RPS" "$NGINX_RPS") (target >= 1.5)"
printf "%-44s %12s   %s\n" "  latency p50 / p99" "$OUR_P50 / $OUR_P99" "nginx p99 $NGINX_P99"
printf "%-44s %12s   %s\n" "bulk registration, SQLite, ids/s" "$SQLITE_BULK" "target >= 100000"
printf "%-44s %12s   %s\n" "bulk registration, PostgreSQL, ids/s" "$PG_BULK" "\\copy $COPY rows/s -> ratio $(ratio "$PG_BULK" "$COPY") (target >= 0.5)"
