#!/usr/bin/env bash
# Runs the end-to-end suite (the zk-e2e crate) on a real single-node cluster:
# builds the cluster's binaries (helm too; cached after the first run), brings
# the cluster up, builds zk-operator (debug profile: the suite exercises its
# behaviour, not its speed, and shares the test build's artifacts) and the
# images (operator, Apache ZooKeeper) without pulling, loads them, runs the
# scenarios one at a time, and always takes the cluster down at the end.
# Exits non-zero if anything failed.
#
#   scripts/e2e.sh [extra cargo test arguments, e.g. a test name filter]
set -euo pipefail
source "$(dirname "$0")/lib/env.sh"
cluster="$root/e2e/cluster/cluster.sh"
start=$SECONDS

step() { printf '\n==== [%s] %s (%ss)\n' "$(date -u +%H:%M:%S)" "$*" "$((SECONDS - start))"; }

down() {
	local rc=$?
	step "cluster down"
	"$cluster" down || rc=1
	step "done: exit $rc"
	exit "$rc"
}
trap down EXIT

step "cluster binaries and images"
"$cluster" build

step "cluster up"
"$cluster" up
KUBECONFIG="$("$cluster" kubeconfig)"
export KUBECONFIG

step "build zk-operator"
nice cargo build -p zk-operator --bin zk-operator

step "images"
for image in zk-operator zookeeper; do
	tar="$(ZK_IMAGE_PROFILE=debug images/build.sh "$image")"
	"$cluster" load-image "$tar"
done

step "build the e2e tests"
nice cargo test -p zk-e2e --no-run

step "e2e scenarios"
cargo test -p zk-e2e -- --test-threads=1 --nocapture "$@"
