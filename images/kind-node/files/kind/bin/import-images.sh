#!/bin/bash
# Imports every image archive under /kind/images (mounted from the host's
# cache) into containerd's k8s.io namespace, once: a marker on the node's /var
# records that it was done. Images are not unpacked here; containerd unpacks
# one when a pod first uses it, so a node stores only what it runs.
set -euo pipefail
marker=/var/lib/kind-images-imported
[[ -f $marker ]] && exit 0
for archive in /kind/images/*.tar; do
	[[ -e $archive ]] || continue
	ctr --namespace=k8s.io images import --no-unpack "$archive" >/dev/null
done
touch "$marker"
