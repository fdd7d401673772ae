#!/usr/bin/env bash
# Runs the end-to-end suite (the zk-e2e crate) on a real single-node cluster:
# builds the cluster's binaries (helm too; cached after the first run), brings
# the cluster up in the background while it builds zk-operator and zk-server
# (debug profile: the suite exercises their behaviour, not their speed, and
# shares the test build's artifacts), the e2e tests and the images (operator,
# zk-server, Apache ZooKeeper) without pulling, loads the images, runs the
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

# Bringing the cluster up mostly waits on its processes: it overlaps the builds.
# `down` (the EXIT trap) waits for it through the cluster's lock.
step "cluster up, in the background"
up_log="$(mktemp)"
"$cluster" up >"$up_log" 2>&1 &
up=$!

# One package a build, as scripts/test.sh builds zk-server: building both in one
# invocation unifies their dependencies' features and rebuilds both.
step "build zk-operator and zk-server"
nice cargo build -p zk-operator --bin zk-operator
nice cargo build -p zk-server --bin zk-server

step "build the e2e tests"
nice cargo test -p zk-e2e --no-run

step "build the images"
tars=()
for image in zk-operator zk-server zookeeper; do
	tars+=("$(ZK_IMAGE_PROFILE=debug images/build.sh "$image")")
done

step "waiting for the cluster"
up_rc=0
wait "$up" || up_rc=$?
cat "$up_log"
rm -f "$up_log"
if [[ $up_rc -ne 0 ]]; then
	echo "cluster up failed: exit status $up_rc"
	exit "$up_rc"
fi
KUBECONFIG="$("$cluster" kubeconfig)"
export KUBECONFIG

step "load the images"
for tar in "${tars[@]}"; do
	"$cluster" load-image "$tar"
done

step "e2e scenarios"
cargo test -p zk-e2e -- --test-threads=1 --nocapture "$@"
