#!/usr/bin/env bash
# Smoke check of the e2e cluster: bring it up, load the Apache ZooKeeper
# image, run it in a pod with a dynamically provisioned PVC, create a znode
# with zkCli.sh, read it back, resolve a service name through CoreDNS, then
# take the cluster down and check nothing is left behind. A cluster that was
# already up when the check started is left up.
#
#   e2e/cluster/smoke.sh [--keep]     --keep: leave the cluster up at the end
set -euo pipefail

CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$CLUSTER_DIR/../.." && pwd)"
CLUSTER="$CLUSTER_DIR/cluster.sh"
NS="zk-smoke"
KEEP=0
[[ "${1:-}" == "--keep" ]] && KEEP=1

log() { printf '[%s] smoke: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
fail() {
	printf 'smoke: FAILED: %s\n' "$*" >&2
	diagnose
	exit 1
}

TIMES=()
# timed LABEL COMMAND... : run COMMAND and record how long it took.
timed() {
	local label="$1" start=$SECONDS
	shift
	"$@"
	TIMES+=("$label: $((SECONDS - start))s")
	log "$label took $((SECONDS - start))s"
}

kctl() { kubectl --kubeconfig "$KUBECONFIG_PATH" "$@"; }

diagnose() {
	[[ -n "${KUBECONFIG_PATH:-}" && -f "${KUBECONFIG_PATH:-}" ]] || return 0
	kctl get nodes -o wide 2>&1 || true
	kctl get pods -A -o wide 2>&1 || true
	kctl -n "$NS" describe pod zk 2>&1 | tail -n 30 || true
	kctl -n "$NS" get pvc,events 2>&1 || true
	kctl -n "$NS" logs zk --tail 30 2>&1 || true
}

apply_workload() {
	kctl apply -f - <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: $NS
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: zk-data
  namespace: $NS
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
---
apiVersion: v1
kind: Pod
metadata:
  name: zk
  namespace: $NS
spec:
  securityContext:
    runAsUser: 1000
    runAsGroup: 1000
    fsGroup: 1000
  containers:
    - name: zookeeper
      image: zkops.local/zookeeper:3.8.0
      imagePullPolicy: Never
      env:
        - {name: ZOO_DATA_LOG_DIR, value: /data/log}
        - {name: ZOO_4LW_COMMANDS_WHITELIST, value: "ruok,srvr,mntr"}
        - {name: JVMFLAGS, value: "-Xmx256m"}
      ports:
        - {containerPort: 2181, name: client}
      readinessProbe:
        tcpSocket: {port: 2181}
        periodSeconds: 2
      volumeMounts:
        - {name: data, mountPath: /data}
  volumes:
    - name: data
      persistentVolumeClaim:
        claimName: zk-data
EOF
}

zk_cli() {
	kctl -n "$NS" exec zk -- zkCli.sh -server 127.0.0.1:2181 "$@" 2>&1
}

check_znode() {
	local out
	out="$(zk_cli create /x smoke-value)" || fail "zkCli create failed: $out"
	grep -q 'Created /x' <<<"$out" || fail "zkCli create did not report 'Created /x': $out"
	out="$(zk_cli get /x)" || fail "zkCli get failed: $out"
	grep -qx 'smoke-value' <<<"$out" || fail "zkCli get /x did not return the value: $out"
	log "znode /x created and read back"
}

check_storage() {
	local phase pv path
	phase="$(kctl -n "$NS" get pvc zk-data -o jsonpath='{.status.phase}')"
	[[ "$phase" == Bound ]] || fail "PVC zk-data is $phase, not Bound"
	pv="$(kctl -n "$NS" get pvc zk-data -o jsonpath='{.spec.volumeName}')"
	path="$(kctl get pv "$pv" -o jsonpath='{.spec.hostPath.path}{.spec.local.path}')"
	kctl -n "$NS" exec zk -- sh -c 'test -s /data/myid && ls /data/log/version-2/log.* /data/version-2/snapshot.*' >/dev/null ||
		fail "myid, snapshot or transaction log missing in the PVC"
	# On the local backend the volume is a directory on this host.
	if [[ "$("$CLUSTER" kubeconfig)" != *kind* ]]; then
		compgen -G "$path/log/version-2/log.*" >/dev/null || fail "transaction log not found under $path on the host"
	fi
	log "PVC Bound to $pv ($path): myid, snapshot and transaction log written"
}

# The AdminServer (port 8080) answers ruok: probes rely on it.
check_admin_server() {
	local ip out
	ip="$(kctl -n "$NS" get pod zk -o jsonpath='{.status.podIP}')"
	out="$(curl -fsS --max-time 5 "http://$ip:8080/commands/ruok")" || fail "AdminServer on $ip:8080 did not answer"
	grep -q '"error" *: *null' <<<"$out" || fail "unexpected AdminServer ruok answer: $out"
	log "AdminServer answers /commands/ruok"
}

check_dns() {
	local out
	out="$(kctl -n "$NS" exec zk -- getent hosts kubernetes.default.svc.cluster.local)" ||
		fail "DNS lookup of kubernetes.default.svc.cluster.local failed"
	grep -q '^10\.96\.0\.1 ' <<<"$out" || fail "unexpected DNS answer: $out"
	log "CoreDNS resolves kubernetes.default -> 10.96.0.1"
}

# A pod must not reach anything beyond the node. The "outside" is a network
# namespace made here (10.252.0.2, reachable from the host through a veth):
# the host can connect to it, a pod must not.
check_isolation() {
	local ns=zk-smoke-out
	ip netns add "$ns"
	ip link add zksmoke0 type veth peer name eth0 netns "$ns"
	ip addr add 10.252.0.1/24 dev zksmoke0
	ip link set zksmoke0 up
	ip -n "$ns" addr add 10.252.0.2/24 dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link set lo up
	ip -n "$ns" route add default via 10.252.0.1
	ip netns exec "$ns" socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:'echo reached' &
	local listener=$! rc=0
	sleep 0.5
	timeout 5 socat -u TCP:10.252.0.2:8080 - | grep -q reached || rc=1
	if [[ $rc -eq 0 ]] && kctl -n "$NS" exec zk -- timeout 5 bash -c 'echo >/dev/tcp/10.252.0.2/8080' 2>/dev/null; then
		rc=2
	fi
	kill "$listener" 2>/dev/null || true
	wait "$listener" 2>/dev/null || true
	ip link del zksmoke0 2>/dev/null || true
	ip netns del "$ns"
	[[ $rc -ne 1 ]] || fail "isolation check: the host could not reach its own test namespace"
	[[ $rc -ne 2 ]] || fail "a pod reached an address beyond the node"
	log "pods cannot reach beyond the node (host can reach the test namespace, the pod cannot)"
}

main() {
	[[ $(id -u) -eq 0 ]] || fail "run as root (the local backend needs it)"
	# A cluster that was already up belongs to someone else: leave it up.
	local was_up=0
	if "$CLUSTER" status 5 >/dev/null 2>&1; then
		was_up=1
		KEEP=1
	fi
	timed "cluster up" "$CLUSTER" up
	KUBECONFIG_PATH="$("$CLUSTER" kubeconfig)"
	local tar start=$SECONDS
	tar="$("$REPO_DIR/images/build.sh" zookeeper)"
	TIMES+=("zookeeper image build: $((SECONDS - start))s")
	timed "zookeeper image load" "$CLUSTER" load-image "$tar"
	start=$SECONDS
	apply_workload >/dev/null
	kctl -n "$NS" wait --for=condition=Ready pod/zk --timeout=240s >/dev/null ||
		fail "ZooKeeper pod not Ready"
	TIMES+=("zookeeper pod ready: $((SECONDS - start))s")
	check_znode
	check_storage
	check_dns
	if [[ "$KUBECONFIG_PATH" != *kind* ]]; then
		check_admin_server
	fi
	if [[ "$KUBECONFIG_PATH" != *kind* ]]; then
		check_isolation
	fi
	if [[ $KEEP -eq 1 ]]; then
		kctl delete namespace "$NS" --wait=false >/dev/null || true
		log "leaving the cluster up ($([[ $was_up -eq 1 ]] && echo "it was up before" || echo "--keep"))"
	else
		kctl delete namespace "$NS" --wait=true --timeout=120s >/dev/null || true
		timed "cluster down" "$CLUSTER" down
		"$CLUSTER" leftovers || fail "down left things behind"
	fi
	printf 'smoke: %s\n' "${TIMES[@]}"
	echo "1 passed, 0 failed"
}

main "$@"
