#!/usr/bin/env bash
# A soak at half capacity: idnode on PostgreSQL holding COUNT identifiers of five short
# values (registered as scale.sh does), its cache at the default 256 MiB (less than COUNT
# identifiers need: it stays full and evicts all along). First the node's capacity on this
# load is measured (wrk, 64 connections, random REST resolutions among all, 20 s); then for
# SECONDS idnode-loadtest soak sends half that rate (or what it reaches: at most 128
# requests in flight; it prints the rate reached each minute): resolutions of random
# identifiers and every 20th request a PUT. The node's resident memory (VmRSS) is sampled every 30 s; its
# growth from the end of the fifth minute (the cache full) to the end is the figure (goal
# < 10 %), with the errors (goal: none). Node on core 1; PostgreSQL and the load on core 0.
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
echo "== idnode soak: $N identifiers, ${T}s at half capacity, $(date -u +%FT%TZ) =="
"$L" paths --prefix $PREFIX --count "$N" >"$W/paths.lua"
MAX=$(taskset -c 0 wrk -t1 -c64 -d20s -s "$W/paths.lua" "http://127.0.0.1:$PORT/" | awk '/Requests\/sec/{printf "%d\n", $2}')
RATE=$((MAX / 2))
echo "capacity on this load: $MAX req/s; the soak sends $RATE req/s"
rss() { awk '/^VmRSS/{print $2}' "/proc/$SP/status"; }
( while kill -0 "$SP" 2>/dev/null; do echo "$(date +%s) $(rss)"; sleep 30; done ) >"$W/rss" &
SAMPLER=$!
START=$(date +%s)
STATUS=0
taskset -c 0 "$L" soak "${AUTH[@]}" --count "$N" --rate "$RATE" --seconds "$T" || STATUS=$?
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
