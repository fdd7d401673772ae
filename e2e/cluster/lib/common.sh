# Shared settings and helpers for the e2e cluster scripts. Sourced, not run.
# shellcheck shell=bash
# shellcheck disable=SC2034 # settings are used by the scripts that source this

K8S_VERSION="${K8S_VERSION:-v1.33.13}"
ZK_CACHE_DIR="${ZK_CACHE_DIR:-$HOME/.cache/zkops}"
K8S_BIN="$ZK_CACHE_DIR/k8s-$K8S_VERSION/bin"

# Local backend layout. The state dir holds everything a running cluster
# owns and is removed by `down`; sockets live under a short /run path.
ZK_CLUSTER_DIR="${ZK_CLUSTER_DIR:-/var/lib/zkops-cluster}"
ZK_RUN_DIR="${ZK_RUN_DIR:-/run/zkops-cluster}"
NODE_NAME="zkops-node"
BRIDGE="zkbr0"
POD_CIDR="10.244.0.0/24"
POD_GATEWAY="10.244.0.1"
SERVICE_CIDR="10.96.0.0/24"
KUBERNETES_SVC_IP="10.96.0.1"
DNS_SVC_IP="10.96.0.10"
# The node's own address: a /32 on the bridge, reachable from pods and host.
NODE_IP="10.250.0.1"
APISERVER_PORT=6443
ETCD_CLIENT_PORT=23790
ETCD_PEER_PORT=23800
CLUSTER_DOMAIN="cluster.local"

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}
require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || die "required command not found: $c"
	done
}

# ensure_pkgs PKG... : install the Debian packages that are missing.
ensure_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[[ ${#missing[@]} -eq 0 ]] && return 0
	log "apt-get install ${missing[*]}"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
		DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
	fi
}

# wait_for TIMEOUT_SECONDS DESCRIPTION COMMAND... : retry COMMAND until it
# succeeds, or fail after the timeout.
wait_for() {
	local timeout="$1" what="$2"
	shift 2
	local deadline=$((SECONDS + timeout))
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || die "timed out after ${timeout}s waiting for $what"
		sleep 1
	done
}
