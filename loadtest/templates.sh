#!/usr/bin/env bash
# Bulk registration against a 10-item metadata template, beside the same registration without
# one, measured in the same run (idnode on core 1, the load generator on core 0, SQLite or PostgreSQL):
# each round starts a fresh node with two enterprises, defines the template
# (`idnode-loadtest template`: string, pattern, integer and number ranges, enum, date, URL,
# GS1 check digit, e-mail, boolean) under the second, and registers COUNT identifiers
# through POST /api/v1/identifiers/batch for each: the same ten item values, once naming no
# template (88.100.1) and once naming it at index 1001 (88.100.2), in alternating order from
# round to round, after an unmeasured warm-up load of COUNT/10 (the first load into a fresh
# node ran faster second than first either way). Prints both rates per round and the median
# ratio.
# Usage: loadtest/templates.sh [COUNT=100000] [ROUNDS=3] [UNIQUE=0|1 (serial number unique)]
#        [BACKEND=sqlite|postgres (a throwaway cluster on core 0, a database per round)]
set -euo pipefail
export RUST_BACKTRACE=0 IDNODE_LOG=${IDNODE_LOG:-warn}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-100000}; R=${2:-3}; UNIQUE=${3:-0}; BACKEND=${4:-sqlite}
PORT=18020
cargo build --release -q -p idnode -p idnode-loadtest --manifest-path "$ROOT/Cargo.toml"
BIN=$ROOT/target/release
IDNODE=${IDNODE:-$BIN/idnode}
W=$(mktemp -d /tmp/idnode-tpl.XXXX)
. "$ROOT/loadtest/common.sh"
PGPORT=55436
[ "$BACKEND" = postgres ] && pg_start 0 $PGPORT
db_url() { # $1 round
  case $BACKEND in
    sqlite) echo "sqlite://$W/$1/idnode.db" ;;
    postgres) as_pg createdb -h 127.0.0.1 -p $PGPORT -U postgres "r$1"
              echo "postgres://postgres@127.0.0.1:$PGPORT/r$1" ;;
  esac
}

secret_of() { "$IDNODE" --database-url "$1" enterprise create --name "$2" --prefix "$3" | awk '/^secret:/{print $2}'; }
bulk() { # $1 prefix, $2 secret, $3 count, rest: extra flags; prints ids/s
  taskset -c 0 "$BIN/idnode-loadtest" bulk --url "http://127.0.0.1:$PORT" --identity "300:0.NA/$1" \
    --secret="$2" --prefix "$1" --count "$3" "${@:4}" | awk '/bulk_ids_per_s/{print $2}'
}
echo "== idnode bulk registration with and without a 10-item template: $N identifiers, $R rounds, unique serial: $UNIQUE, $BACKEND, $(date -u +%FT%TZ) =="
printf "%-6s %-16s %-22s %s\n" round order "no template, ids/s" "template, ids/s -> ratio"
RATIOS=()
for r in $(seq "$R"); do
  mkdir -p "$W/$r"; DB=$(db_url "$r")
  "$IDNODE" --database-url "$DB" init --node-prefix 88.100 >/dev/null 2>&1
  S1=$(secret_of "$DB" plain 88.100.1); S2=$(secret_of "$DB" templated 88.100.2)
  S3=$(secret_of "$DB" warm-up 88.100.3)
  FLAG=(); [ "$UNIQUE" = 1 ] && FLAG=(--unique)
  "$BIN/idnode-loadtest" template --prefix 88.100.2 --version bench-1 "${FLAG[@]}" > "$W/$r/template.json"
  "$IDNODE" --database-url "$DB" template define "$W/$r/template.json" >/dev/null
  IDNODE_LOG=warn taskset -c 1 "$IDNODE" --database-url "$DB" serve --http 127.0.0.1:$PORT >/dev/null 2>&1 &
  SP=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
  # A first load of a tenth as many warms the node and the database file; not measured.
  bulk 88.100.3 "$S3" $((N / 10)) --items >/dev/null
  if [ $((r % 2)) = 1 ]; then
    ORDER="plain first"; A=$(bulk 88.100.1 "$S1" "$N" --items); B=$(bulk 88.100.2 "$S2" "$N" --template bench-1)
  else
    ORDER="template first"; B=$(bulk 88.100.2 "$S2" "$N" --template bench-1); A=$(bulk 88.100.1 "$S1" "$N" --items)
  fi
  kill "$SP"; wait "$SP" 2>/dev/null || true; SP=""
  RATIOS+=("$(python3 -c "print(f'{$B/$A:.3f}')")")
  printf "%-6s %-16s %-22s %s\n" "$r" "$ORDER" "$A" "$B -> ${RATIOS[-1]}"
done
echo "median ratio (template / no template): $(python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "${RATIOS[@]}") (target >= 0.9)"
