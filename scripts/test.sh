#!/usr/bin/env bash
# Runs every test of the project: formatting and lints, the Rust unit and
# integration tests, the compatibility suites that compare zk-server with Apache
# ZooKeeper side by side (Apache's zkCli, kazoo's own test suite), and the
# end-to-end suite of the operator on a real local Kubernetes (scripts/e2e.sh).
# Installs what it needs first (scripts/deps.sh). Usage: scripts/test.sh
set -euo pipefail
source "$(dirname "$0")/lib/env.sh"

step() { printf '\n==== %s ====\n' "$*"; }

step "dependencies"
venv="$(scripts/deps.sh | tail -n 1)"

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings

step "Rust tests"
# zk-e2e needs a cluster: scripts/e2e.sh runs it at the end.
cargo test --workspace --exclude zk-e2e -- --include-ignored

step "build zk-server"
cargo build -p zk-server --bin zk-server
export ZK_SERVER_BIN="$CARGO_TARGET_DIR/debug/zk-server"

step "compatibility with Apache ZooKeeper (zkCli, four-letter words)"
"$venv/bin/python" -m pytest -p no:cacheprovider -q compat

step "kazoo's test suite against zk-server"
KAZOO_CLUSTER_SIZE=1 KAZOO_EXCLUDE="$root/compat/kazoo/excluded-single-server.txt" \
  compat/kazoo/run.sh ours

step "end-to-end suite on a local Kubernetes"
scripts/e2e.sh
