#!/usr/bin/env bash
# A soak at half capacity: idnode on PostgreSQL holding COUNT identifiers of five short
# values (registered as scale.sh does) and a thousand of the soak's own, its cache at the
# default 256 MiB (less than COUNT identifiers need: it stays full and evicts all along).
# The load is wrk running the script of `idnode-loadtest soak`: resolutions of identifiers
# drawn at random among all, every 20th request a PUT of one of the soak's thousand. First
# the node's capacity on this load (wrk, 64 connections, no pause, 20 s); then wrk with a
# 1 ms pause per connection, its connections chosen (two 15 s calibration runs) so that it
# sends half that rate, for SECONDS in one-minute runs (a line each: rate, latency, non-2xx
# answers, socket errors).
# The node's resident memory (VmRSS) is sampled every 30 s; its growth from the end of the
# fifth minute (the cache full) to the end is the figure (goal < 10 %), with the errors
# (goal: none). Node on core 1; PostgreSQL and wrk on core 0.
# Usage: loadtest/soak.sh [SECONDS=3600] [COUNT=1000000]
set -euo pipefail
export RUST_BACKTRACE=0 IDNODE_LOG=${IDNODE_LOG:-warn}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=${1:-3600}; N=${2:-1000000}
PORT=18095; PGPORT=55443; PREFIX=88.118.8
command -v wrk >/dev/null || { apt-get update -qq; apt-get install -y -qq wrk >/dev/null; }
cargo build --release -q -p idnode -p idnode-loadtest --manifest-path "$ROOT/Cargo.toml"
BIN=$ROOT/target/release
IDNODE=${IDNODE:-$BIN/idnode}
L=$BIN/idnode-loadtest
W=$(mktemp -d /var/tmp/idnode-soak.XXXX)
. "$ROOT/loadtest/common.sh"
pg_start 0 $PGPORT "-c shared_buffers=1GB -c max_wal_size=8GB"
pg_db $PGPORT
cd "$W"
node() { "$IDNODE" --database-url "$DB" "$@"; }
node init --node-prefix 88.118 >/dev/null
SECRET=$(node enterprise create --name gearbox --prefix $PREFIX | awk '/^secret:/{print $2}')
taskset -c 1 "$IDNODE" --database-url "$DB" serve --http 127.0.0.1:$PORT \
  --handle 127.0.0.1:$((PORT + 1)) >"$W/node.log" 2>&1 &
SP=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
AUTH=(--url "http://127.0.0.1:$PORT" --identity 300:0.NA/$PREFIX --secret="$SECRET" --prefix $PREFIX)
taskset -c 0 "$L" scale "${AUTH[@]}" --from 0 --count "$N" >/dev/null 2>"$W/progress"
psql -h 127.0.0.1 -p $PGPORT -U postgres -qAt -d idnode -c "VACUUM ANALYZE handles" -c CHECKPOINT
# The soak's own thousand, created in one batch.
python3 - "$PREFIX" >"$W/own.json" <<'PY'
import json, sys
ops = [{"op": "create", "handle": f"{sys.argv[1]}/SOAK-{i}",
        "values": [{"index": 1, "type": "URL", "data": f"https://soak.example/{i}/0"}]} for i in range(1000)]
print(json.dumps({"operations": ops}))
PY
curl -sf -o /dev/null -u "300%3A0.NA%2F$PREFIX:$SECRET" -H 'content-type: application/json' \
  --data-binary @"$W/own.json" "http://127.0.0.1:$PORT/api/v1/identifiers/batch"
echo "== idnode soak: $N identifiers, ${T}s at half capacity, $(date -u +%FT%TZ) =="
script() { "$L" soak --identity 300:0.NA/$PREFIX --secret="$SECRET" --prefix $PREFIX --count "$N" --delay-ms "$1"; }
script 0 >"$W/max.lua"; script 1 >"$W/soak.lua"
URL="http://127.0.0.1:$PORT/"
rate() { awk '/Requests\/sec/{printf "%d\n", $2}'; }
MAX=$(taskset -c 0 wrk -t1 -c64 -d20s -s "$W/max.lua" "$URL" | rate)
RATE=$((MAX / 2))
# Connections for half the capacity: 8 connections measured for 15 s, scaled, measured
# again and scaled once more (the rate is not linear in connections near saturation).
C=8
for _ in 1 2; do
  R=$(taskset -c 0 wrk -t1 -c"$C" -d15s -s "$W/soak.lua" "$URL" | rate)
  echo "calibration: $C connections sent $R req/s"
  C=$(python3 -c "print(max(1, min(200, round($C * $RATE / $R))))")
done
echo "capacity on this load: $MAX req/s; the soak aims at $RATE req/s with $C connections"
rss() { awk '/^VmRSS/{print $2}' "/proc/$SP/status"; }
( while kill -0 "$SP" 2>/dev/null; do echo "$(date +%s) $(rss)"; sleep 30; done ) >"$W/rss" &
SAMPLER=$!
START=$(date +%s)
ERRORS=0; SENT=0
printf "%6s %9s %9s %9s %9s %8s\n" minute "req/s" p50 p99 non-2xx "sock err"
for M in $(seq 1 $(( (T + 59) / 60 ))); do
  OUT=$(taskset -c 0 wrk -t1 -c"$C" -d60s --latency -s "$W/soak.lua" "$URL")
  NON2XX=$(echo "$OUT" | awk '/Non-2xx/{print $5}'); NON2XX=${NON2XX:-0}
  SOCK=$(echo "$OUT" | awk -F'[ ,]+' '/Socket errors/{print $5+$7+$9+$11}'); SOCK=${SOCK:-0}
  ERRORS=$((ERRORS + NON2XX + SOCK)); SENT=$((SENT + $(echo "$OUT" | awk '/requests in/{print $1}')))
  printf "%6s %9s %9s %9s %9s %8s\n" "$M" "$(echo "$OUT" | rate)" "$(echo "$OUT" | awk '$1=="50%"{print $2}')" \
    "$(echo "$OUT" | awk '$1=="99%"{print $2}')" "$NON2XX" "$SOCK"
done
echo "requests: $SENT in $(( $(date +%s) - START )) s, failed (non-2xx or socket errors): $ERRORS"
STATUS=0; [ "$ERRORS" = 0 ] || STATUS=1
kill "$SAMPLER" 2>/dev/null || true
echo "resident memory (MiB) every 5 minutes:"
awk -v s="$START" '$1 >= s && (($1 - s) % 300 < 30) {printf "  %3d min %7.1f\n", ($1 - s) / 60, $2 / 1024}' "$W/rss"
python3 - "$W/rss" "$START" <<'PY'
import sys
rows = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if len(l.split()) == 2]
start = int(sys.argv[2])
after5 = [r for t, r in rows if t >= start + 300]
if len(after5) >= 2:
    a, b, peak = after5[0], after5[-1], max(after5)
    print(f"RSS after 5 min {a/1024:.1f} MiB, at the end {b/1024:.1f} MiB, peak {peak/1024:.1f} MiB: "
          f"growth {100*(b-a)/a:+.1f} % (peak {100*(peak-a)/a:+.1f} %; goal < 10 %)")
PY
echo "error lines in the node log: $(grep -ciE "panic|error" "$W/node.log")"
{ grep -iE "panic|error" "$W/node.log" || true; } | cut -c1-300 | sort | uniq -c | sort -rn | head -5
exit $STATUS
