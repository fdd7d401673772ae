#!/usr/bin/env bash
# Runs every test of the project: formatting and lints, the Rust unit and
# integration tests, the compatibility suites that compare zk-server with Apache
# ZooKeeper side by side (Apache's zkCli, kazoo's own test suite), a short run of
# every fuzz target (scripts/fuzz.sh), the chart's rendering (scripts/chart.sh), the Dockerfile's images built with
# a Docker engine and run (images/docker-test.sh), and the end-to-end suite of the operator on a real local
# Kubernetes (scripts/e2e.sh), and its Native scale-under-load scenario on a kind cluster (one control plane, three
# workers; ZK_CLUSTER_BACKEND=kind scripts/e2e.sh).
# Installs what it needs first (scripts/deps.sh). Usage: scripts/test.sh
set -euo pipefail
source "$(dirname "$0")/lib/env.sh"

step() { printf '\n==== [%s] %s ====\n' "$(date -u +%H:%M:%S)" "$*"; }

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

# The end-to-end suite is the longest step and mostly waits on pods and the API server: what it needs is built
# first, so that it runs in the background from here on, beside everything else. One package a build (building
# both binaries in one invocation unifies their dependencies' features and rebuilds both). Its test executables
# are listed for scripts/e2e.sh, which then builds nothing: a build of its own would wait for Cargo's lock on the
# target directory, held for minutes by the Rust tests' build below.
step "build zk-server, zk-operator and the e2e tests"
cargo build -p zk-server --bin zk-server
export ZK_SERVER_BIN="$CARGO_TARGET_DIR/debug/zk-server"
cargo build -p zk-operator --bin zk-operator
e2e_tests="$cache_dir/e2e-tests.list"
cargo test -p zk-e2e --no-run --message-format=json-render-diagnostics |
  grep -o '"executable":"[^"]*"' | cut -d'"' -f4 >"$e2e_tests"

# Once the cluster's binaries are built (cold, the longest build), scripts/e2e.sh; its output is printed after
# the other steps. Every scenario but the Native scale under load, which runs on kind (below).
kind_scenario=s6_ab_native
step "end-to-end suite on a local Kubernetes: started in the background"
e2e_log="$cache_dir/e2e.log"
cluster_build="$cluster_build" kind_scenario="$kind_scenario" ZK_E2E_TESTS="$e2e_tests" setsid bash -c '
  while kill -0 "$cluster_build" 2>/dev/null; do sleep 5; done
  exec scripts/e2e.sh --skip "$kind_scenario"' >"$e2e_log" 2>&1 &
e2e=$!
trap 'kill -- -"$cluster_build" -"$e2e" 2>/dev/null || true' EXIT

step "Rust tests"
# zk-e2e needs a cluster: scripts/e2e.sh runs it. Niced: the end-to-end suite's cluster comes first.
nice cargo test --workspace --exclude zk-e2e -- --include-ignored
(cd robustness/checker && go test ./...)

# The Dockerfile's images, built and tested on the project's own Docker engine; warm, BuildKit's cache
# mounts leave little to compile. In the background, niced; its output is printed after the other steps.
# The kind cluster below runs on the same engine, and its image loads and scenarios run in processes that
# do not hold the engine in use: the test leaves the engine running when it is done (DOCKERD_KEEP=1) instead
# of stopping it under the kind cluster (which broke an image load, "transport is closing", then every later
# docker command). The kind cluster's `down` stops the engine once no one uses it, and so does the end of
# this script.
step "the Dockerfile's images with docker build, compared with images/build.sh's and run (images/docker-test.sh): started in the background"
docker_log="$cache_dir/docker-test.log"
DOCKERD_KEEP=1 setsid nice images/docker-test.sh >"$docker_log" 2>&1 &
docker_test=$!
trap 'kill -- -"$cluster_build" -"$e2e" -"$docker_test" 2>/dev/null || true' EXIT

# kazoo's suite mostly waits on its servers: it runs in the background, beside the
# compatibility tests and the e2e suite (its ports, 20000 and up, are its own).
step "kazoo's test suite against a three-member zk-server ensemble (kazoo's own harness): started in the background"
kazoo_log="$cache_dir/kazoo.log"
KAZOO_CLUSTER_SIZE=3 KAZOO_EXCLUDE="$root/compat/kazoo/excluded.txt" setsid compat/kazoo/run.sh ours \
  >"$kazoo_log" 2>&1 &
kazoo=$!
trap 'kill -- -"$cluster_build" -"$e2e" -"$docker_test" -"$kazoo" 2>/dev/null || true' EXIT

# The fuzz targets' libFuzzer build, too.
fuzz_build_log="$cache_dir/fuzz-build.log"
nice scripts/fuzz.sh build >"$fuzz_build_log" 2>&1 &
fuzz_build=$!

step "compatibility with Apache ZooKeeper (zkCli, four-letter words)"
compat_rc=0
"$venv/bin/python" -m pytest -p no:cacheprovider -q compat || compat_rc=$?

step "fuzzing: every target for ${FUZZ_SECONDS:-10}s from its seeds and earlier corpus (scripts/fuzz.sh)"
fuzz_rc=0
wait "$fuzz_build" || cat "$fuzz_build_log"
scripts/fuzz.sh "${FUZZ_SECONDS:-10}" || fuzz_rc=$?

# helm comes with the cluster's build.
step "the Helm chart: lint and the dashboard's ConfigMap (scripts/chart.sh), once the cluster's build is done"
cluster_rc=0
wait "$cluster_build" || cluster_rc=$?
echo "cluster build exit status: $cluster_rc (scripts/e2e.sh builds whatever is missing)"

# The Native scale under load on kind, beside the rest of the local suite (CI's longest step), once the
# CPU-heavy steps are done (beside the compatibility tests, it slows them and itself). The two clusters
# share nothing: their own locks, address ranges and, for kind, the project's Docker engine. Its set-up (kind,
# kubeadm and the node image built once and cached, then the cluster created and the images loaded) mostly
# waits on the nodes. Its output is printed after the other steps.
step "the Native scale under load on a kind cluster (ZK_CLUSTER_BACKEND=kind scripts/e2e.sh $kind_scenario): started in the background"
kind_log="$cache_dir/e2e-kind.log"
ZK_CLUSTER_BACKEND=kind ZK_E2E_TESTS="$e2e_tests" setsid scripts/e2e.sh "$kind_scenario" >"$kind_log" 2>&1 &
kind=$!
trap 'kill -- -"$e2e" -"$docker_test" -"$kazoo" -"$kind" 2>/dev/null || true' EXIT

chart_rc=0
scripts/chart.sh || chart_rc=$?

step "end-to-end suite: waiting for it (the cluster's build log, then the suite's)"
e2e_rc=0
wait "$e2e" || e2e_rc=$?
cat "$cluster_log" "$e2e_log"

step "the Native scale under load on kind: waiting for it"
kind_rc=0
wait "$kind" || kind_rc=$?
cat "$kind_log"

step "the Dockerfile's images: waiting for their test"
docker_rc=0
wait "$docker_test" || docker_rc=$?
cat "$docker_log"

step "kazoo's test suite: waiting for it"
kazoo_rc=0
wait "$kazoo" || kazoo_rc=$?
cat "$kazoo_log"

step "the project's Docker engine: stopped, its users done"
images/docker-build.sh stop || echo "stopping the Docker engine failed (exit status $?)"
echo "exit status: compatibility $compat_rc, fuzzing $fuzz_rc, chart $chart_rc, e2e $e2e_rc, e2e on kind $kind_rc, docker images $docker_rc, kazoo $kazoo_rc"
((compat_rc == 0 && fuzz_rc == 0 && chart_rc == 0 && e2e_rc == 0 && kind_rc == 0 && docker_rc == 0 && kazoo_rc == 0))
