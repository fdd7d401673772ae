// Command coredns is CoreDNS with only the plugins the clusters' Corefiles use
// (the local cluster's e2e/cluster/manifests/coredns.yaml; on the kind node
// image, kubeadm's, which adds forward and prometheus), so that a cold build
// compiles a fraction of CoreDNS's dependencies (no cloud DNS back-ends).
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

func main() { coremain.Run() }
