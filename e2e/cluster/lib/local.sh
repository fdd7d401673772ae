# The `local` backend: a single-node Kubernetes made of host processes
# (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd,
# kubelet, kube-proxy, local-path-provisioner) and CoreDNS as a Deployment.
# Sourced by cluster.sh.
# shellcheck shell=bash

LOG_DIR="$ZK_CLUSTER_DIR/logs"
PID_DIR="$ZK_RUN_DIR/pids"
CONTAINERD_SOCK="$ZK_RUN_DIR/containerd.sock"
CNI_CONF_DIR="$ZK_CLUSTER_DIR/cni/net.d"
CNI_BIN_DIR="/usr/lib/cni"
IPAM_DIR="$ZK_CLUSTER_DIR/cni/ipam"
STORAGE_DIR="$ZK_CLUSTER_DIR/storage"
ADMIN_KUBECONFIG="$ZK_CLUSTER_DIR/admin.kubeconfig"
SYSCTL_SAVED="$ZK_CLUSTER_DIR/sysctl.saved"
FWD_CHAIN="ZKOPS-FORWARD"
# Directories outside the state dirs that containerd, its shims and the
# kubelet create at fixed paths. `up` records those that did not exist yet;
# `down` removes them again if they hold nothing but empty directories.
HOST_DIRS=(/run/containerd /var/lib/kubelet /var/log/containers /run/netns /var/lib/cni)
CREATED_DIRS="$ZK_CLUSTER_DIR/created-dirs"
# Where containerd mounts the pods' network namespaces, and the mark that
# `up` made it a mount point (see netns_dir_up).
NETNS_DIR=/run/netns
NETNS_MOUNTED="$ZK_CLUSTER_DIR/netns-mounted"
# Processes in start order; `down` stops them in reverse.
PROCS=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy local-path-provisioner)
# Kernel settings the kubelet (protectKernelDefaults: false) and kube-proxy
# may change; recorded at `up`, restored at `down`.
SYSCTLS_TOUCHED=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
	kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.conf.all.route_localnet
	net.netfilter.nf_conntrack_max net.netfilter.nf_conntrack_tcp_timeout_established
	net.netfilter.nf_conntrack_tcp_timeout_close_wait)
HOST_PKGS=(containerd runc containernetworking-plugins iptables conntrack socat ethtool iproute2
	ebtables ipset kmod util-linux mount procps psmisc openssl curl ca-certificates
	debootstrap debian-archive-keyring attr gcc libc6-dev)

# The kubelet's and runc's cgroup driver must match how the machine manages
# cgroups: systemd where systemd is the init system, cgroupfs elsewhere.
cgroup_driver() {
	if [[ -d /run/systemd/system ]]; then echo systemd; else echo cgroupfs; fi
}

kctl() { kubectl --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }
ctr_k8s() { ctr --address "$CONTAINERD_SOCK" -n k8s.io "$@"; }

# --- processes ---------------------------------------------------------------

# alive PID : the process exists and is not a zombie waiting to be reaped.
alive() {
	local state
	state="$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null)" || return 1
	[[ -n "$state" && "$state" != Z ]]
}

proc_pid() {
	local f="$PID_DIR/$1.pid" pid
	[[ -f "$f" ]] || return 1
	pid="$(cat "$f")"
	[[ -n "$pid" ]] && alive "$pid" && echo "$pid"
}

# start_proc NAME COMMAND... : run COMMAND in its own session, logging to
# $LOG_DIR/NAME.log, its pid in $PID_DIR/NAME.pid.
start_proc() {
	local name="$1"
	shift
	mkdir -p "$LOG_DIR" "$PID_DIR"
	# fd 9 is cluster.sh's lock: long-running processes must not keep it.
	setsid "$@" >>"$LOG_DIR/$name.log" 2>&1 </dev/null 9>&- &
	echo $! >"$PID_DIR/$name.pid"
	sleep 0.2
	proc_pid "$name" >/dev/null || die "$name exited at once; last lines of $LOG_DIR/$name.log:
$(tail -n 20 "$LOG_DIR/$name.log")"
	log "started $name (pid $(cat "$PID_DIR/$name.pid"))"
}

stop_proc() {
	local name="$1" pid i
	pid="$(proc_pid "$name")" || {
		rm -f "$PID_DIR/$name.pid"
		return 0
	}
	local t0=$SECONDS
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then
		log "$name (pid $pid) did not stop on TERM; killing"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$PID_DIR/$name.pid"
	((SECONDS - t0 < 3)) || log "stopping $name took $((SECONDS - t0))s"
}

# --- host preparation --------------------------------------------------------

local_install() {
	[[ $(id -u) -eq 0 ]] || die "the local backend needs root"
	ensure_pkgs "${HOST_PKGS[@]}"
	require_cmd kubectl containerd runc ctr iptables ip openssl curl
	[[ -x "$CNI_BIN_DIR/bridge" && -x "$CNI_BIN_DIR/host-local" ]] || die "CNI plugins missing in $CNI_BIN_DIR"
}

# local_build [COMPONENT...] : the cluster's binaries (by default those `up`
# needs; helm is a client, built by `cluster.sh build`) and cluster images.
# shellcheck disable=SC2120 # cluster.sh build passes components
local_build() {
	local start=$SECONDS comps=("$@")
	[[ ${#comps[@]} -gt 0 ]] || comps=(kubernetes etcd coredns local-path-provisioner crictl)
	"$CLUSTER_DIR/lib/build.sh" "${comps[@]}"
	log "binaries ready in $((SECONDS - start))s ($K8S_BIN)"
	start=$SECONDS
	"$REPO_DIR/images/build.sh" pause base >/dev/null
	K8S_BIN="$K8S_BIN" "$REPO_DIR/images/build.sh" coredns >/dev/null
	log "cluster images ready in $((SECONDS - start))s"
}

save_sysctl() {
	local key="$1" path
	path="/proc/sys/${key//.//}"
	[[ -e "$path" ]] || return 1
	grep -q "^$key=" "$SYSCTL_SAVED" 2>/dev/null || echo "$key=$(cat "$path")" >>"$SYSCTL_SAVED"
}

save_and_set_sysctl() {
	local key="$1" value="$2"
	save_sysctl "$key" || {
		log "sysctl $key not available; skipped"
		return 0
	}
	echo "$value" >"/proc/sys/${key//.//}"
}

record_host_dirs() {
	local d
	for d in "${HOST_DIRS[@]}"; do
		[[ -e "$d" ]] || echo "$d" >>"$CREATED_DIRS"
	done
}

remove_created_dirs() {
	[[ -f "$CREATED_DIRS" ]] || return 0
	local d
	while IFS= read -r d; do
		[[ -d "$d" ]] || continue
		find "$d" -depth -type d -empty -delete 2>/dev/null || true
		[[ ! -e "$d" ]] || log "kept $d: not empty"
	done <"$CREATED_DIRS"
}

# `ip netns add`, run by anything on the host (tests that put processes in
# network namespaces), makes $NETNS_DIR a shared bind mount of itself the first
# time it finds it is not a mount point. Done while pods run, that covers the
# mounts of their network namespaces: containerd can no longer remove them
# (unlinkat: device or resource busy), those pods stay Terminating for good
# (a local-path helper pod among them: a PVC never binds) and `down` cannot
# unmount them. So `up` makes it that mount point before any pod starts.
netns_dir_up() {
	mkdir -p "$NETNS_DIR"
	if ! mountpoint -q "$NETNS_DIR"; then
		mount --bind "$NETNS_DIR" "$NETNS_DIR"
		touch "$NETNS_MOUNTED"
	fi
	mount --make-shared "$NETNS_DIR"
}

# Undoes netns_dir_up's mount unless it holds another program's namespaces.
netns_dir_down() {
	[[ -f "$NETNS_MOUNTED" ]] && mountpoint -q "$NETNS_DIR" || return 0
	if [[ -n "$(ls -A "$NETNS_DIR" 2>/dev/null)" ]]; then
		log "kept the mount of $NETNS_DIR: it holds $(ls -A "$NETNS_DIR" | tr '\n' ' ')"
	else
		umount "$NETNS_DIR" || log "could not unmount $NETNS_DIR"
	fi
}

net_up() {
	save_and_set_sysctl net.ipv4.ip_forward 1
	save_and_set_sysctl net.bridge.bridge-nf-call-iptables 1
	local key
	for key in "${SYSCTLS_TOUCHED[@]}"; do save_sysctl "$key" || true; done
	if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
		ip link add "$BRIDGE" type bridge
	fi
	ip addr replace "$POD_GATEWAY/24" dev "$BRIDGE"
	ip addr replace "$NODE_IP/32" dev "$BRIDGE"
	ip link set "$BRIDGE" up
	# Service addresses never leave the bridge, even when no rule matches.
	ip route replace "$SERVICE_CIDR" dev "$BRIDGE"
	# Pods talk to each other and to the node, never beyond it.
	iptables -N "$FWD_CHAIN" 2>/dev/null || iptables -F "$FWD_CHAIN"
	iptables -A "$FWD_CHAIN" -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
	iptables -A "$FWD_CHAIN" -i "$BRIDGE" -j DROP
	iptables -A "$FWD_CHAIN" -o "$BRIDGE" -j DROP
	iptables -C FORWARD -j "$FWD_CHAIN" 2>/dev/null || iptables -I FORWARD 1 -j "$FWD_CHAIN"
	mkdir -p "$CNI_CONF_DIR" "$IPAM_DIR"
	cat >"$CNI_CONF_DIR/10-zkops.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "zkops",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$IPAM_DIR",
        "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$POD_GATEWAY"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
EOF
}

# --- components --------------------------------------------------------------

start_etcd() {
	mkdir -p "$ZK_CLUSTER_DIR/etcd"
	chmod 700 "$ZK_CLUSTER_DIR/etcd"
	start_proc etcd nice -n 5 "$K8S_BIN/etcd" --name "$NODE_NAME" --data-dir "$ZK_CLUSTER_DIR/etcd" \
		--listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
		--advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster "$NODE_NAME=http://127.0.0.1:$ETCD_PEER_PORT" \
		--listen-metrics-urls "" --unsafe-no-fsync --quota-backend-bytes 2147483648
	wait_for 60 "etcd health" curl -fsS "http://127.0.0.1:$ETCD_CLIENT_PORT/health"
}

start_apiserver() {
	local p="$ZK_CLUSTER_DIR/pki"
	start_proc kube-apiserver "$K8S_BIN/kube-apiserver" \
		--advertise-address "$NODE_IP" --bind-address "$NODE_IP" --secure-port "$APISERVER_PORT" \
		--etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
		--service-cluster-ip-range "$SERVICE_CIDR" \
		--client-ca-file "$p/ca.crt" --tls-cert-file "$p/apiserver.crt" --tls-private-key-file "$p/apiserver.key" \
		--kubelet-client-certificate "$p/apiserver-kubelet-client.crt" \
		--kubelet-client-key "$p/apiserver-kubelet-client.key" \
		--kubelet-certificate-authority "$p/ca.crt" --kubelet-preferred-address-types InternalIP \
		--service-account-issuer "https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
		--service-account-key-file "$p/sa.pub" --service-account-signing-key-file "$p/sa.key" \
		--authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
		--allow-privileged=true --profiling=false --event-ttl 1h \
		--cert-dir "$p"
	wait_for 120 "kube-apiserver /readyz" kctl get --raw /readyz
}

start_controllers() {
	local p="$ZK_CLUSTER_DIR/pki" cm="$ZK_CLUSTER_DIR/controller-manager.kubeconfig" sch="$ZK_CLUSTER_DIR/scheduler.kubeconfig"
	start_proc kube-controller-manager "$K8S_BIN/kube-controller-manager" \
		--kubeconfig "$cm" --authentication-kubeconfig "$cm" --authorization-kubeconfig "$cm" \
		--bind-address 127.0.0.1 --secure-port 10257 --leader-elect=false \
		--cluster-signing-cert-file "$p/ca.crt" --cluster-signing-key-file "$p/ca.key" \
		--root-ca-file "$p/ca.crt" --service-account-private-key-file "$p/sa.key" \
		--use-service-account-credentials=true --service-cluster-ip-range "$SERVICE_CIDR" \
		--controllers '*,bootstrapsigner,tokencleaner' --profiling=false
	start_proc kube-scheduler "$K8S_BIN/kube-scheduler" \
		--kubeconfig "$sch" --authentication-kubeconfig "$sch" --authorization-kubeconfig "$sch" \
		--bind-address 127.0.0.1 --secure-port 10259 --leader-elect=false --profiling=false
}

# registry_hosts DIR : hosts.toml files whose `server` replaces every
# registry (`_default`) with a closed loopback port, so that a pull attempt
# neither resolves nor reaches any registry.
REGISTRIES=(_default docker.io zkops.local)
registry_hosts() {
	local dir="$1" r
	for r in "${REGISTRIES[@]}"; do
		mkdir -p "$dir/$r"
		printf 'server = "http://127.0.0.1:9"\n\n[host."http://127.0.0.1:9"]\n  capabilities = ["pull", "resolve"]\n' \
			>"$dir/$r/hosts.toml"
	done
}

start_containerd() {
	local d="$ZK_CLUSTER_DIR/containerd"
	mkdir -p "$d/root" "$ZK_RUN_DIR/containerd"
	cat >"$d/config.toml" <<EOF
version = 2
root = "$d/root"
state = "$ZK_RUN_DIR/containerd"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "$CONTAINERD_SOCK"

[ttrpc]
  address = "$ZK_RUN_DIR/containerd-ttrpc.sock"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "zkops.local/pause:3.10"
  enable_selinux = false
  disable_apparmor = true
  # Lowering oom_score_adj needs CAP_SYS_RESOURCE, which a sandboxed root
  # may lack: keep containers at or above containerd's own score.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = $([[ "$(cgroup_driver)" == systemd ]] && echo true || echo false)
        BinaryName = "$(command -v runc)"
        Root = "$ZK_RUN_DIR/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$CNI_CONF_DIR"
    max_conf_num = 1
  # Registries resolve to a closed loopback port (see registry_hosts): an
  # image that is not preloaded fails at once instead of being fetched.
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$d/certs.d"
EOF
	registry_hosts "$d/certs.d"
	start_proc containerd containerd --config "$d/config.toml"
	wait_for 60 "containerd" ctr --address "$CONTAINERD_SOCK" version
}

import_images() {
	local t start=$SECONDS
	for t in "$@"; do
		ctr_k8s images import "$t" >/dev/null || die "import of $t failed"
	done
	log "imported $# image(s) in $((SECONDS - start))s"
}

start_kubelet() {
	local p="$ZK_CLUSTER_DIR/pki" k="$ZK_CLUSTER_DIR/kubelet"
	mkdir -p "$k" "$ZK_CLUSTER_DIR/pod-logs"
	cat >"$ZK_CLUSTER_DIR/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $p/ca.crt
authorization:
  mode: Webhook
tlsCertFile: $p/kubelet.crt
tlsPrivateKeyFile: $p/kubelet.key
cgroupDriver: $(cgroup_driver)
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
clusterDNS: [$DNS_SVC_IP]
clusterDomain: $CLUSTER_DOMAIN
resolvConf: ""
failSwapOn: false
failCgroupV1: false
podLogsDir: $ZK_CLUSTER_DIR/pod-logs
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "1%"
  nodefs.inodesFree: "1%"
  imagefs.available: "1%"
serializeImagePulls: false
registerNode: true
rotateCertificates: false
serverTLSBootstrap: false
protectKernelDefaults: false
makeIPTablesUtilChains: true
maxPods: 110
EOF
	start_proc kubelet "$K8S_BIN/kubelet" --config "$ZK_CLUSTER_DIR/kubelet-config.yaml" \
		--kubeconfig "$ZK_CLUSTER_DIR/node.kubeconfig" --root-dir "$k" \
		--hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --v 1
	wait_for 120 "node $NODE_NAME to register" kctl get node "$NODE_NAME"
}

start_kube_proxy() {
	cat >"$ZK_CLUSTER_DIR/kube-proxy-config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection:
  kubeconfig: $ZK_CLUSTER_DIR/kube-proxy.kubeconfig
hostnameOverride: $NODE_NAME
bindAddress: $NODE_IP
clusterCIDR: $POD_CIDR
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["$NODE_IP/32"]
iptables:
  localhostNodePorts: false
  masqueradeAll: false
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF
	start_proc kube-proxy "$K8S_BIN/kube-proxy" --config "$ZK_CLUSTER_DIR/kube-proxy-config.yaml"
}

apply_addons() {
	local m="$CLUSTER_DIR/manifests"
	sed -e "s|@DNS_SVC_IP@|$DNS_SVC_IP|g" -e "s|@CLUSTER_DOMAIN@|$CLUSTER_DOMAIN|g" \
		-e "s|@COREDNS_IMAGE@|$COREDNS_IMAGE|g" "$m/coredns.yaml" | kctl apply -f - >/dev/null
	sed -e "s|@STORAGE_DIR@|$STORAGE_DIR|g" -e "s|@HELPER_IMAGE@|$HELPER_IMAGE|g" \
		"$m/local-path.yaml" | kctl apply -f - >/dev/null
	mkdir -p "$STORAGE_DIR"
	start_proc local-path-provisioner "$K8S_BIN/local-path-provisioner" start \
		--kubeconfig "$ZK_CLUSTER_DIR/local-path-provisioner.kubeconfig" \
		--namespace local-path-storage --configmap-name local-path-config \
		--service-account-name local-path-provisioner --helper-image "$HELPER_IMAGE" \
		--provisioner-name rancher.io/local-path
}

# --- status ------------------------------------------------------------------

node_ready() {
	[[ "$(kctl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}

coredns_ready() {
	local n
	n="$(kctl -n kube-system get deploy coredns -o jsonpath='{.status.readyReplicas}' 2>/dev/null)"
	[[ "${n:-0}" -ge 1 ]]
}

local_running() {
	local p
	for p in "${PROCS[@]}"; do proc_pid "$p" >/dev/null || return 1; done
}

local_status() {
	local timeout="${1:-180}" p
	for p in "${PROCS[@]}"; do
		proc_pid "$p" >/dev/null || die "$p is not running (see $LOG_DIR/$p.log)"
	done
	wait_for "$timeout" "node $NODE_NAME Ready" node_ready
	wait_for "$timeout" "CoreDNS ready" coredns_ready
	kctl get nodes -o wide
	kctl -n kube-system get pods -o wide
}

# --- up / down ---------------------------------------------------------------

local_up() {
	local_install
	# shellcheck disable=SC2119 # the default components
	local_build
	if local_running && node_ready; then
		log "cluster already up"
		local_status
		return 0
	fi
	[[ ! -d "$ZK_CLUSTER_DIR" && ! -d "$ZK_RUN_DIR" ]] || local_down
	local start=$SECONDS
	mkdir -p "$ZK_CLUSTER_DIR" "$ZK_RUN_DIR" "$LOG_DIR"
	record_host_dirs
	netns_dir_up
	net_up
	pki_all
	start_etcd
	start_apiserver
	start_controllers
	start_containerd
	import_images "$IMAGES_CACHE/pause.tar" "$IMAGES_CACHE/debian-bookworm.tar" "$IMAGES_CACHE/coredns.tar"
	start_kubelet
	start_kube_proxy
	apply_addons
	local_status 300
	log "cluster up in $((SECONDS - start))s; KUBECONFIG=$ADMIN_KUBECONFIG"
}

# Everything the cluster may have left in the host's mount table.
our_mounts() {
	awk -v a="$ZK_CLUSTER_DIR" -v b="$ZK_RUN_DIR" '
		index($2, a) == 1 || index($2, b) == 1 || $2 ~ /^\/run\/netns\/cni-/ || $2 ~ /^\/var\/run\/netns\/cni-/ { print $2 }
	' /proc/self/mounts | sort -r
}

remove_pods() {
	[[ -S "$CONTAINERD_SOCK" ]] && proc_pid containerd >/dev/null || return 0
	local ids id
	# Stopping sandboxes through CRI runs CNI DEL: veths and addresses go.
	if [[ -x "$K8S_BIN/crictl" ]]; then
		"$K8S_BIN/crictl" --runtime-endpoint "unix://$CONTAINERD_SOCK" --timeout 30s rmp -fa >/dev/null 2>&1 || true
	fi
	ids="$(ctr_k8s tasks ls -q 2>/dev/null || true)"
	for id in $ids; do ctr_k8s tasks kill -s KILL "$id" >/dev/null 2>&1 || true; done
	sleep 1
	for id in $ids; do ctr_k8s tasks delete -f "$id" >/dev/null 2>&1 || true; done
	ids="$(ctr_k8s containers ls -q 2>/dev/null || true)"
	for id in $ids; do ctr_k8s containers delete "$id" >/dev/null 2>&1 || true; done
}

kill_shims() {
	local pid
	for pid in $(pgrep -f "containerd-shim-runc-v2 -namespace k8s.io -id .* -address $CONTAINERD_SOCK" 2>/dev/null); do
		kill -KILL "$pid" 2>/dev/null || true
	done
}

remove_cgroups() {
	local ctl d
	for ctl in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/*/kubepods.slice; do
		[[ -d "$ctl" ]] || continue
		while IFS= read -r d; do rmdir "$d" 2>/dev/null || true; done < <(find "$ctl" -depth -type d)
	done
}

# Remove chains named KUBE-* (kubelet, kube-proxy), CNI-* and ours, with the
# rules in built-in chains that jump to them.
iptables_cleanup() {
	local ipt table chain rule
	for ipt in iptables ip6tables; do
		command -v "$ipt" >/dev/null || continue
		for table in filter nat mangle raw; do
			"$ipt" -t "$table" -S >/dev/null 2>&1 || continue
			while IFS= read -r rule; do
				# shellcheck disable=SC2086 # rule is a list of iptables words
				eval "$ipt -t $table ${rule/-A /-D }" 2>/dev/null || true
			done < <("$ipt" -t "$table" -S 2>/dev/null | grep -E '^-A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) .*-j (KUBE-|CNI-|ZKOPS-)' || true)
			for chain in $("$ipt" -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(KUBE-|CNI-|ZKOPS-)/ {print $2}'); do
				"$ipt" -t "$table" -F "$chain" 2>/dev/null || true
			done
			for chain in $("$ipt" -t "$table" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^(KUBE-|CNI-|ZKOPS-)/ {print $2}'); do
				"$ipt" -t "$table" -X "$chain" 2>/dev/null || true
			done
		done
	done
}

restore_sysctls() {
	[[ -f "$SYSCTL_SAVED" ]] || return 0
	local line key value
	while IFS= read -r line; do
		key="${line%%=*}"
		value="${line#*=}"
		echo "$value" >"/proc/sys/${key//.//}" 2>/dev/null || true
	done <"$SYSCTL_SAVED"
}

local_down() {
	local start=$SECONDS p
	stop_proc local-path-provisioner
	stop_proc kubelet
	remove_pods
	for ((i = ${#PROCS[@]} - 1; i >= 0; i--)); do
		p="${PROCS[$i]}"
		stop_proc "$p"
	done
	kill_shims
	if [[ -x "$K8S_BIN/kube-proxy" ]]; then
		"$K8S_BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
	fi
	local m
	for m in $(our_mounts); do umount -l "$m" 2>/dev/null || log "could not unmount $m"; done
	local ns
	for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^cni-/ {print $1}'); do ip netns delete "$ns" 2>/dev/null || true; done
	netns_dir_down
	local veth
	for veth in $(ip -o link show master "$BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
		ip link delete "$veth" 2>/dev/null || true
	done
	ip route del "$SERVICE_CIDR" dev "$BRIDGE" 2>/dev/null || true
	ip link delete "$BRIDGE" 2>/dev/null || true
	iptables_cleanup
	remove_cgroups
	restore_sysctls
	rm -rf /var/lib/cni/results/zkops-* 2>/dev/null || true
	# The kubelet links container logs into /var/log/containers and opens its
	# device-plugin socket under /var/lib/kubelet whatever its root dir is.
	find /var/log/containers -maxdepth 1 -type l -lname "$ZK_CLUSTER_DIR/*" -delete 2>/dev/null || true
	if ! pgrep -x kubelet >/dev/null; then
		rm -f /var/lib/kubelet/device-plugins/kubelet.sock
	fi
	remove_created_dirs
	rm -rf "$ZK_RUN_DIR" "$ZK_CLUSTER_DIR"
	log "cluster down in $((SECONDS - start))s"
	local_leftovers
}

# Print what the cluster left behind on the host; fails if anything.
local_leftovers() {
	local found=0 p
	for p in "${PROCS[@]}"; do
		if pgrep -f "$K8S_BIN/$p" >/dev/null 2>&1; then
			echo "leftover process: $p"
			found=1
		fi
	done
	if pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" >/dev/null 2>&1; then
		echo "leftover containerd shims"
		found=1
	fi
	if [[ -n "$(our_mounts)" ]]; then
		echo "leftover mounts: $(our_mounts | tr '\n' ' ')"
		found=1
	fi
	if ip netns list 2>/dev/null | grep -q '^cni-'; then
		echo "leftover network namespaces: $(ip netns list | grep '^cni-' | tr '\n' ' ')"
		found=1
	fi
	# The CNI bridge plugin names host-side veths "veth" + 8 hex digits.
	local links
	links="$(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E "^($BRIDGE|veth[0-9a-f]{8})\$" || true)"
	if [[ -n "$links" ]]; then
		echo "leftover links: $(echo "$links" | tr '\n' ' ')"
		found=1
	fi
	if iptables-save 2>/dev/null | grep -qE '(KUBE-|CNI-|ZKOPS-)'; then
		echo "leftover iptables chains: $(iptables-save 2>/dev/null | grep -oE '^:(KUBE-|CNI-|ZKOPS-)[A-Z0-9-]+' | tr '\n' ' ')"
		found=1
	fi
	if find /var/log/containers -maxdepth 1 -type l -lname "$ZK_CLUSTER_DIR/*" 2>/dev/null | grep -q .; then
		echo "leftover log links in /var/log/containers"
		found=1
	fi
	if [[ -e "$ZK_CLUSTER_DIR" || -e "$ZK_RUN_DIR" ]]; then
		echo "leftover state dirs"
		found=1
	fi
	return "$found"
}
