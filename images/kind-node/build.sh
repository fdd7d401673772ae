#!/usr/bin/env bash
# Builds the kind node image zkops.local/kind-node:$K8S_VERSION without
# pulling anything: Debian's systemd, containerd, runc and CNI plugins on the
# project's base root, the kubelet, kubeadm, kubectl and crictl built from
# their Go modules (e2e/cluster/lib/build.sh), and the images kubeadm and kind
# start (control plane, etcd, CoreDNS, kube-proxy, pause, the pod network,
# local-path-provisioner) made from those binaries and preloaded under
# /kind/images (imported into containerd when a node boots).
#
#   images/kind-node/build.sh          build (cached) and print the archive path
#   images/kind-node/build.sh load     build, then `docker load` it unless the
#                                      engine already holds this very image
#
# Everything is cached under $ZK_CACHE_DIR/kind-node-$K8S_VERSION and rebuilt
# only when one of its inputs is newer than the image.
set -euo pipefail

NODE_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IMAGES_DIR="$(cd "$NODE_SRC/.." && pwd)"
# shellcheck source=images/lib/image.sh
. "$IMAGES_DIR/lib/image.sh"

K8S_VERSION="${K8S_VERSION:-v1.33.13}"
K8S_BIN="${K8S_BIN:-$ZK_CACHE_DIR/k8s-$K8S_VERSION/bin}"
NODE_CACHE="$ZK_CACHE_DIR/kind-node-$K8S_VERSION"
NODE_REF="${KIND_NODE_IMAGE:-$IMAGE_PREFIX/kind-node:$K8S_VERSION}"
# The tags kubeadm $K8S_VERSION asks for (its constants for etcd and CoreDNS).
ETCD_TAG=3.5.24-0
COREDNS_TAG=v1.12.0
K8S_REGISTRY=registry.k8s.io

trap chroot_umount_all EXIT

# The node's operating system: a layer on the base root with Debian's
# packages and the node's files (images/kind-node/files) installed, systemd
# trimmed to what a node container runs.
os_layer() {
	local share="$NODE_CACHE/os-files"
	rm -rf "$share"
	mkdir -p "$share"
	layer_tar "$NODE_SRC/files" "$share/files.tar"
	local script
	script="$(
		cat <<'EOF'
apt-get update -qq
apt-get install -y -qq --no-install-recommends systemd systemd-sysv dbus containerd runc \
	containernetworking-plugins iptables iproute2 conntrack ethtool socat kmod mount util-linux \
	procps ca-certificates libseccomp2 >/dev/null
tar -C / --no-same-owner -xf /mnt/files.tar
# A node container has no console, hardware or login: only the units a node needs start.
rm -f /etc/systemd/system/*.wants/* /lib/systemd/system/multi-user.target.wants/* \
	/lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \
	/lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/sysinit.target.wants/systemd-udev*
systemctl enable containerd.service node-images.service kubelet.service
systemctl mask getty.target console-getty.service systemd-udevd.service
echo "ReadKMsg=no" >>/etc/systemd/journald.conf
rm -rf /usr/share/doc/* /usr/share/man/*
containerd --version
EOF
	)"
	app_layer kind-node-os "$script" "$share"
	rm -rf "$share"
}

# tool_image OUT REF PACKAGES FILE... : an image on the base root with the
# Debian PACKAGES (a space-separated list) installed and the FILEs in
# /usr/local/bin, the first one its entrypoint. Rebuilt when a FILE or the
# packages' layer is newer than OUT.
tool_image() {
	local out="$1" ref="$2" packages="$3"
	shift 3
	local tools
	tools="$(app_layer "tools-${packages// /-}" "apt-get update -qq
apt-get install -y -qq --no-install-recommends $packages >/dev/null")"
	local f fresh=1
	for f in "$tools" "$@"; do [[ -f "$out" && "$out" -nt "$f" ]] || fresh=0; done
	((fresh)) && return 0
	local work
	work="$(mktemp -d "$out.XXXX")"
	mkdir -p "$work/root/usr/local/bin"
	install -m 0755 "$@" "$work/root/usr/local/bin/"
	layer_tar "$work/root" "$work/layer.tar"
	write_archive "$out" "$ref" \
		"$(printf '{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":["/usr/local/bin/%s"]}' "$(basename "$1")")" \
		"$BASE_LAYER" "$tools" "$work/layer.tar"
	rm -rf "$work"
}

# preloaded_images DIR : every image a node starts, as archives in DIR.
preloaded_images() {
	local dir="$1" c
	mkdir -p "$dir"
	for c in kube-apiserver kube-controller-manager kube-scheduler; do
		static_image "$dir/$c.tar" "$K8S_REGISTRY/$c:$K8S_VERSION" "$K8S_BIN/$c"
	done
	static_image "$dir/etcd.tar" "$K8S_REGISTRY/etcd:$ETCD_TAG" "$K8S_BIN/etcd"
	static_image "$dir/coredns.tar" "$K8S_REGISTRY/coredns/coredns:$COREDNS_TAG" "$K8S_BIN/coredns"
	static_image "$dir/local-path-provisioner.tar" "$IMAGE_PREFIX/local-path-provisioner:1" \
		"$K8S_BIN/local-path-provisioner"
	# kube-proxy runs iptables and conntrack; the pod network's script kubectl and ip.
	tool_image "$dir/kube-proxy.tar" "$K8S_REGISTRY/kube-proxy:$K8S_VERSION" "iptables conntrack" \
		"$K8S_BIN/kube-proxy"
	tool_image "$dir/pod-routes.tar" "$IMAGE_PREFIX/pod-routes:1" iproute2 \
		"$NODE_SRC/pod-routes/pod-routes.sh" "$K8S_BIN/kubectl"
	# The sandbox image (containerd's config names it) and the local-path helper pods' image.
	local t
	for t in pause debian-bookworm; do
		ln -f "$IMAGES_CACHE/$t.tar" "$dir/$t.tar" 2>/dev/null || cp -f "$IMAGES_CACHE/$t.tar" "$dir/$t.tar"
	done
}

# node_archive OUT : the node image as a docker-archive.
node_archive() {
	local out="$1"
	"$IMAGES_DIR/build.sh" base pause >/dev/null
	local os
	os="$(os_layer)"
	preloaded_images "$NODE_CACHE/images"
	local inputs=("$os" "$BASE_LAYER" "$NODE_CACHE/images"/*.tar)
	local b
	for b in kubelet kubeadm kubectl crictl; do inputs+=("$K8S_BIN/$b"); done
	local newer=0 f
	for f in "${inputs[@]}"; do [[ -f "$out" && "$out" -nt "$f" ]] || newer=1; done
	((newer)) || return 0
	local work
	work="$(mktemp -d "$NODE_CACHE/node.XXXX")"
	mkdir -p "$work/root/usr/bin" "$work/root/kind/images"
	for b in kubelet kubeadm kubectl crictl; do install -m 0755 "$K8S_BIN/$b" "$work/root/usr/bin/$b"; done
	cp "$NODE_CACHE/images"/*.tar "$work/root/kind/images/"
	echo "$K8S_VERSION" >"$work/root/kind/version"
	layer_tar "$work/root" "$work/layer.tar"
	write_archive "$out" "$NODE_REF" \
		'{"Env":["container=docker","PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":["/usr/local/bin/entrypoint","/sbin/init"],"StopSignal":"SIGRTMIN+3"}' \
		"$BASE_LAYER" "$os" "$work/layer.tar"
	rm -rf "$work"
}

# load ARCHIVE : docker load ARCHIVE unless the engine holds its image already.
load() {
	local archive="$1" id
	id="sha256:$(tar -xOf "$archive" manifest.json | sed -n 's/.*"Config":"\([0-9a-f]*\)\.json".*/\1/p')"
	if [[ "$(docker image inspect --format '{{.Id}}' "$NODE_REF" 2>/dev/null)" == "$id" ]]; then
		log "$NODE_REF is loaded already"
		return
	fi
	docker load -i "$archive" >&2
}

main() {
	[[ $(id -u) -eq 0 ]] || die "building the node image needs root (chroot, overlay mounts)"
	local b
	for b in kubelet kubeadm kubectl crictl kube-apiserver etcd coredns; do
		[[ -x "$K8S_BIN/$b" ]] || die "$K8S_BIN/$b is missing: run e2e/cluster/cluster.sh --backend kind build"
	done
	mkdir -p "$NODE_CACHE"
	local archive="$NODE_CACHE/node.tar" start=$SECONDS
	node_archive "$archive"
	log "node image $NODE_REF ready in $((SECONDS - start))s"
	case "${1:-}" in
	"") ;;
	load) load "$archive" ;;
	*) die "usage: images/kind-node/build.sh [load]" ;;
	esac
	echo "$archive"
}

main "$@"
