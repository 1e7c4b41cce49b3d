#!/usr/bin/env bash
# Bounded fuzzing for CI: every target for FUZZ_SECONDS (default 30) each, starting from the
# corpus in fuzz/corpus when one exists. A crash fails the run and leaves the input in
# fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH=${FUZZ_SECONDS:-30}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked -q
export RUSTC_BOOTSTRAP=1
for target in $(cargo fuzz list); do
  echo "fuzz: $target for ${SECONDS_EACH}s"
  log=$(mktemp)
  if ! cargo fuzz run "$target" -- -max_total_time="$SECONDS_EACH" -print_final_stats=1 >"$log" 2>&1; then
    tail -60 "$log"
    exit 1
  fi
  grep -E "^Done" "$log"
  rm -f "$log"
done
