# The `kind` backend, for machines with a Docker engine and kind. Sourced by
# cluster.sh. Images enter the node with `kind load image-archive`.
# shellcheck shell=bash

KIND_CLUSTER="${KIND_CLUSTER:-zkops}"
KIND_NODE_IMAGE="${KIND_NODE_IMAGE:-kindest/node:$K8S_VERSION}"
KIND_KUBECONFIG="$ZK_CACHE_DIR/kind-$KIND_CLUSTER.kubeconfig"

kind_available() {
	command -v kind >/dev/null 2>&1 && command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1
}

kind_exists() { kind get clusters 2>/dev/null | grep -qx "$KIND_CLUSTER"; }

kind_up() {
	kind_available || die "the kind backend needs kind and a running Docker engine"
	mkdir -p "$ZK_CACHE_DIR"
	local start=$SECONDS
	if ! kind_exists; then
		kind create cluster --name "$KIND_CLUSTER" --image "$KIND_NODE_IMAGE" \
			--kubeconfig "$KIND_KUBECONFIG" --wait 180s
	else
		kind get kubeconfig --name "$KIND_CLUSTER" >"$KIND_KUBECONFIG"
	fi
	kind_status
	log "kind cluster up in $((SECONDS - start))s; KUBECONFIG=$KIND_KUBECONFIG"
}

kind_down() {
	kind_available || die "the kind backend needs kind and a running Docker engine"
	kind_exists && kind delete cluster --name "$KIND_CLUSTER"
	rm -f "$KIND_KUBECONFIG"
}

kind_status() {
	kind_exists || die "kind cluster $KIND_CLUSTER does not exist"
	kubectl --kubeconfig "$KIND_KUBECONFIG" wait --for=condition=Ready node --all --timeout 180s >/dev/null
	kubectl --kubeconfig "$KIND_KUBECONFIG" -n kube-system rollout status deploy/coredns --timeout 180s >/dev/null
	kubectl --kubeconfig "$KIND_KUBECONFIG" get nodes -o wide
}

kind_load_image() {
	kind load image-archive "$1" --name "$KIND_CLUSTER"
}
