#!/usr/bin/env bash
# Memory of the resolution cache, measured as the node's resident memory (VmRSS):
#   1. per cached identifier: FILL identifiers (five short values each, as scale.sh
#      registers them) resolved once each over REST, all within the capacity; the growth of
#      resident memory per identifier beside the mean REST answer (goal: <= 1.5x);
#   2. the same identifiers asked over DNS (TXT) as well, which adds the DNS form to each
#      cached entry: the growth again, per identifier;
#   3. the capacity: ALL identifiers resolved once (several times what the capacity holds);
#      the growth of resident memory beside the configured capacity (goal: <= 1x), and the
#      cache's own count of its bytes.
# SQLite store; idnode on core 1, the load (wrk, dig) on core 0.
# Usage: loadtest/cache.sh [CAPACITY_MIB=64] [FILL=40000] [ALL=250000]
set -euo pipefail
export RUST_BACKTRACE=0 IDNODE_LOG=${IDNODE_LOG:-warn}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CAP_MIB=${1:-64}; FILL=${2:-40000}; ALL=${3:-250000}
PORT=18090; DNSPORT=18091; PREFIX=88.118.8
command -v wrk >/dev/null || { apt-get update -qq; apt-get install -y -qq wrk >/dev/null; }
command -v dnsperf >/dev/null || { apt-get update -qq; apt-get install -y -qq dnsperf >/dev/null; }
cargo build --release -q -p idnode -p idnode-loadtest --manifest-path "$ROOT/Cargo.toml"
BIN=$ROOT/target/release
IDNODE=${IDNODE:-$BIN/idnode}
W=$(mktemp -d /var/tmp/idnode-cache.XXXX)
. "$ROOT/loadtest/common.sh"
cat >"$W/idnode.toml" <<CONF
[cache]
capacity_bytes = $((CAP_MIB * 1024 * 1024))
[dns]
zone = "id.test."
CONF
cd "$W"
DB="sqlite://$W/idnode.db"
node() { "$IDNODE" --config "$W/idnode.toml" --database-url "$DB" "$@"; }
node init --node-prefix 88.118 >/dev/null
SECRET=$(node enterprise create --name gearbox --prefix $PREFIX | awk '/^secret:/{print $2}')
start() {
  taskset -c 1 "$IDNODE" --config "$W/idnode.toml" --database-url "$DB" serve \
    --http 127.0.0.1:$PORT --dns 127.0.0.1:$DNSPORT --handle 127.0.0.1:$((PORT + 2)) >"$W/node.log" 2>&1 &
  SP=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && return; sleep 0.1; done
  echo "idnode did not start" >&2; cat "$W/node.log" >&2; exit 1
}
start
taskset -c 0 "$BIN/idnode-loadtest" scale --url "http://127.0.0.1:$PORT" --identity 300:0.NA/$PREFIX \
  --secret="$SECRET" --prefix $PREFIX --from 0 --count "$ALL" >/dev/null 2>"$W/progress"
# A fresh process: nothing cached, nothing left of the load.
kill "$SP"; wait "$SP" 2>/dev/null || true
start

rss() { awk '/^VmRSS/{print $2 * 1024}' "/proc/$SP/status"; }
metric() { curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1==m{printf "%d\n", $2}'; }
# Resolves identifiers FROM..TO-1 once each over REST (one wrk thread walks them in order;
# what it asks after the last one is a hit).
walk() {
  cat >"$W/walk.lua" <<LUA
local k = $1 - 1
request = function()
  k = k + 1
  if k >= $2 then k = $1 end
  return wrk.format('GET', string.format('/api/handles/$PREFIX/p%09d', k))
end
LUA
  local secs=$(( ($2 - $1) / 4000 + 2 ))
  taskset -c 0 wrk -t1 -c16 -d${secs}s -s "$W/walk.lua" "http://127.0.0.1:$PORT/" | grep -q "Non-2xx" \
    && { echo "idnode answered non-2xx" >&2; exit 1; }
  return 0
}
# The same identifiers over DNS (TXT), each once.
dns_walk() {
  for ((i = $1; i < $2; i++)); do printf 'p%09d.8.118.88.id.test. TXT\n' "$i"; done >"$W/queries"
  taskset -c 0 dnsperf -s 127.0.0.1 -p $DNSPORT -d "$W/queries" -n 1 -c 4 -q 64 >"$W/dnsperf" 2>&1
  awk '/Queries completed/{print $3}' "$W/dnsperf"
}

echo "== idnode cache memory: capacity $CAP_MIB MiB, $FILL then $ALL identifiers, $(date -u +%FT%TZ) =="
# A warm-up of 1,000 identifiers (buffers, thread caches), then the baseline.
walk 0 1000
R0=$(rss)
walk 1000 $((1000 + FILL))
sleep 1
R1=$(rss)
E1=$(metric idnode_cache_entries)
ANSWER=$(for i in $(seq 1000 $((FILL / 200)) $((1000 + FILL - 1))); do
  curl -s -o /dev/null -w '%{size_download}\n' "http://127.0.0.1:$PORT/api/handles/$PREFIX/p$(printf %09d "$i")"
done | awk '{s += $1; n++} END{printf "%d\n", s / n}')
PER=$(( (R1 - R0) / FILL ))
printf "REST: %d entries cached; resident memory +%d B per identifier; mean REST answer %d B -> %s x (goal <= 1.5)\n" \
  "$E1" "$PER" "$ANSWER" "$(python3 -c "print(f'{$PER/$ANSWER:.2f}')")"
ANSWERED=$(dns_walk 1000 $((1000 + FILL)))
sleep 1
R2=$(rss)
PER2=$(( (R2 - R0) / FILL ))
printf "REST + DNS: %s DNS answers; resident memory +%d B per identifier -> %s x the REST answer\n" \
  "$ANSWERED" "$PER2" "$(python3 -c "print(f'{$PER2/$ANSWER:.2f}')")"
walk 0 "$ALL"
sleep 1
R3=$(rss)
E3=$(metric idnode_cache_entries); B3=$(metric idnode_cache_bytes)
CAP=$((CAP_MIB * 1024 * 1024))
printf "full: %d entries, the cache counts %d B; resident memory +%d B over the baseline = %s x the capacity (goal <= 1)\n" \
  "$E3" "$B3" "$((R3 - R0))" "$(python3 -c "print(f'{($R3-$R0)/$CAP:.2f}')")"
