#!/usr/bin/env bash
# Scale on PostgreSQL: identifiers of five short values (loadtest/src/scale.rs) registered
# through idnode's bulk path (POST /api/v1/identifiers/batch, 10,000 per batch, four in
# flight) up to each of STEPS, and at each step, in the same run and on the same cluster:
#   - the load rate of the step; for the first step, in BULK_ROUNDS (3) parts, each beside
#     PostgreSQL's \copy of the rows idnode stored for it into a copy of its table, with the
#     median of the paired ratios;
#   - bytes of database per identifier (handles and history tables with their indexes, and
#     the whole database);
#   - cold resolution: REST GET of random identifiers among all registered (wrk, 64
#     connections, the node's cache off: every answer read from PostgreSQL), beside pgbench
#     point selects of the same rows by the same key (8 clients, prepared), both drawing
#     rows uniformly from all registered; after unmeasured passes of the same REST load
#     until its rate settles (the page cache warmed alike for both); in RES_ROUNDS (3)
#     rounds of the node then pgbench, medians printed (every round at the end).
# PostgreSQL on core 1. While loading, idnode runs on both cores (its parsing, checking and
# packing is the load's limit; PostgreSQL used a quarter of its core) and the generator on
# core 0; for the resolution runs idnode is restarted on core 0, beside wrk and pgbench.
# READS="4 8" measures the cold resolution once per value of `[cache] miss_reads_in_flight`
# (a line each; default 4). BACKUP=1 adds the time of a pg_basebackup of the cluster at the
# last step.
# Usage: loadtest/scale.sh [STEPS=1000000,10000000] [SECONDS=15]
set -euo pipefail
export RUST_BACKTRACE=0 IDNODE_LOG=${IDNODE_LOG:-warn}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STEPS=${1:-1000000,10000000}; T=${2:-15}; READS=${READS:-4}
PORT=18060; PGPORT=55441; PREFIX=88.118.8
command -v wrk >/dev/null || { apt-get update -qq; apt-get install -y -qq wrk >/dev/null; }
cargo build --release -q -p idnode -p idnode-loadtest --manifest-path "$ROOT/Cargo.toml"
BIN=$ROOT/target/release
IDNODE=${IDNODE:-$BIN/idnode}
L=$BIN/idnode-loadtest
W=$(mktemp -d /var/tmp/idnode-scale.XXXX)
. "$ROOT/loadtest/common.sh"
pg_start 1 $PGPORT "-c shared_buffers=1GB -c fsync=on -c synchronous_commit=on -c max_wal_size=8GB"
P="psql -h 127.0.0.1 -p $PGPORT -U postgres -qAt"
pg_db $PGPORT
# conf R: the node's cache off, R reads of misses in flight.
conf() { printf '[cache]\ncapacity_bytes = 0\nmiss_reads_in_flight = %s\n' "$1" >"$W/idnode.toml"; }
conf 4
cd "$W"
"$IDNODE" --config "$W/idnode.toml" --database-url "$DB" init --node-prefix 88.118 >/dev/null
SECRET=$("$IDNODE" --config "$W/idnode.toml" --database-url "$DB" enterprise create --name gearbox --prefix $PREFIX | awk '/^secret:/{print $2}')
# start_node [taskset ARGS]: (re)starts the node, on the cores given or on all.
start_node() {
  [ -n "$SP" ] && { kill "$SP"; wait "$SP" 2>/dev/null || true; }
  "$@" "$IDNODE" --config "$W/idnode.toml" --database-url "$DB" serve --http 127.0.0.1:$PORT >>"$W/node.log" 2>&1 &
  SP=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
}
echo "== idnode scale on PostgreSQL: steps $STEPS, ${T}s resolution runs, $(date -u +%FT%TZ) =="

# ms LATENCY: wrk's latency (850.00us, 1.29ms, 1.02s) in milliseconds.
ms() { python3 -c "import re,sys; v,u=re.fullmatch(r'([0-9.]+)(us|ms|s)',sys.argv[1]).groups(); print(f'{float(v)*{\"us\":1e-3,\"ms\":1,\"s\":1e3}[u]:.3f}')" "$1"; }
# medians: the median of each column of the lines read.
medians() { python3 -c "import sys,statistics as s; rows=[l.split() for l in sys.stdin if l.strip()]; print(*(f'{s.median(float(r[i]) for r in rows):g}' for i in range(len(rows[0]))))"; }
misses() { curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^idnode_cache_lookups_total\{result="miss"\}/{print $2}'; }
printf "%-12s %10s %8s %8s %6s %8s   %-28s %-28s %s\n" identifiers "load ids/s" "B/id" "B/id db" reads "store%" "idnode REST req/s p50 p99" "pgbench tps p50 p99" ratios
DONE=0
# load FROM COUNT: registers identifiers FROM..FROM+COUNT-1 through the node; RATE is set.
load() {
  OUT=$(taskset -c 0 "$L" scale --url "http://127.0.0.1:$PORT" --identity 300:0.NA/$PREFIX --secret="$SECRET" \
    --prefix $PREFIX --from "$1" --count "$2" --concurrency 4 2>"$W/progress")
  RATE=$(echo "$OUT" | awk '/^scale_ids_per_s/{print $2}')
}
# The (folded) handle the generator gives number I (loadtest/src/scale.rs).
handle_of() { printf '%s/p%09d' $PREFIX "$1"; }
for N in ${STEPS//,/ }; do
  start_node
  if [ "$DONE" = 0 ]; then
    # The anchor, measured in rounds alternating with the node: the first step is loaded
    # in BULK_ROUNDS parts; after each, the rows idnode stored for that part are exported
    # and \copy-ed into a copy of its table (same columns, same indexes) that grows
    # alongside (never emptied: both write into tables of the same size), each measured
    # piece after a CHECKPOINT. Single runs of either varied up to 2x between fresh
    # clusters; the median of the paired ratios is what the target is read from.
    ROUNDS=${BULK_ROUNDS:-3}
    $P -d idnode -c "CREATE TABLE anchor (LIKE handles INCLUDING ALL)"
    RATIOS=(); NODE_RATES=(); COPY_RATES=()
    for K in $(seq 0 $((ROUNDS - 1))); do
      A=$((N * K / ROUNDS)); B=$((N * (K + 1) / ROUNDS))
      $P -d idnode -c "CHECKPOINT"
      load "$A" $((B - A))
      $P -d idnode -c "COPY (SELECT folded, handle, packed, version, created_at, updated_at, created_in FROM handles WHERE folded >= '$(handle_of $A)' AND folded < '$(handle_of $B)') TO '$W/rows.copy'"
      ROWS=$(wc -l <"$W/rows.copy")
      [ "$ROWS" = $((B - A)) ] || { echo "exported $ROWS rows for round $K, not $((B - A))"; exit 1; }
      $P -d idnode -c "CHECKPOINT"
      S=$(date +%s.%N)
      $P -d idnode -c "\copy anchor (folded, handle, packed, version, created_at, updated_at, created_in) FROM '$W/rows.copy'"
      E=$(date +%s.%N)
      COPY=$(python3 -c "print(round($((B - A))/($E-$S)))")
      RATIOS+=("$(python3 -c "print(f'{$RATE/$COPY:.2f}')")"); NODE_RATES+=("$RATE"); COPY_RATES+=("$COPY")
    done
    $P -d idnode -c "DROP TABLE anchor"; rm -f "$W/rows.copy"
    FIRST_RATE=$(printf '%s\n' "${NODE_RATES[@]}" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
    RATE=$FIRST_RATE
  else
    load "$DONE" $((N - DONE))
  fi
  DONE=$N
  # Vacuum (autovacuum would otherwise run during the measurements), then a checkpoint, so
  # that the writes of the load and of the vacuum are not flushed during them.
  $P -d idnode -c "VACUUM ANALYZE handles" -c "VACUUM ANALYZE history" -c "CHECKPOINT"
  read -r TABLES DBSIZE < <($P -d idnode -F ' ' -c "SELECT pg_total_relation_size('handles') + pg_total_relation_size('history'), pg_database_size('idnode')")
  # Cold resolution through the node (on core 0), for each value of READS, then pgbench
  # on the same rows.
  "$L" paths --prefix $PREFIX --count "$N" >"$W/paths.lua"
  # Warm-up passes, not measured, until the page cache settles: after the load and the
  # vacuum it holds what was written and scanned last, not what random look-ups need, and
  # at 100 M (29 GB over 24 GB of memory) filling it takes minutes. Passes of T seconds
  # until one is less than 5 % faster than the one before (at most WARM_PASSES, 12).
  start_node taskset -c 0
  PREV=0
  for K in $(seq 1 "${WARM_PASSES:-12}"); do
    WR=$(taskset -c 0 wrk -t1 -c64 -d${T}s -s "$W/paths.lua" "http://127.0.0.1:$PORT/" | awk '/Requests\/sec/{print $2}')
    echo "$N $K $WR" >>"$W/warm.txt"
    python3 -c "import sys; sys.exit(0 if $WR < 1.05 * $PREV else 1)" && break
    PREV=$WR
  done
  cat >"$W/q.sql" <<SQL
\set i random(0, $((N - 1)))
SELECT packed FROM handles WHERE folded = '$PREFIX/p' || lpad(:i::text, 9, '0');
SQL
  # RES_ROUNDS rounds, each the node (once per value of READS) then pgbench: the machine's
  # state moves the figures of single runs (p99 at 1 M: 2.54 and 5.32 ms in two runs of the
  # same build), the medians over rounds less.
  for K in $(seq 1 "${RES_ROUNDS:-3}"); do
    for R in $READS; do
      conf "$R"; start_node taskset -c 0
      M0=$(misses)
      REST=$(taskset -c 0 wrk -t1 -c64 -d${T}s --latency -s "$W/paths.lua" "http://127.0.0.1:$PORT/")
      echo "$REST" | grep -q "Non-2xx" && { echo "idnode answered non-2xx:"; echo "$REST"; exit 1; }
      REQS=$(echo "$REST" | awk '/requests in/{print $1}')
      STORE=$(python3 -c "print(round(100*($(misses)-$M0)/$REQS))")
      RPS=$(echo "$REST" | awk '/Requests\/sec/{print $2}')
      RP50=$(echo "$REST" | awk '$1=="50%"{print $2}'); RP99=$(echo "$REST" | awk '$1=="99%"{print $2}')
      echo "$N $R $K $RPS $(ms "$RP50") $(ms "$RP99") $STORE" >>"$W/rests.txt"
    done
    conf 4
    rm -f "$W"/pgb*
    PGB=$(cd "$W" && taskset -c 0 pgbench -h 127.0.0.1 -p $PGPORT -U postgres -n -M prepared -c 8 -j 1 -T "$T" \
      -l --log-prefix=pgb -f "$W/q.sql" idnode 2>&1)
    TPS=$(echo "$PGB" | awk '/^tps/{printf "%.0f", $3}')
    read -r GP50 GP99 < <(cat "$W"/pgb* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END{printf "%.3f %.3f\n", a[int(NR*0.5)]/1000, a[int(NR*0.99)]/1000}')
    echo "$N $K $TPS $GP50 $GP99" >>"$W/selects.txt"
  done
  # A line per value of READS: medians over the rounds (ms), beside pgbench's.
  for R in $READS; do
    read -r RPS RP50 RP99 STORE < <(awk -v n="$N" -v r="$R" '$1==n && $2==r {print $4, $5, $6, $7}' "$W/rests.txt" | medians)
    read -r TPS GP50 GP99 < <(awk -v n="$N" '$1==n {print $3, $4, $5}' "$W/selects.txt" | medians)
    printf "%-12s %10s %8s %8s %6s %8s   %-28s %-28s %s\n" "$N" "$RATE" "$((TABLES / N))" "$((DBSIZE / N))" "$R" "$STORE" \
      "$RPS ${RP50}ms ${RP99}ms" "$TPS ${GP50}ms ${GP99}ms" "req/s / tps $(python3 -c "print(f'{$RPS/$TPS:.2f}')")"
  done
done
if [ -n "${BACKUP:-}" ]; then
  # A base backup of the whole cluster at the last step, streamed to the same disk.
  S=$(date +%s.%N)
  as_pg pg_basebackup -h 127.0.0.1 -p $PGPORT -U postgres -D "$W/base" -X stream -c fast
  E=$(date +%s.%N)
  BYTES=$(du -sb "$W/base" | cut -f1); rm -rf "$W/base"
  echo "pg_basebackup at $DONE identifiers: $BYTES bytes in $(python3 -c "print(f'{$E-$S:.1f} s, {$BYTES/($E-$S)/1e6:.0f} MB/s')")"
fi
echo
echo "bulk registration, first step in ${#RATIOS[@]} rounds alternating with \\copy of the same rows:"
for K in "${!RATIOS[@]}"; do
  echo "  round $((K + 1)): idnode ${NODE_RATES[$K]} ids/s, \\copy ${COPY_RATES[$K]} rows/s, ratio ${RATIOS[$K]}"
done
echo "  median ratio $(printf '%s\n' "${RATIOS[@]}" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}') (target >= 0.7)"
echo "warm-up passes (identifiers, pass: idnode req/s):"
sed 's/^/  /' "$W/warm.txt"
echo "cold resolution, every round (identifiers, reads in flight, round: idnode req/s p50 p99 ms, store%):"
sed 's/^/  /' "$W/rests.txt"
echo "pgbench, every round (identifiers, round: tps p50 p99 ms):"
sed 's/^/  /' "$W/selects.txt"
FIRST=${STEPS%%,*}; LAST=${STEPS##*,}; R1=${READS%% *}
if [ "$FIRST" != "$LAST" ]; then
  P99() { awk -v n="$1" -v r="$R1" '$1==n && $2==r {print $6}' "$W/rests.txt" | medians; }
  G99() { awk -v n="$1" '$1==n {print $5}' "$W/selects.txt" | medians; }
  echo "median p99 at $LAST / at $FIRST: idnode $(python3 -c "print(f'{$(P99 "$LAST")/$(P99 "$FIRST"):.2f}')") (goal <= 1.5), pgbench $(python3 -c "print(f'{$(G99 "$LAST")/$(G99 "$FIRST"):.2f}')")"
fi
echo "store% is the share of REST requests that read PostgreSQL (the node's miss counter)."
