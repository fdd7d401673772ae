# The `kind` backend: a kind cluster (one control plane, three workers by
# default) of node containers in the project's own Docker engine
# (images/lib/dockerd.sh), made from the node image built here
# (images/kind-node/build.sh). kind itself is built from its Go module
# (e2e/cluster/lib/build.sh kind). Images enter the nodes with
# `kind load image-archive`. Sourced by cluster.sh.
# shellcheck shell=bash

# shellcheck source=images/lib/dockerd.sh
. "$REPO_DIR/images/lib/dockerd.sh"

KIND="$K8S_BIN/kind"
KIND_CLUSTER="${KIND_CLUSTER:-zkops}"
KIND_NODE_IMAGE="${KIND_NODE_IMAGE:-zkops.local/kind-node:$K8S_VERSION}"
KIND_CONFIG="${KIND_CONFIG:-$CLUSTER_DIR/kind/cluster.yaml}"
KIND_KUBECONFIG="$ZK_CACHE_DIR/kind-$KIND_CLUSTER.kubeconfig"
# The kind cluster's Service range (from its config); the host routes it to
# the control plane, whose kube-proxy masquerades what comes from outside the
# pod range.
KIND_SERVICE_CIDR="$(sed -n 's/^ *serviceSubnet: *//p' "$KIND_CONFIG")"
# Routes `up` added on the host, one "destination via" a line; `down` removes them.
KIND_ROUTES="$ZK_CACHE_DIR/kind-$KIND_CLUSTER.routes"

kind_exists() { "$KIND" get clusters 2>/dev/null | grep -qx "$KIND_CLUSTER"; }

kctl_kind() { "$K8S_BIN/kubectl" --kubeconfig "$KIND_KUBECONFIG" "$@"; }

# kind_answers : the existing cluster's API server lists its nodes within a minute.
kind_answers() {
	"$KIND" get kubeconfig --name "$KIND_CLUSTER" >"$KIND_KUBECONFIG" 2>/dev/null || return 1
	local deadline=$((SECONDS + 60))
	until kctl_kind get nodes --request-timeout 10s >/dev/null 2>&1; do
		((SECONDS < deadline)) || return 1
		sleep 5
	done
}

# kind_node_image : the node image in the engine and its preloaded images'
# directory (printed), built where their inputs changed (images/kind-node).
kind_node_image() {
	dockerd_start
	K8S_BIN="$K8S_BIN" KIND_NODE_IMAGE="$KIND_NODE_IMAGE" "$REPO_DIR/images/kind-node/build.sh"
}

# kind_build : kind, kubeadm, kubectl and the other cluster binaries, then the
# node image. The engine keeps running after this shell: `down` stops it.
kind_build() {
	"$CLUSTER_DIR/lib/build.sh"
	kind_node_image >/dev/null
}

# kind_up : start the engine (or reuse it), build the node image if needed,
# create the cluster unless it exists, wait until it is Ready.
kind_up() {
	[[ -x "$KIND" ]] || "$CLUSTER_DIR/lib/build.sh"
	local start=$SECONDS images
	dockerd_start
	images="$(kind_node_image)"
	# A cluster whose engine stopped under it (its `down` found no engine to delete it with) comes
	# back with the engine but does not serve: it is made anew.
	if kind_exists && ! kind_answers; then
		log "kind cluster $KIND_CLUSTER exists but its API server does not answer: recreating it"
		"$KIND" delete cluster --name "$KIND_CLUSTER"
	fi
	if ! kind_exists; then
		local config="$ZK_CACHE_DIR/kind-$KIND_CLUSTER.yaml"
		sed "s|@NODE_IMAGES@|$images|g" "$KIND_CONFIG" >"$config"
		"$KIND" create cluster --name "$KIND_CLUSTER" --image "$KIND_NODE_IMAGE" --config "$config" \
			--kubeconfig "$KIND_KUBECONFIG" --wait 300s
	else
		"$KIND" get kubeconfig --name "$KIND_CLUSTER" >"$KIND_KUBECONFIG"
	fi
	kind_status
	kind_host_routes
	log "kind cluster up in $((SECONDS - start))s; KUBECONFIG=$KIND_KUBECONFIG $(dockerd_env | sed 's/^export //')"
}

# kind_down : delete the cluster, then stop the engine once no one else uses it.
kind_down() {
	if dockerd_answers; then
		dockerd_start
		kind_remove_host_routes
		if kind_exists; then "$KIND" delete cluster --name "$KIND_CLUSTER"; fi
		dockerd_shutdown
	fi
	rm -f "$KIND_KUBECONFIG"
}

# kind_host_routes : the tests run on the host and reach Services (ClusterIP)
# and pods by address, as on the local backend: route the Service range to the
# control plane and each node's pod range to that node.
kind_host_routes() {
	local routes=() name cidr address control_plane=""
	while read -r name cidr address; do
		[[ -n "$address" ]] || continue
		[[ "$name" == "$KIND_CLUSTER-control-plane" ]] && control_plane="$address"
		[[ -n "$cidr" ]] && routes+=("$cidr $address")
	done < <(kctl_kind get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.spec.podCIDR} {.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}')
	[[ -n "$control_plane" ]] || die "no address for $KIND_CLUSTER-control-plane"
	routes+=("$KIND_SERVICE_CIDR $control_plane")
	: >"$KIND_ROUTES"
	local route
	for route in "${routes[@]}"; do
		# shellcheck disable=SC2086 # "destination via"
		set -- $route
		ip route replace "$1" via "$2"
		echo "$1 $2" >>"$KIND_ROUTES"
	done
	log "host routes: $(paste -sd, "$KIND_ROUTES")"
}

kind_remove_host_routes() {
	[[ -f "$KIND_ROUTES" ]] || return 0
	local destination via
	while read -r destination via; do
		ip route del "$destination" via "$via" 2>/dev/null || true
	done <"$KIND_ROUTES"
	rm -f "$KIND_ROUTES"
}

kind_status() {
	export DOCKER_HOST="unix://$DOCKERD_SOCK"
	kind_exists || die "kind cluster $KIND_CLUSTER does not exist"
	kctl_kind wait --for=condition=Ready node --all --timeout 300s >/dev/null
	kctl_kind -n kube-system rollout status daemonset/pod-routes --timeout 180s >/dev/null
	kctl_kind -n kube-system rollout status deploy/coredns --timeout 180s >/dev/null
	kctl_kind -n local-path-storage rollout status deploy/local-path-provisioner --timeout 180s >/dev/null
	kctl_kind get nodes -o wide
}

kind_load_image() {
	export DOCKER_HOST="unix://$DOCKERD_SOCK"
	# An import can be dropped ("transport is closing"; seen when another user of the engine
	# stopped it under the cluster, which scripts/test.sh no longer lets happen); importing the
	# archive again is harmless, so it gets three tries.
	local attempt
	for attempt in 1 2 3; do
		"$KIND" load image-archive "$1" --name "$KIND_CLUSTER" && return 0
		log "loading $1 into the kind nodes failed (try $attempt of 3)"
		sleep 5
	done
	return 1
}
