#!/usr/bin/env bash
# Runs the end-to-end suite (the zk-e2e crate) on a real cluster, by default
# the local single-node one (ZK_CLUSTER_BACKEND=kind: a kind cluster of one
# control plane and three workers, see docs/cluster.md):
# builds the cluster's binaries (helm too; cached after the first run),
# zk-operator and zk-server (debug profile: the suite exercises their
# behaviour, not their speed, and shares the test build's artifacts) and the
# images (operator, zk-server, Apache ZooKeeper) without pulling, brings the
# cluster up and loads the images in the background while it builds the e2e
# tests, runs the scenarios one at a time, and always takes the cluster down at
# the end. A cluster is one per machine and backend (the local one's state
# directory and ports are fixed, the kind one's name), so a second run waits
# for the first (a lock on /run/lock/zkops-cluster.lock, zkops-cluster-kind.lock
# for kind) instead of tearing its cluster down.
# Exits non-zero if anything failed. With ZK_IMAGES=docker, the server's and
# the operator's images are the Dockerfile's, built by images/docker-build.sh.
# With ZK_E2E_TESTS naming a file that lists the e2e test executables (one a
# line), nothing is built: zk-operator, zk-server and those tests are built
# already (scripts/test.sh does so, then builds other tests while this runs).
#
#   scripts/e2e.sh [extra cargo test arguments, e.g. a test name filter]
set -euo pipefail
source "$(dirname "$0")/lib/env.sh"
cluster="$root/e2e/cluster/cluster.sh"
start=$SECONDS

step() { printf '\n==== [%s] %s (%ss)\n' "$(date -u +%H:%M:%S)" "$*" "$((SECONDS - start))"; }

down() {
	local rc=$?
	# A cluster still coming up in the background is taken down once it is up.
	[[ -z ${up:-} ]] || wait "$up" 2>/dev/null || true
	step "cluster down"
	"$cluster" down || rc=1
	step "done: exit $rc"
	exit "$rc"
}
backend="${ZK_CLUSTER_BACKEND:-local}"
lock=/run/lock/zkops-cluster.lock
[[ $backend == local ]] || lock="/run/lock/zkops-cluster-$backend.lock"
exec 9>"$lock"
if ! flock -n 9; then
	step "another e2e run holds the cluster: waiting for it"
	flock 9
fi
trap down EXIT

step "cluster binaries and images"
"$cluster" build

prebuilt="${ZK_E2E_TESTS:-}"
if [[ -z $prebuilt ]]; then
	# One package a build, as scripts/test.sh builds zk-server: building both in one
	# invocation unifies their dependencies' features and rebuilds both.
	step "build zk-operator and zk-server"
	nice cargo build -p zk-operator --bin zk-operator
	nice cargo build -p zk-server --bin zk-server
fi

step "build the images"
tars=()
if [[ ${ZK_IMAGES:-build} == docker ]]; then
	# The Dockerfile's server and operator (release profile), built on the project's Docker engine.
	mapfile -t tars < <(images/docker-build.sh)
	[[ ${#tars[@]} -eq 2 ]] || exit 1
	tars+=("$(images/build.sh zookeeper)")
else
	for image in zk-operator zk-server zookeeper; do
		tars+=("$(ZK_IMAGE_PROFILE=debug images/build.sh "$image")")
	done
fi

# Bringing the cluster up and loading the images mostly wait on the cluster's
# processes: they overlap the build of the e2e tests.
step "cluster up and image loads, in the background"
up_log="$(mktemp)"
(
	"$cluster" up
	for tar in "${tars[@]}"; do
		"$cluster" load-image "$tar"
	done
) >"$up_log" 2>&1 &
up=$!

if [[ -z $prebuilt ]]; then
	step "build the e2e tests"
	nice cargo test -p zk-e2e --no-run
fi

step "waiting for the cluster and the images"
up_rc=0
wait "$up" || up_rc=$?
cat "$up_log"
rm -f "$up_log"
if [[ $up_rc -ne 0 ]]; then
	echo "cluster up or an image load failed: exit status $up_rc"
	exit "$up_rc"
fi
# KUBECONFIG, and on kind DOCKER_HOST (scenarios reach a node with docker exec).
while IFS= read -r assignment; do
	export "${assignment?}"
done < <("$cluster" env)

step "e2e scenarios"
if [[ -z $prebuilt ]]; then
	cargo test -p zk-e2e -- --test-threads=1 --nocapture "$@"
else
	# As cargo test runs them: from the package's directory, which tests find through CARGO_MANIFEST_DIR.
	export CARGO_MANIFEST_DIR="$root/e2e"
	cd "$CARGO_MANIFEST_DIR"
	while IFS= read -r tests; do
		printf '\n     Running %s\n' "$tests"
		"$tests" --test-threads=1 --nocapture "$@"
	done <"$prebuilt"
fi
