#!/usr/bin/env bash
# The main job, end to end on this machine: a real single-node Kubernetes
# (e2e/cluster/cluster.sh; kind where Docker and kind are present), the operator
# installed by its Helm chart, a three-member ensemble of zk-server (the
# default flavour, operator/examples/demo.yaml as it is), then
# `kubectl scale` to 5 and back to 3 — one member per step, by reconfig, with
# no member restarted. Progress is printed as it happens.
#
#   scripts/demo.sh          # leaves the cluster running; `e2e/cluster/cluster.sh down` stops it
#   scripts/demo.sh --down   # stops the cluster at the end
set -euo pipefail
source "$(dirname "$0")/lib/env.sh"
cluster="$root/e2e/cluster/cluster.sh"
ns=zk-demo

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
[[ "${1:-}" == --down ]] && trap '"$cluster" down' EXIT

say "cluster binaries (the first run builds Kubernetes and helm from their Go modules: about 30-40 minutes)"
"$cluster" build

say "cluster up"
"$cluster" up
KUBECONFIG="$("$cluster" kubeconfig)"
export KUBECONFIG
PATH="$("$cluster" bin-dir):$PATH"

# The debug build, as the e2e suite uses: a first build takes minutes instead of the release build's twenty.
# One package a build: building both in one invocation unifies their dependencies' features and rebuilds both.
say "build zk-operator, zk-server and their images, load them into the cluster"
cargo build -p zk-operator --bin zk-operator
cargo build -p zk-server --bin zk-server
for image in zk-operator zk-server; do
  "$cluster" load-image "$(ZK_IMAGE_PROFILE=debug images/build.sh "$image")"
done

say "install the operator with its Helm chart"
helm upgrade --install zk-operator charts/zk-operator -n zk-operator --create-namespace \
  --set image.pullPolicy=Never --wait --timeout 180s

say "create a three-member ensemble: kubectl apply -f operator/examples/demo.yaml (no flavour, no image)"
kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f -
kubectl apply -n "$ns" -f operator/examples/demo.yaml

# Prints the ensemble's columns whenever they change, until Ready with `want` members.
watch_until() {
  local want=$1 last="" now deadline=$((SECONDS + 600))
  while ((SECONDS < deadline)); do
    now="$(kubectl get zke demo -n "$ns" --no-headers 2>/dev/null || true)"
    [[ "$now" != "$last" ]] && printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$now" && last="$now"
    if [[ "$(kubectl get zke demo -n "$ns" -o jsonpath='{.status.readyReplicas}/{.status.replicas}/{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == "$want/$want/True" ]]; then
      return 0
    fi
    sleep 2
  done
  echo "timed out waiting for $want ready members" >&2
  kubectl describe zke demo -n "$ns" >&2
  return 1
}

kubectl get zke -n "$ns"
watch_until 3
for target in 5 3; do
  say "kubectl scale zkensemble/demo --replicas=$target"
  kubectl scale zkensemble/demo -n "$ns" --replicas="$target"
  watch_until "$target"
done

say "the result"
kubectl get zke,pods,pvc -n "$ns" -o wide
kubectl get pods -n "$ns" -o custom-columns=POD:.metadata.name,IMAGE:.spec.containers[0].image
kubectl get pods -n "$ns" -o custom-columns=POD:.metadata.name,RESTARTS:.status.containerStatuses[0].restartCount,STARTED:.status.startTime
kubectl get events -n "$ns" --field-selector involvedObject.kind=ZkEnsemble --sort-by=.lastTimestamp | tail -n 20
