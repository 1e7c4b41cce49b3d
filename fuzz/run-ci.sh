#!/usr/bin/env bash
# Bounded fuzzing for CI: every target for FUZZ_SECONDS (default 15) each, two at a time (CI
# has two cores), starting from the corpus in fuzz/corpus when one exists and the committed
# seeds in fuzz/seeds/<target>. A crash fails the run and leaves the input in
# fuzz/artifacts/<target>/.
# Without AddressSanitizer (`-s none`): the project has no `unsafe`, the targets look for
# panics, overflows (debug assertions are on) and hangs, and the build takes 5 minutes
# instead of 7 of CI's 30. `cargo fuzz run TARGET` (with ASan) remains the local default.
set -euo pipefail
cd "$(dirname "$0")"
export SECONDS_EACH=${FUZZ_SECONDS:-15}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked -q
export RUSTC_BOOTSTRAP=1
# Build every target once, so that the parallel runs below only run.
cargo fuzz build -s none

fuzz_one() {
  local target=$1 log
  log=$(mktemp)
  local dirs=("$PWD/corpus/$target")
  mkdir -p "corpus/$target"
  [ -d "seeds/$target" ] && dirs+=("$PWD/seeds/$target")
  if ! cargo fuzz run -s none "$target" "${dirs[@]}" -- -max_total_time="$SECONDS_EACH" -print_final_stats=1 >"$log" 2>&1; then
    echo "fuzz: $target FAILED" >&2
    tail -60 "$log" >&2
    rm -f "$log"
    return 1
  fi
  echo "fuzz: $target ${SECONDS_EACH}s: $(grep -E '^Done' "$log")"
  rm -f "$log"
}
export -f fuzz_one
cargo fuzz list | xargs -P 2 -I{} bash -c 'fuzz_one "$@"' _ {}
