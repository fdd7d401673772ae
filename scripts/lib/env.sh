# Sourced by the scripts in scripts/: the repository root, the cache directory for
# heavy builds (ZK_CACHE_DIR), and a Cargo target directory inside it keyed by the
# Rust version, so that a later run on the same machine builds incrementally.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache_dir="${ZK_CACHE_DIR:-$HOME/.cache/zkops}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache_dir/cargo-target-$(rustc --version | cut -d' ' -f2)}"
export CARGO_TERM_COLOR=never
cd "$root"
