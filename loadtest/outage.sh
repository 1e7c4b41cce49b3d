#!/usr/bin/env bash
# A long database outage under load: idnode on PostgreSQL serves N identifiers on REST
# (wrk), the Handle protocol (UDP, idnode-loadtest handle) and DNS (dnsperf) for the whole
# run; OUTAGE seconds of it PostgreSQL is stopped. Cached answers must keep flowing (past
# their max_age, 60 s here: stale ones counted in idnode_cache_stale_answers_total), and
# afterwards the node must take writes again without a restart. Every load runs flat out
# on core 0, the node on core 1, PostgreSQL unpinned.
# Usage: loadtest/outage.sh [OUTAGE=600] [N=10000]
set -euo pipefail
export RUST_BACKTRACE=0 IDNODE_LOG=${IDNODE_LOG:-warn}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUTAGE=${1:-600}; N=${2:-10000}
BEFORE=30; AFTER=30; RUN=$((BEFORE + OUTAGE + AFTER))
PORT=18050; HPORT=12650; DPORT=15350; PGPORT=55439
command -v dnsperf >/dev/null || { apt-get update -qq; apt-get install -y -qq dnsperf >/dev/null; }
cargo build --release -q -p idnode -p idnode-loadtest --manifest-path "$ROOT/Cargo.toml"
BIN=$ROOT/target/release
IDNODE=${IDNODE:-$BIN/idnode}
W=$(mktemp -d /tmp/idnode-outage.XXXX)
. "$ROOT/loadtest/common.sh"
pg_start 0 $PGPORT
pg_db $PGPORT
cat >"$W/idnode.toml" <<CONF
[secrets]
seal_key_file = "$W/keys/seal.key"
server_key_file = "$W/keys/server.key"
[cache]
max_age_secs = 60
[dns]
responses_per_second = 0
CONF
"$IDNODE" --config "$W/idnode.toml" --database-url "$DB" init --node-prefix 88.100 >/dev/null
SECRET=$("$IDNODE" --config "$W/idnode.toml" --database-url "$DB" enterprise create --name bench --prefix 88.100.1 | awk '/^secret:/{print $2}')
taskset -c 1 "$IDNODE" --config "$W/idnode.toml" --database-url "$DB" serve --http 127.0.0.1:$PORT \
  --handle 127.0.0.1:$HPORT --dns 127.0.0.1:$DPORT --dns-zone id. >"$W/node.log" 2>&1 &
SP=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
metric() { curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1==m{print $2}'; }
echo "== idnode through a ${OUTAGE}s PostgreSQL outage under load: $N identifiers, $(date -u +%FT%TZ) =="
taskset -c 0 "$BIN/idnode-loadtest" bulk --url "http://127.0.0.1:$PORT" --identity 300:0.NA/88.100.1 \
  --secret="$SECRET" --prefix 88.100.1 --count "$N" --batch 1000 >/dev/null
"$BIN/idnode-loadtest" paths --prefix 88.100.1 --count "$N" >"$W/paths.lua"
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
# Every identifier answered once on each front end: all cached before the outage.
taskset -c 0 dnsperf -s 127.0.0.1 -p $DPORT -d "$W/all" -n 1 -c 4 >/dev/null 2>&1
taskset -c 0 wrk -t1 -c8 -d5s -s "$W/paths.lua" "http://127.0.0.1:$PORT/" >/dev/null
taskset -c 0 "$BIN/idnode-loadtest" handle --addr 127.0.0.1:$HPORT --prefix 88.100.1 --count "$N" --seconds 5 >/dev/null
STALE0=$(metric idnode_cache_stale_answers_total); STALE0=${STALE0:-0}

taskset -c 0 wrk -t1 -c8 -d${RUN}s -s "$W/paths.lua" "http://127.0.0.1:$PORT/" >"$W/wrk.out" 2>&1 &
WP=$!
taskset -c 0 "$BIN/idnode-loadtest" handle --addr 127.0.0.1:$HPORT --prefix 88.100.1 --count "$N" \
  --concurrency 8 --seconds $RUN >"$W/handle.out" 2>&1 &
HP=$!
taskset -c 0 dnsperf -s 127.0.0.1 -p $DPORT -d "$W/queries" -l $RUN -c 4 -Q 2000 >"$W/dns.out" 2>&1 &
DP=$!
sleep $BEFORE
as_pg pg_ctl -D "$PGDATA" stop -m fast >/dev/null
T0=$(date +%s)
echo "PostgreSQL stopped at $(date -u +%T)"
sleep 5
W_DOWN=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -u "300:0.NA/88.100.1:$SECRET" -H 'content-type: application/json' \
  -d '{"values":[{"index":1,"type":"URL","data":"https://x"}]}' "http://127.0.0.1:$PORT/api/handles/88.100.1/DURING")
UP_DOWN=$(metric idnode_database_up)
sleep $((OUTAGE - 5))
taskset -c 0 runuser -u postgres -- pg_ctl -D "$PGDATA" -o "-p $PGPORT -k $W" -l "$W/pg.log" start >/dev/null
echo "PostgreSQL started at $(date -u +%T) ($(( $(date +%s) - T0 )) s down)"
STALE1=$(metric idnode_cache_stale_answers_total)
wait $WP $DP || true
HANDLE_OK=0; wait $HP && HANDLE_OK=1 || true
# Recovered by itself: a write is taken, readiness is back.
W_AFTER=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -u "300:0.NA/88.100.1:$SECRET" -H 'content-type: application/json' \
  -d '{"values":[{"index":1,"type":"URL","data":"https://x"}]}' "http://127.0.0.1:$PORT/api/handles/88.100.1/AFTER")
READY=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz")
echo
echo "REST (wrk, 8 connections):"; grep -E "Requests/sec|requests in|Non-2xx|Socket errors" "$W/wrk.out" | sed 's/^/  /'
echo "Handle UDP (8 clients):"; sed 's/^/  /' "$W/handle.out"
echo "DNS (dnsperf, 2,000 queries/s):"; grep -E "Queries sent|Queries completed|Queries lost|Response codes" "$W/dns.out" | sed 's/^/  /'
echo "during the outage: a write answered $W_DOWN, idnode_database_up $UP_DOWN"
echo "stale answers served (idnode_cache_stale_answers_total): $(python3 -c "print(int(float('$STALE1') - float('$STALE0')))")"
echo "after the outage, without a restart: a write answered $W_AFTER, /readyz $READY; Handle load exited cleanly: $HANDLE_OK"
