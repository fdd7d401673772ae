#!/usr/bin/env bash
# Fuzzes zk-server's decoders with cargo fuzz (libFuzzer): a client's bytes
# (frames, the connect handshake, every request), committed commands, snapshots,
# configuration text, peer messages and log segments (fuzz/fuzz_targets/).
# Each target runs for the given seconds (default 60), starting from the seeds
# captured from real traffic (fuzz/seeds/, see fuzz/seeds/capture.py) and the
# corpus earlier runs grew (kept in the cache). Builds with the stable toolchain
# (no sanitizer needs nightly's flags); installs cargo-fuzz into the cache. A crash
# fails the run and leaves its input under fuzz/artifacts/<target>/: make it a
# regression test.
#
#   scripts/fuzz.sh [seconds per target] [target...]
#   scripts/fuzz.sh build        (install and build only)
set -euo pipefail
source "$(dirname "$0")/lib/env.sh"

seconds="${1:-60}"
shift || true
cargo_fuzz_version=0.13.1
tools="$cache_dir/cargo-fuzz-$cargo_fuzz_version"
if [[ ! -x "$tools/bin/cargo-fuzz" ]]; then
  cargo install --locked cargo-fuzz --version "$cargo_fuzz_version" --root "$tools"
fi
export PATH="$tools/bin:$PATH"

cd "$root/fuzz"
# Its own target directory: libFuzzer's instrumentation rebuilds everything.
export CARGO_TARGET_DIR="$cache_dir/fuzz-target-$(rustc --version | cut -d' ' -f2)"
targets=("$@")
((${#targets[@]})) || mapfile -t targets < <(cargo fuzz list)
# No sanitizer (the code under test has no unsafe block of its own) and debug assertions on:
# overflow and the other assertions count as crashes.
nice cargo fuzz build -s none -a
[[ $seconds != build ]] || exit 0

failed=()
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
for target in "${targets[@]}"; do
  corpus="$cache_dir/fuzz-corpus/$target"
  mkdir -p "$corpus"
  seeds=()
  [[ -d seeds/$target ]] && seeds=("seeds/$target")
  echo "==== fuzz $target: ${seconds}s"
  rc=0
  cargo fuzz run -s none -a "$target" "$corpus" "${seeds[@]}" -- \
    -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1 || rc=$?
  grep -E "^Done|panicked|ERROR|SUMMARY|Test unit written" "$log" || true
  if ((rc != 0)); then
    tail -n 40 "$log"
    failed+=("$target")
  fi
done
if ((${#failed[@]})); then
  echo "fuzz: crashes in ${failed[*]} (inputs under fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no crash"
