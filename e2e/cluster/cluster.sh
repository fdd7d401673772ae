#!/usr/bin/env bash
# One entry point for the e2e cluster.
#
#   e2e/cluster/cluster.sh [--backend local|kind] up | down | status | kubeconfig | load-image <tar>
#   e2e/cluster/cluster.sh build       build every binary (helm too) and the cluster images
#   e2e/cluster/cluster.sh bin-dir     print the directory holding helm, crictl, kube-*
#   e2e/cluster/cluster.sh env         print the variables a client of the cluster needs
#   e2e/cluster/cluster.sh leftovers   (local) list what a down would still remove
#
# Backend: --backend, else $ZK_CLUSTER_BACKEND, else `local` (a single-node
# cluster of host processes built from the Kubernetes Go modules). `kind` is a
# kind cluster (1 control plane + 3 workers) in the project's own Docker
# engine, from a node image built here. Both need root. See docs/cluster.md.
set -euo pipefail

CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC2034 # used by the sourced backends
REPO_DIR="$(cd "$CLUSTER_DIR/../.." && pwd)"
# shellcheck source=e2e/cluster/lib/common.sh
. "$CLUSTER_DIR/lib/common.sh"
# shellcheck source=e2e/cluster/lib/pki.sh
. "$CLUSTER_DIR/lib/pki.sh"
# shellcheck source=e2e/cluster/lib/local.sh
. "$CLUSTER_DIR/lib/local.sh"
# shellcheck source=e2e/cluster/lib/kind.sh
. "$CLUSTER_DIR/lib/kind.sh"

# shellcheck disable=SC2034 # used by the sourced backends
IMAGES_CACHE="${IMAGES_CACHE:-$ZK_CACHE_DIR/images}"
# shellcheck disable=SC2034
COREDNS_IMAGE="zkops.local/coredns:1.14.7"
# shellcheck disable=SC2034
HELPER_IMAGE="zkops.local/debian:bookworm"

usage() {
	sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 2
}

main() {
	local backend=""
	while [[ $# -gt 0 ]]; do
		case "$1" in
		--backend)
			backend="${2:-}"
			shift 2
			;;
		--backend=*)
			backend="${1#*=}"
			shift
			;;
		-h | --help) usage ;;
		*) break ;;
		esac
	done
	[[ $# -ge 1 ]] || usage
	[[ -n "$backend" ]] || backend="${ZK_CLUSTER_BACKEND:-local}"
	[[ "$backend" == local || "$backend" == kind ]] || die "unknown backend: $backend (local|kind)"
	local cmd="$1"
	shift
	# One change at a time: concurrent up/down/load-image/build calls of a
	# backend wait here (each backend has its own lock).
	case "$cmd" in
	up | down | load-image | build)
		mkdir -p "$ZK_CACHE_DIR"
		local lock="$ZK_CACHE_DIR/cluster.lock"
		[[ "$backend" == local ]] || lock="$ZK_CACHE_DIR/cluster-$backend.lock"
		exec 9>"$lock"
		flock -w 3600 9 || die "timed out waiting for another cluster.sh $cmd"
		;;
	esac
	case "$backend:$cmd" in
	local:up) local_up ;;
	local:down) local_down ;;
	local:status) local_status "${1:-180}" ;;
	local:kubeconfig) echo "$ADMIN_KUBECONFIG" ;;
	local:env) echo "KUBECONFIG=$ADMIN_KUBECONFIG" ;;
	local:build) local_install && local_build kubernetes etcd coredns local-path-provisioner crictl helm ;;
	*:bin-dir) echo "$K8S_BIN" ;;
	local:load-image)
		[[ $# -ge 1 && -f "$1" ]] || die "load-image needs an image archive (tar)"
		local_running || die "the local cluster is not running"
		import_images "$@"
		;;
	local:leftovers) local_leftovers ;;
	kind:up) kind_up ;;
	kind:down) kind_down ;;
	kind:status) kind_status ;;
	kind:kubeconfig) echo "$KIND_KUBECONFIG" ;;
	kind:env) printf 'KUBECONFIG=%s\nDOCKER_HOST=unix://%s\n' "$KIND_KUBECONFIG" "$DOCKERD_SOCK" ;;
	kind:build) kind_build ;;
	kind:load-image)
		[[ $# -ge 1 && -f "$1" ]] || die "load-image needs an image archive (tar)"
		local t
		for t in "$@"; do kind_load_image "$t"; done
		;;
	*) usage ;;
	esac
}

main "$@"
