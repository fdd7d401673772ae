# The project's own Docker engine: Debian's docker.io, started on its own
# socket with its own data root, exec root and pid file, so that it never
# meets (or needs) a system-wide engine. Sourced, not run; needs log, die and
# ensure_pkgs (images/lib/image.sh or e2e/cluster/lib/common.sh; image.sh is
# sourced if they are missing).
#
#   dockerd_install    install Debian's docker.io if missing
#   dockerd_start      start the engine, or reuse the one answering on the
#                      socket; exports DOCKER_HOST and DOCKER_BUILDKIT
#   dockerd_stop       stop the engine if this shell started it (unless
#                      DOCKERD_KEEP=1), once no other user holds it
#   dockerd_shutdown   stop whatever engine runs on the socket (for an engine
#                      kept running with DOCKERD_KEEP=1)
#   dockerd_env        print `export DOCKER_HOST=...` for an interactive shell
#   docker_cli ARG...  Debian's docker CLI (its BuildKit client is built in; a
#                      newer CLI without the buildx plugin cannot `docker build`)
#
# Layout (ZK_CACHE_DIR defaults to ~/.cache/zkops):
#   $ZK_CACHE_DIR/docker/docker.sock      the engine's API socket
#   $ZK_CACHE_DIR/docker/dockerd.log      its log; daemon.json its settings
#   $ZK_CACHE_DIR/docker-<major.minor>/   data root: images, containers and
#                                         BuildKit's cache mounts
#   /run/zkops-docker                     exec root: pid file, containerd's
#                                         state and sockets
#
# Networking: the engine leaves the host's firewall, forwarding sysctl and
# links alone (no iptables rules, no docker0 bridge; Docker does not remove its
# chains when it stops, and the local cluster checks that nothing of that kind
# is left behind). Containers and builds use `--network host`; user-defined
# networks still work. DOCKERD_EXTRA_ARGS adds dockerd flags.
# shellcheck shell=bash

declare -F ensure_pkgs >/dev/null || . "$(dirname "${BASH_SOURCE[0]}")/image.sh"

ZK_CACHE_DIR="${ZK_CACHE_DIR:-$HOME/.cache/zkops}"
DOCKERD_DIR="${DOCKERD_DIR:-$ZK_CACHE_DIR/docker}"
DOCKERD_SOCK="$DOCKERD_DIR/docker.sock"
DOCKERD_EXEC_ROOT="${DOCKERD_EXEC_ROOT:-/run/zkops-docker}"
DOCKERD_PIDFILE="$DOCKERD_EXEC_ROOT/dockerd.pid"
DOCKER_CLI="${DOCKER_CLI:-/usr/bin/docker}"
# Debian's package; its CLI lands in /usr/bin, beside any other docker on PATH.
DOCKERD_PKGS=(docker.io jq)
# The default runtime: runc, within root's capability bounding set (jq edits
# the container's config).
DOCKERD_RUNTIME="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/runc-bounded"
# Whether this shell started the engine, and the fds of its locks.
DOCKERD_OWNED=0
DOCKERD_USE_FD=""
DOCKERD_START_FD=""

docker_cli() { "$DOCKER_CLI" "$@"; }

dockerd_install() {
	[[ $(id -u) -eq 0 ]] || die "the Docker engine needs root"
	ensure_pkgs "${DOCKERD_PKGS[@]}"
}

# dockerd_data_root : the data root, keyed by the engine's major.minor version
# (a newer engine may change the layout of what it stores).
dockerd_data_root() {
	local version
	version="$(dockerd --version | sed -n 's/^Docker version \([0-9]*\.[0-9]*\).*/\1/p')"
	[[ -n "$version" ]] || die "cannot read dockerd's version"
	echo "$ZK_CACHE_DIR/docker-$version"
}

dockerd_env() { echo "export DOCKER_HOST=unix://$DOCKERD_SOCK DOCKER_BUILDKIT=1"; }

dockerd_answers() { DOCKER_HOST="unix://$DOCKERD_SOCK" timeout 10 "$DOCKER_CLI" info >/dev/null 2>&1; }

# dockerd_alive PID : the process exists and is not a zombie.
dockerd_alive() {
	local state
	state="$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null)" || return 1
	[[ -n "$state" && "$state" != Z ]]
}

# dockerd_pid : the running engine's pid, if any.
dockerd_pid() {
	local pid
	pid="$(cat "$DOCKERD_PIDFILE" 2>/dev/null)" && dockerd_alive "$pid" && echo "$pid"
}

# Two locks: whoever starts, reuses or stops the engine holds "start"
# (exclusive, briefly); every user holds "use" (shared) until it is done, and
# stopping takes "use" exclusively, so the engine stops only when no one else
# uses it.
dockerd_lock_start() {
	mkdir -p "$DOCKERD_DIR"
	exec {DOCKERD_START_FD}>"$DOCKERD_DIR/dockerd.start.lock"
	flock -w 600 "$DOCKERD_START_FD" || die "timed out waiting for another start or stop of the Docker engine"
}

dockerd_unlock_start() { exec {DOCKERD_START_FD}>&-; }

# dockerd_hold MODE : the "use" lock, shared (-s) or exclusive (-x).
dockerd_hold() {
	[[ -n "$DOCKERD_USE_FD" ]] || exec {DOCKERD_USE_FD}>"$DOCKERD_DIR/dockerd.use.lock"
	flock -w 3600 "$1" "$DOCKERD_USE_FD" || die "timed out waiting for the Docker engine's other users"
}

dockerd_release() {
	[[ -n "$DOCKERD_USE_FD" ]] || return 0
	exec {DOCKERD_USE_FD}>&-
	DOCKERD_USE_FD=""
}

dockerd_start() {
	export DOCKER_HOST="unix://$DOCKERD_SOCK" DOCKER_BUILDKIT=1
	[[ -z "$DOCKERD_USE_FD" ]] || return 0
	dockerd_lock_start
	if dockerd_answers; then
		dockerd_hold -s
		dockerd_unlock_start
		return 0
	fi
	dockerd_install
	local data_root start=$SECONDS
	data_root="$(dockerd_data_root)"
	mkdir -p "$data_root" "$DOCKERD_EXEC_ROOT"
	# An engine that crashed leaves its pid file and containerd behind.
	dockerd_kill
	# BuildKit keeps its cache mounts (cargo's registry and target directory)
	# up to this size.
	# Containers run through runc-bounded, which keeps a --privileged
	# container's capabilities within what root here holds (kind's nodes).
	printf '{"features":{"buildkit":true},"builder":{"gc":{"enabled":true,"defaultKeepStorage":"%s"}},"runtimes":{"runc-bounded":{"path":"%s"}},"default-runtime":"runc-bounded"}\n' \
		"${DOCKERD_BUILD_CACHE:-16GB}" "$DOCKERD_RUNTIME" >"$DOCKERD_DIR/daemon.json"
	local args=(--host "unix://$DOCKERD_SOCK" --data-root "$data_root" --exec-root "$DOCKERD_EXEC_ROOT"
		--pidfile "$DOCKERD_PIDFILE" --config-file "$DOCKERD_DIR/daemon.json"
		--iptables=false --ip-forward=false --ip-masq=false --bridge=none
		# Root here may not lower an OOM score (no CAP_SYS_RESOURCE).
		--oom-score-adjust=0)
	# shellcheck disable=SC2206 # extra flags are split on spaces
	args+=(${DOCKERD_EXTRA_ARGS:-})
	log "starting dockerd ($(dockerd --version)) on $DOCKERD_SOCK, data root $data_root"
	# fd 9 is cluster.sh's lock, the others this shell's: the engine keeps none of them.
	setsid dockerd "${args[@]}" >>"$DOCKERD_DIR/dockerd.log" 2>&1 </dev/null 9>&- {DOCKERD_START_FD}>&- &
	local pid=$! deadline=$((SECONDS + 60))
	until dockerd_answers; do
		if ((SECONDS > deadline)) || ! { sleep 0.5 && dockerd_alive "$pid"; }; then
			dockerd_unlock_start
			die "dockerd did not answer on $DOCKERD_SOCK; last lines of $DOCKERD_DIR/dockerd.log:
$(tail -n 20 "$DOCKERD_DIR/dockerd.log")"
		fi
	done
	DOCKERD_OWNED=1
	dockerd_hold -s
	dockerd_unlock_start
	log "dockerd ready in $((SECONDS - start))s (storage driver $(docker_cli info -f '{{.Driver}}'))"
}

# dockerd_kill : stop the engine of the pid file, and its containerd (TERM,
# then KILL after 60 s); stops running containers first (dockerd does that on
# TERM).
dockerd_kill() {
	local pid cpid i
	cpid="$(cat "$DOCKERD_EXEC_ROOT/containerd/containerd.pid" 2>/dev/null)" || cpid=""
	if pid="$(dockerd_pid)"; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 600; i++)); do
			dockerd_pid >/dev/null || break
			sleep 0.1
		done
		if dockerd_pid >/dev/null; then
			log "dockerd (pid $pid) did not stop on TERM; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	# The managed containerd stops with dockerd; one left by a killed engine does not.
	if [[ -n "$cpid" && "$(cat "/proc/$cpid/comm" 2>/dev/null)" == containerd ]]; then
		kill -TERM "$cpid" 2>/dev/null || true
		sleep 1
		kill -KILL "$cpid" 2>/dev/null || true
	fi
	rm -f "$DOCKERD_PIDFILE"
	# What the engine leaves mounted: libnetwork's handle on the host's network namespace.
	findmnt -rno TARGET | { grep "^$DOCKERD_EXEC_ROOT/" || true; } | sort -r | xargs -r umount -l
}

dockerd_stop() {
	if [[ $DOCKERD_OWNED -ne 1 ]]; then
		dockerd_release
		return 0
	fi
	if [[ ${DOCKERD_KEEP:-0} == 1 ]]; then
		log "leaving dockerd running (DOCKERD_KEEP=1); $(dockerd_env)"
		dockerd_release
		return 0
	fi
	dockerd_shutdown
}

dockerd_shutdown() {
	# Locks are taken in one order, "start" then "use": a shell still holding "use" while it waits for "start"
	# would deadlock with a stopper that holds "start" and waits for every "use" to go.
	dockerd_release
	dockerd_lock_start
	dockerd_hold -x
	local start=$SECONDS
	dockerd_kill
	DOCKERD_OWNED=0
	dockerd_release
	dockerd_unlock_start
	log "dockerd stopped in $((SECONDS - start))s"
}
