#!/bin/bash
# The pod network of the kind node image: writes this node's CNI
# configuration (a bridge on the node's pod CIDR, host-local addresses) and
# keeps a route to every other node's pod CIDR through that node's address,
# all nodes being on one network. Runs in a host-network pod on every node.
set -euo pipefail
: "${NODE_NAME:?the pod must set NODE_NAME}"
conf_dir="${CNI_CONF_DIR:-/etc/cni/net.d}"

until cidr="$(kubectl get node "$NODE_NAME" -o jsonpath='{.spec.podCIDR}')" && [[ -n $cidr ]]; do
	sleep 1
done
cat >"$conf_dir/.10-kind.conflist" <<CONF
{
  "cniVersion": "0.4.0",
  "name": "kind",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "kind0",
      "isGateway": true,
      "hairpinMode": true,
      "ipam": {"type": "host-local", "ranges": [[{"subnet": "$cidr"}]], "routes": [{"dst": "0.0.0.0/0"}]}
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
CONF
mv -f "$conf_dir/.10-kind.conflist" "$conf_dir/10-kind.conflist"
echo "node $NODE_NAME: pod CIDR $cidr"

while true; do
	kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.spec.podCIDR} {.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}' |
		while read -r name pod_cidr address; do
			[[ $name != "$NODE_NAME" && -n $pod_cidr && -n $address ]] || continue
			ip route replace "$pod_cidr" via "$address"
		done || true
	sleep 5
done
