#!/bin/bash
# Imports the image archives under /kind/images (mounted from the host's
# cache) into containerd's k8s.io namespace, once: a marker on the node's /var
# records that it was done. Images are not unpacked here; containerd unpacks
# one when a pod first uses it, so a node stores only what it runs. A worker
# (kind names the control plane's node, its container's hostname,
# `<cluster>-control-plane`) skips the control plane's static pods' images.
set -euo pipefail
marker=/var/lib/kind-images-imported
[[ -f $marker ]] && exit 0
control_plane_only=" kube-apiserver kube-controller-manager kube-scheduler etcd "
for archive in /kind/images/*.tar; do
	[[ -e $archive ]] || continue
	name="$(basename "$archive" .tar)"
	if [[ $(hostname) != *-control-plane && $control_plane_only == *" $name "* ]]; then
		continue
	fi
	ctr --namespace=k8s.io images import --no-unpack "$archive" >/dev/null
done
touch "$marker"
