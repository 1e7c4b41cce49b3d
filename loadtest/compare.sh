#!/usr/bin/env bash
# Two idnode builds compared back to back on this machine, in alternation, so that the
# machine's drift (which moves every reference system by tens of percent between runs) falls
# on both alike. Both servers hold the same COUNT identifiers on SQLite (server on core 1,
# load on core 0, as in http.sh and handle.sh); after their caches are warm, ROUNDS rounds
# each measure A then B: cached REST GET (wrk, 64 connections, 10 s) and cached Handle
# resolution over UDP and over TCP (idnode-loadtest, 64 clients, 10 s each). Bulk
# registration is timed once per build while loading. The load generator is this tree's
# release build.
# Usage: loadtest/compare.sh A_IDNODE B_IDNODE [COUNT=100000] [ROUNDS=4]
set -euo pipefail
export RUST_BACKTRACE=0
ROOT=$(cd "$(dirname "$0")/.." && pwd)
A=$1; B=$2; N=${3:-100000}; R=${4:-4}
command -v wrk >/dev/null || { apt-get update -qq; apt-get install -y -qq wrk >/dev/null; }
cargo build --release -q -p idnode-loadtest --manifest-path "$ROOT/Cargo.toml"
L=$ROOT/target/release/idnode-loadtest
W=$(mktemp -d /tmp/idnode-cmp.XXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT

start() { # $1 binary, $2 name, $3 HTTP port (Handle: port + 1000): starts and loads it
  local db="sqlite://$W/$2/idnode.db" secret
  mkdir -p "$W/$2"
  if curl -sf "http://127.0.0.1:$3/healthz" >/dev/null; then echo "port $3 is taken by another server" >&2; exit 1; fi
  "$1" --database-url "$db" init --node-prefix 88.100 >/dev/null 2>&1
  secret=$("$1" --database-url "$db" enterprise create --name bench --prefix 88.100.1 2>/dev/null | awk '/^secret:/{print $2}')
  IDNODE_LOG=warn taskset -c 1 "$1" --database-url "$db" serve --http "127.0.0.1:$3" --handle "127.0.0.1:$(($3 + 1000))" >/dev/null 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$3/healthz" >/dev/null && break; sleep 0.1; done
  echo "$2 bulk registration, ids/s: $(taskset -c 0 "$L" bulk --url "http://127.0.0.1:$3" --identity 300:0.NA/88.100.1 \
    --secret="$secret" --prefix 88.100.1 --count "$N" | awk '/bulk_ids_per_s/{print $2}')"
}
misses() { curl -s "http://127.0.0.1:$1/metrics" | awk '/^idnode_cache_lookups_total\{result="miss"\}/{print $2}'; }
warm() { # $1 HTTP port: 5 s rounds until one meets fewer than N/1000 misses (at most 10)
  local before
  for _ in $(seq 10); do
    before=$(misses "$1")
    taskset -c 0 wrk -t1 -c64 -d5s -s "$W/paths.lua" "http://127.0.0.1:$1/" >/dev/null
    [ $(( $(misses "$1") - before )) -lt $((N / 1000)) ] && break
  done
}
rest() { # $1 HTTP port
  local out; out=$(taskset -c 0 wrk -t1 -c64 -d10s --latency -s "$W/paths.lua" "http://127.0.0.1:$1/")
  echo "$(echo "$out" | awk '/Requests\/sec/{print $2}') req/s, p99 $(echo "$out" | awk '$1=="99%"{print $2}')"
}
handle() { # $1 HTTP port, $2 udp or tcp
  local out; out=$(taskset -c 0 "$L" handle --addr "127.0.0.1:$(($1 + 1000))" --prefix 88.100.1 --count "$N" \
    --concurrency 64 --transport "$2" --seconds 10)
  echo "$(echo "$out" | awk -v k="handle_$2_rps" '$1==k{print $2}') req/s, p99 $(echo "$out" | awk '$1=="p99"{print $2}')"
}

echo "== A: $A"; echo "== B: $B"; echo "== $N identifiers, $R rounds, $(date -u +%FT%TZ) =="
start "$A" A 18100
start "$B" B 18200
"$L" paths --prefix 88.100.1 --count "$N" > "$W/paths.lua"
warm 18100; warm 18200
for r in $(seq "$R"); do
  echo "round $r  REST  A $(rest 18100)   B $(rest 18200)"
  echo "round $r  UDP   A $(handle 18100 udp)   B $(handle 18200 udp)"
  echo "round $r  TCP   A $(handle 18100 tcp)   B $(handle 18200 tcp)"
done
