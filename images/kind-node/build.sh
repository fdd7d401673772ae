#!/usr/bin/env bash
# Builds the kind node image zkops.local/kind-node:$K8S_VERSION into the
# Docker engine (DOCKER_HOST) without pulling anything: Debian's systemd,
# containerd, runc and CNI plugins on the project's base root, and the
# kubelet, kubeadm, kubectl and crictl built from their Go modules
# (e2e/cluster/lib/build.sh). Beside it, the images kubeadm and kind start
# (control plane, etcd, CoreDNS, kube-proxy, pause, the pod network,
# local-path-provisioner), made from those binaries as archives in
# $ZK_CACHE_DIR/kind-node-$K8S_VERSION/images: the cluster's config mounts
# that directory at /kind/images in each node, which imports them into
# containerd when it boots (unpacked when a pod first uses them).
#
#   images/kind-node/build.sh      build what changed; prints the images' directory
#
# The image is rebuilt only when its inputs changed (a label records them).
set -euo pipefail

NODE_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IMAGES_DIR="$(cd "$NODE_SRC/.." && pwd)"
# shellcheck source=images/lib/image.sh
. "$IMAGES_DIR/lib/image.sh"

K8S_VERSION="${K8S_VERSION:-v1.33.13}"
K8S_BIN="${K8S_BIN:-$ZK_CACHE_DIR/k8s-$K8S_VERSION/bin}"
NODE_CACHE="$ZK_CACHE_DIR/kind-node-$K8S_VERSION"
NODE_REF="${KIND_NODE_IMAGE:-$IMAGE_PREFIX/kind-node:$K8S_VERSION}"
# The preloaded images' archives, mounted read-only at /kind/images in every
# node (e2e/cluster/kind/*.yaml): on disk once, not once per node.
NODE_IMAGES="$NODE_CACHE/images"
# The image label that records the node image's inputs.
NODE_LABEL=dev.zkops.kind-node.inputs
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

# inputs_key OS_LAYER : a hash of what the node image is made of: the layers
# (by name, which carries their content's hash), the binaries (by size and
# time) and this directory's files (by content).
inputs_key() {
	{
		echo "$BASE_KEY $1 $K8S_VERSION $NODE_REF"
		local b
		for b in kubelet kubeadm kubectl crictl; do stat -c '%n %s %Y' "$K8S_BIN/$b"; done
		find "$NODE_SRC" -type f -print0 | sort -z | xargs -0 sha256sum
	} | sha256sum | cut -c1-16
}

# node_image : build the node image and load it into the engine, unless the
# engine holds one made of the same inputs (the image's label says which).
node_image() {
	"$IMAGES_DIR/build.sh" base pause >/dev/null
	local os key
	os="$(os_layer)"
	key="$(inputs_key "$os")"
	if [[ "$(docker image inspect --format "{{index .Config.Labels \"$NODE_LABEL\"}}" "$NODE_REF" 2>/dev/null)" == "$key" ]]; then
		log "$NODE_REF ($key) is loaded already"
		return
	fi
	local work b
	work="$(mktemp -d "$NODE_CACHE/node.XXXX")"
	mkdir -p "$work/root/usr/bin" "$work/root/kind/images"
	for b in kubelet kubeadm kubectl crictl; do install -m 0755 "$K8S_BIN/$b" "$work/root/usr/bin/$b"; done
	echo "$K8S_VERSION" >"$work/root/kind/version"
	layer_tar "$work/root" "$work/layer.tar"
	write_archive "$work/node.tar" "$NODE_REF" \
		"$(printf '{"Env":["container=docker","PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":["/usr/local/bin/entrypoint","/sbin/init"],"StopSignal":"SIGRTMIN+3","Labels":{"%s":"%s"}}' "$NODE_LABEL" "$key")" \
		"$BASE_LAYER" "$os" "$work/layer.tar"
	rm -f "$work/layer.tar"
	local previous
	previous="$(docker image inspect --format '{{.Id}}' "$NODE_REF" 2>/dev/null)" || previous=""
	docker load -i "$work/node.tar" >&2 || {
		rm -rf "$work"
		die "docker load of the node image failed (is DOCKER_HOST the project's engine?)"
	}
	rm -rf "$work"
	# The image this one replaces (now untagged) would only take space.
	[[ -z "$previous" ]] || docker rmi "$previous" >/dev/null 2>&1 || true
}

main() {
	[[ $(id -u) -eq 0 ]] || die "building the node image needs root (chroot, overlay mounts)"
	local b
	for b in kubelet kubeadm kubectl crictl kube-apiserver etcd coredns local-path-provisioner; do
		[[ -x "$K8S_BIN/$b" ]] || die "$K8S_BIN/$b is missing: run e2e/cluster/cluster.sh --backend kind build"
	done
	mkdir -p "$NODE_CACHE"
	local start=$SECONDS
	preloaded_images "$NODE_IMAGES"
	node_image
	log "node image $NODE_REF and its images ready in $((SECONDS - start))s"
	echo "$NODE_IMAGES"
}

main "$@"
