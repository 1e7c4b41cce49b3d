#!/usr/bin/env bash
# Traceability on PostgreSQL, each figure beside its anchor in the same run (a throwaway
# cluster on core 0, idnode on core 1, the load generator on core 0):
# - capture: TREES generated genealogies (11,110 events each; `idnode-loadtest
#   epcis-generate`) posted to /epcis/capture as documents of 10,000 events, two in flight,
#   beside `\copy` of the same events as rows (type, time, action, bizStep, the event's
#   JSON) into a table with a primary key, on the same cluster; and, to split the cost,
#   the rows the capture wrote replayed by `\copy` into an empty copy of the schema;
# - trace: TRACES traces back from tree roots (each answer checked to hold all 11,111
#   nodes), then from gears (111 nodes each), through GET /epcis/trace, beside one
#   hand-written recursive SQL query per trace over the same tables (the reachable edges
#   with their eventIDs), same starts, same order. The node holds trace links in memory
#   (`[epcis] trace_cache_links`, here sized to hold every generated link): each tree's
#   first trace reads its links from PostgreSQL (printed as "first time", with the
#   node's resident memory before and after), the measured ones are answered from memory.
# Usage: loadtest/epcis.sh [TREES=90 (999,900 events)] [TRACES=200]
set -euo pipefail
export RUST_BACKTRACE=0 IDNODE_LOG=${IDNODE_LOG:-warn}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TREES=${1:-90}; TRACES=${2:-200}
PORT=18030; PGPORT=55437
cargo build --release -q -p idnode -p idnode-loadtest --manifest-path "$ROOT/Cargo.toml"
BIN=$ROOT/target/release
IDNODE=${IDNODE:-$BIN/idnode}
W=$(mktemp -d /tmp/idnode-epcis.XXXX)
. "$ROOT/loadtest/common.sh"
# PostgreSQL as the reference script runs it (../shared/bench/pg.sh, and loadtest/http.sh:
# shared_buffers 1 GB, fsync and synchronous commit on), and random_page_cost 1.1, the
# planner setting for data in memory or on SSD. Both sides of each comparison run on this
# cluster.
pg_start 0 $PGPORT "-c shared_buffers=1GB -c fsync=on -c synchronous_commit=on -c random_page_cost=1.1"
as_pg createdb -h 127.0.0.1 -p $PGPORT -U postgres idnode
DB="postgres://postgres@127.0.0.1:$PGPORT/idnode"
psql_() { as_pg psql -h 127.0.0.1 -p $PGPORT -U postgres -d idnode -qtA "$@"; }
now() { date +%s.%N; }
echo "== idnode traceability on PostgreSQL: $TREES trees ($((TREES * 11110)) events), $TRACES traces, $(date -u +%FT%TZ) =="
"$IDNODE" --database-url "$DB" init --node-prefix 88.118 >/dev/null 2>&1
SECRET=$("$IDNODE" --database-url "$DB" enterprise create --name gearbox --prefix 88.118.8 | awk '/^secret:/{print $2}')
"$BIN/idnode-loadtest" epcis-generate --dir "$W/gen" --trees "$TREES"
cat >"$W/idnode.toml" <<EOF
[epcis]
# Every generated link held: per tree 11,110 links under 11,111 keys (one unit each).
trace_cache_links = $((TREES * 23000))
EOF
taskset -c 1 "$IDNODE" --config "$W/idnode.toml" --database-url "$DB" serve --http 127.0.0.1:$PORT >"$W/node.log" 2>&1 &
SP=$!
rss_kib() { awk '/^VmRSS/{print $2}' "/proc/$SP/status"; }
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
ID=300:0.NA/88.118.8
# Each measured write starts from a checkpoint: none of them pays for writing out another's
# dirty pages.
psql_ -c "CHECKPOINT"
CAP=$(taskset -c 0 "$BIN/idnode-loadtest" epcis-capture --url "http://127.0.0.1:$PORT" --identity "$ID" --secret="$SECRET" --dir "$W/gen" | awk '/capture_events_per_s/{print $2}')
psql_ -c "CREATE TABLE anchor_events (id BIGSERIAL PRIMARY KEY, event_type TEXT, event_time TEXT, action TEXT, biz_step TEXT, body TEXT)"
chmod 644 "$W/gen/rows.csv"; chmod 755 "$W/gen"
psql_ -c "CHECKPOINT"
T0=$(now)
psql_ -c "\\copy anchor_events (event_type, event_time, action, biz_step, body) FROM '$W/gen/rows.csv' CSV"
T1=$(now)
ROWS=$(psql_ -c "SELECT count(*) FROM anchor_events")
COPY=$(python3 -c "print(f'{$ROWS/($T1-$T0):.0f}')")
# What PostgreSQL alone takes to write what the capture wrote: the node's own rows of
# epcis_events and epcis_keys, copied out and COPYed into an empty database with the same
# schema (migrated by idnode), on the same cluster. Not a target: it splits the capture's
# cost between the node and its tables.
psql_ -c "\\copy epcis_captures TO '$W/captures.copy'"
psql_ -c "\\copy (SELECT * FROM epcis_events ORDER BY id) TO '$W/events.copy'"
psql_ -c "\\copy epcis_keys TO '$W/keys.copy'"
as_pg createdb -h 127.0.0.1 -p $PGPORT -U postgres replay
"$IDNODE" --database-url "postgres://postgres@127.0.0.1:$PGPORT/replay" init --node-prefix 88.118 >/dev/null 2>&1
replay_() { as_pg psql -h 127.0.0.1 -p $PGPORT -U postgres -d replay -qtA "$@"; }
replay_ -c "\\copy epcis_captures FROM '$W/captures.copy'"
replay_ -c "CHECKPOINT"
T2=$(now)
replay_ -c "\\copy epcis_events FROM '$W/events.copy'"
replay_ -c "\\copy epcis_keys FROM '$W/keys.copy'"
T3=$(now)
REPLAY=$(python3 -c "print(f'{$ROWS/($T3-$T2):.0f}')")
echo "capture (/epcis/capture, 2 documents in flight): $CAP events/s"
echo "anchor \\copy of the same $ROWS events as rows:   $COPY rows/s"
echo "ratio capture / \\copy: $(python3 -c "print(f'{$CAP/$COPY:.3f}')") (target >= 0.3)"
echo "the node's own rows (events and keys) replayed by \\copy: $REPLAY events/s, $(python3 -c "print(f'{$REPLAY/$COPY:.3f}')") of the anchor; capture is $(python3 -c "print(f'{$CAP/$REPLAY:.3f}')") of it"
psql_ -c "VACUUM ANALYZE"
p99() { echo "$1" | awk '{for(i=1;i<=NF;i++) if($i=="p99") print $(i+1)}'; }
R0=$(rss_kib)
FIRST=$(taskset -c 0 "$BIN/idnode-loadtest" epcis-trace --url "http://127.0.0.1:$PORT" --identity "$ID" --secret="$SECRET" --trees "$TREES" --requests "$TREES" --from root)
R1=$(rss_kib)
echo "trace back from a root, first time per tree (links read from PostgreSQL): $FIRST"
echo "node resident memory $((R0 / 1024)) MiB -> $((R1 / 1024)) MiB holding $((TREES * 11110)) links: $(( (R1 - R0) * 1024 / (TREES * 11110) )) bytes per link"
for FROM in root gear; do
  # Warm both the same way: ten traces each, not measured.
  taskset -c 0 "$BIN/idnode-loadtest" epcis-trace --url "http://127.0.0.1:$PORT" --identity "$ID" --secret="$SECRET" --trees "$TREES" --requests 10 --from $FROM >/dev/null
  taskset -c 0 "$BIN/idnode-loadtest" epcis-sql --database "$DB" --trees "$TREES" --requests 10 --from $FROM >/dev/null
  TR=$(taskset -c 0 "$BIN/idnode-loadtest" epcis-trace --url "http://127.0.0.1:$PORT" --identity "$ID" --secret="$SECRET" --trees "$TREES" --requests "$TRACES" --from $FROM)
  SQ=$(taskset -c 0 "$BIN/idnode-loadtest" epcis-sql --database "$DB" --trees "$TREES" --requests "$TRACES" --from $FROM)
  echo "trace back from a $FROM (GET /epcis/trace, links held): $TR"
  echo "anchor, one recursive SQL query:        $SQ"
  echo "ratio trace / recursive SQL at p99: $(python3 -c "print(f'{$(p99 "$TR")/$(p99 "$SQ"):.2f}')") (target <= 2; trace p99 target <= 50 ms)"
done
