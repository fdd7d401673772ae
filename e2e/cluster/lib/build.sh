#!/usr/bin/env bash
# Builds the cluster's binaries from their Go modules into a versioned cache.
#
#   build.sh [component...]     components: kubernetes etcd coredns local-path-provisioner helm crictl
#                               kubeadm (kubeadm, kubectl) kind
#
# Each component is a Go module under e2e/cluster/build/<component> with a
# pinned go.mod/go.sum (and, for coredns, a main.go). A component is rebuilt
# only when the hash of those files, link flags and Go version differs from the stamp written
# after the last good build.
set -euo pipefail

CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=e2e/cluster/lib/common.sh
. "$CLUSTER_DIR/lib/common.sh"

ALL_COMPONENTS=(kubernetes etcd coredns local-path-provisioner helm crictl kubeadm kind)

# Binaries each component produces, as "output-name=package".
component_targets() {
	case "$1" in
	kubernetes)
		local c
		for c in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do
			echo "$c=k8s.io/kubernetes/cmd/$c"
		done
		;;
	kubeadm)
		echo "kubeadm=k8s.io/kubernetes/cmd/kubeadm"
		echo "kubectl=k8s.io/kubernetes/cmd/kubectl"
		;;
	kind) echo "kind=sigs.k8s.io/kind" ;;
	etcd) echo "etcd=go.etcd.io/etcd/server/v3" ;;
	coredns) echo "coredns=." ;; # main.go: the plugins the Corefile uses
	local-path-provisioner) echo "local-path-provisioner=github.com/rancher/local-path-provisioner" ;;
	helm) echo "helm=helm.sh/helm/v3/cmd/helm" ;;
	crictl) echo "crictl=sigs.k8s.io/cri-tools/cmd/crictl" ;;
	*) die "unknown component: $1" ;;
	esac
}

component_ldflags() {
	local flags="-s -w"
	if [[ "$1" == kubernetes || "$1" == kubeadm ]]; then
		local minor pkg
		minor="${K8S_VERSION#v1.}"
		minor="${minor%%.*}"
		for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
			flags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
			flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
		done
	fi
	if [[ "$1" == helm ]]; then
		local v
		v="$(awk '$1 == "helm.sh/helm/v3" {print $2} $1 == "require" && $2 == "helm.sh/helm/v3" {print $3}' \
			"$CLUSTER_DIR/build/helm/go.mod")"
		flags+=" -X helm.sh/helm/v3/internal/version.version=$v"
	fi
	echo "$flags"
}

component_hash() {
	{
		cat "$CLUSTER_DIR/build/$1"/{go.mod,go.sum,*.go} 2>/dev/null
		component_ldflags "$1"
		go env GOVERSION
	} | sha256sum | cut -c1-16
}

build_component() {
	local comp="$1" moddir="$CLUSTER_DIR/build/$1" stamp="$K8S_BIN/.stamp-$1"
	local want
	want="$(component_hash "$comp")"
	if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
		log "build: $comp is cached ($want)"
		return 0
	fi
	local targets=() outs=() t
	while IFS= read -r t; do
		outs+=("${t%%=*}")
		targets+=("${t#*=}")
	done < <(component_targets "$comp")
	local tmp
	tmp="$(mktemp -d "$K8S_BIN/.build-$comp.XXXX")"
	log "build: $comp (${outs[*]}) ..."
	local start=$SECONDS i
	for i in "${!targets[@]}"; do
		(cd "$moddir" && CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" \
			nice -n 10 go build -trimpath -ldflags "$(component_ldflags "$comp")" \
			-o "$tmp/${outs[$i]}" "${targets[$i]}") ||
			{ rm -rf "$tmp"; die "build of ${outs[$i]} failed"; }
	done
	for t in "${outs[@]}"; do mv -f "$tmp/$t" "$K8S_BIN/$t"; done
	rm -rf "$tmp"
	echo "$want" >"$stamp"
	log "build: $comp done in $((SECONDS - start))s"
}

main() {
	require_cmd go
	mkdir -p "$K8S_BIN"
	local comps=("$@")
	[[ ${#comps[@]} -gt 0 ]] || comps=("${ALL_COMPONENTS[@]}")
	local c
	for c in "${comps[@]}"; do build_component "$c"; done
}

main "$@"
