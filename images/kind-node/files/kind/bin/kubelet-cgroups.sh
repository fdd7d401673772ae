#!/bin/bash
# On cgroup v2, creates the kubelet's cgroup roots (/kubelet, /kubelet.slice)
# with every controller delegated; on cgroup v1 the entrypoint made them.
set -euo pipefail
cg=/sys/fs/cgroup
[[ -f $cg/cgroup.controllers ]] || exit 0
delegate() { sed -e 's/ / +/g' -e 's/^/+/' <"$cg/$1/cgroup.controllers" >"$cg/$1/cgroup.subtree_control"; }
delegate /
for d in kubelet kubelet.slice; do
	mkdir -p "$cg/$d"
	delegate "$d"
done
