#!/usr/bin/env bash
# Two idnode instances on one PostgreSQL: RATE identifier writes a second through instance
# A (1,000 identifiers in turn; BATCH=1: a PUT each, more: batches of BATCH updates through
# /api/v1/identifiers/batch), and for every 10th request the time from A's acknowledgement
# until B answers the new value (B polled every 0.2 ms). Beside it, in the same run and on
# the same cluster, the same measurement on PostgreSQL alone: transactions inserting BATCH
# rows at the same rate, the time from a commit's return until another connection, polling
# likewise, reads the row. PostgreSQL and the load generator on core 0, both instances on
# core 1.
# Usage: loadtest/instances.sh [RATE=1000] [SECONDS=30] [BATCH=1]
set -euo pipefail
export RUST_BACKTRACE=0 IDNODE_LOG=${IDNODE_LOG:-warn}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RATE=${1:-1000}; SECS=${2:-30}; BATCH=${3:-1}
PA=18040; PB=18041; PGPORT=55438
cargo build --release -q -p idnode -p idnode-loadtest --manifest-path "$ROOT/Cargo.toml"
BIN=$ROOT/target/release
IDNODE=${IDNODE:-$BIN/idnode}
W=$(mktemp -d /tmp/idnode-instances.XXXX)
. "$ROOT/loadtest/common.sh"
SPB=""
trap 'cleanup; [ -n "$SPB" ] && kill "$SPB" 2>/dev/null; true' EXIT
pg_start 0 $PGPORT "-c shared_buffers=1GB -c fsync=on -c synchronous_commit=on"
pg_db $PGPORT
cat >"$W/idnode.toml" <<CONF
[secrets]
seal_key_file = "$W/keys/seal.key"
server_key_file = "$W/keys/server.key"
CONF
echo "== two idnode instances on one PostgreSQL: $RATE writes/s ($BATCH per request) for $SECS s, $(date -u +%FT%TZ) =="
"$IDNODE" --config "$W/idnode.toml" --database-url "$DB" init --node-prefix 88.118 >/dev/null
SECRET=$("$IDNODE" --config "$W/idnode.toml" --database-url "$DB" enterprise create --name gearbox --prefix 88.118.8 | awk '/^secret:/{print $2}')
taskset -c 1 "$IDNODE" --config "$W/idnode.toml" --database-url "$DB" serve --http 127.0.0.1:$PA --handle 127.0.0.1:$((PA + 100)) >"$W/a.log" 2>&1 &
SP=$!
taskset -c 1 "$IDNODE" --config "$W/idnode.toml" --database-url "$DB" serve --http 127.0.0.1:$PB --handle 127.0.0.1:$((PB + 100)) >"$W/b.log" 2>&1 &
SPB=$!
for p in $PA $PB; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$p/healthz" >/dev/null && break; sleep 0.1; done
done
taskset -c 0 "$BIN/idnode-loadtest" invalidation --a "http://127.0.0.1:$PA" --b "http://127.0.0.1:$PB" \
  --identity 300:0.NA/88.118.8 --secret="$SECRET" --prefix 88.118.8 --database "$DB" \
  --rate "$RATE" --seconds "$SECS" --batch "$BATCH" | tee "$W/out"
awk '/^invalidation_p99_ms/{i=$2} /^anchor_p99_ms/{n=$2} END{printf "p99 idnode (A acknowledged, B answers) / PostgreSQL alone (committed, read by another connection): %.1f (target: idnode p99 <= 100 ms)\n", i/n}' "$W/out"
