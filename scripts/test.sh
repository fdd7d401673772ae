#!/usr/bin/env bash
# Runs every test of the project: formatting and lints, the Rust unit and
# integration tests, the compatibility suites that compare zk-server with Apache
# ZooKeeper side by side (Apache's zkCli, kazoo's own test suite), a short run of
# every fuzz target (scripts/fuzz.sh), the chart's rendering (scripts/chart.sh), and the end-to-end suite of the operator
# on a real local Kubernetes (scripts/e2e.sh).
# Installs what it needs first (scripts/deps.sh). Usage: scripts/test.sh
set -euo pipefail
source "$(dirname "$0")/lib/env.sh"

step() { printf '\n==== %s ====\n' "$*"; }

step "dependencies"
venv="$(scripts/deps.sh | tail -n 1)"

# The cluster's binaries (Kubernetes from its Go modules) take the longest to
# build cold: build them in the background, at low priority, while the Rust
# build and the compatibility suites run; the e2e step waits for them.
step "cluster binaries and images: building in the background"
mkdir -p "$cache_dir"
cluster_log="$cache_dir/cluster-build.log"
setsid bash -c 'nice e2e/cluster/cluster.sh build && nice images/build.sh zookeeper' \
  >"$cluster_log" 2>&1 &
cluster_build=$!
trap 'kill -- -"$cluster_build" 2>/dev/null || true' EXIT

step "format and lints"
cargo fmt --all -- --check
(cd fuzz && cargo fmt -- --check)
cargo clippy --workspace --all-targets -- -D warnings
(cd robustness/checker && gofmt -l . | (! grep .) && go vet ./...)

step "Rust tests"
# zk-e2e needs a cluster: scripts/e2e.sh runs it at the end.
cargo test --workspace --exclude zk-e2e -- --include-ignored
(cd robustness/checker && go test ./...)

step "build zk-server"
cargo build -p zk-server --bin zk-server
export ZK_SERVER_BIN="$CARGO_TARGET_DIR/debug/zk-server"

# kazoo's suite mostly waits on its servers: it runs in the background, beside the
# compatibility tests and the e2e suite (its ports, 20000 and up, are its own).
step "kazoo's test suite against a three-member zk-server ensemble (kazoo's own harness): started in the background"
kazoo_log="$cache_dir/kazoo.log"
KAZOO_CLUSTER_SIZE=3 KAZOO_EXCLUDE="$root/compat/kazoo/excluded.txt" setsid compat/kazoo/run.sh ours \
  >"$kazoo_log" 2>&1 &
kazoo=$!
trap 'kill -- -"$cluster_build" -"$kazoo" 2>/dev/null || true' EXIT

# What scripts/e2e.sh builds first (the operator, the e2e tests) builds while the
# compatibility tests mostly wait on Java; e2e.sh then finds it built.
step "zk-operator and the e2e tests: building in the background"
e2e_build_log="$cache_dir/e2e-build.log"
(nice cargo build -p zk-operator --bin zk-operator && nice cargo test -p zk-e2e --no-run) \
  >"$e2e_build_log" 2>&1 &
e2e_build=$!

# The fuzz targets' libFuzzer build, too.
fuzz_build_log="$cache_dir/fuzz-build.log"
nice scripts/fuzz.sh build >"$fuzz_build_log" 2>&1 &
fuzz_build=$!

step "compatibility with Apache ZooKeeper (zkCli, four-letter words)"
"$venv/bin/python" -m pytest -p no:cacheprovider -q compat

step "fuzzing: every target for ${FUZZ_SECONDS:-10}s from its seeds and earlier corpus (scripts/fuzz.sh)"
wait "$fuzz_build" || cat "$fuzz_build_log"
scripts/fuzz.sh "${FUZZ_SECONDS:-10}"

step "zk-operator and the e2e tests: waiting for the background build"
e2e_build_rc=0
wait "$e2e_build" || e2e_build_rc=$?
cat "$e2e_build_log"
echo "background build exit status: $e2e_build_rc (scripts/e2e.sh builds whatever is missing)"

step "cluster binaries and images: waiting for the background build"
cluster_rc=0
wait "$cluster_build" || cluster_rc=$?
cat "$cluster_log"
echo "background build exit status: $cluster_rc (scripts/e2e.sh builds whatever is missing)"

step "the Helm chart: lint and the dashboard's ConfigMap (scripts/chart.sh)"
scripts/chart.sh

step "end-to-end suite on a local Kubernetes"
e2e_rc=0
scripts/e2e.sh || e2e_rc=$?

step "kazoo's test suite: waiting for it"
kazoo_rc=0
wait "$kazoo" || kazoo_rc=$?
cat "$kazoo_log"
echo "kazoo exit status: $kazoo_rc; e2e exit status: $e2e_rc"
((kazoo_rc == 0 && e2e_rc == 0))
