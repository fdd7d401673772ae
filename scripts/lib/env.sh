# Sourced by the scripts in scripts/: the repository root, the cache directory for
# heavy builds (ZK_CACHE_DIR), and a Cargo target directory inside it keyed by the
# Rust version, so that a later run on the same machine rebuilds only what changed. Cargo's incremental
# caches are off: they doubled the directory (21 of 32 GB) on a disk the test cluster's kubelet also
# watches (it evicts pods when the disk runs low), and a test build gains little from them.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache_dir="${ZK_CACHE_DIR:-$HOME/.cache/zkops}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache_dir/cargo-target-$(rustc --version | cut -d' ' -f2)}"
export CARGO_INCREMENTAL=0
export CARGO_TERM_COLOR=never
cd "$root"
