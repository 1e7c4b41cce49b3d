#!/usr/bin/env bash
# Bounded fuzzing for CI: every target for FUZZ_SECONDS (default 30) each, starting from the
# corpus in fuzz/corpus when one exists and the committed seeds in fuzz/seeds/<target>. A
# crash fails the run and leaves the input in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH=${FUZZ_SECONDS:-30}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked -q
export RUSTC_BOOTSTRAP=1
for target in $(cargo fuzz list); do
  echo "fuzz: $target for ${SECONDS_EACH}s"
  log=$(mktemp)
  dirs=("$PWD/corpus/$target")
  mkdir -p "corpus/$target"
  [ -d "seeds/$target" ] && dirs+=("$PWD/seeds/$target")
  if ! cargo fuzz run "$target" "${dirs[@]}" -- -max_total_time="$SECONDS_EACH" -print_final_stats=1 >"$log" 2>&1; then
    tail -60 "$log"
    exit 1
  fi
  grep -E "^Done" "$log"
  rm -f "$log"
done
