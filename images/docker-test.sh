#!/usr/bin/env bash
# Tests the images the Dockerfile builds (images/docker-build.sh) on the
# project's own Docker engine, which it starts and stops (or reuses):
#
#   1. the server image from `docker build` and the one images/build.sh makes
#      agree: image settings (user, entrypoint, command, exposed ports, working
#      directory, environment), the user's name and groups inside, the
#      binary's path and mode, and the shared libraries it loads (`ldd` inside
#      each image, none missing);
#   2. `docker run` of the server image with a minimal zoo.cfg mounted serves
#      a session of Apache's zkCli (create a znode, read it back in a second
#      session); the container is removed afterwards;
#   3. `docker run` of the operator image answers `--help`.
#
# images/build.sh's image is made from target/$ZK_IMAGE_PROFILE/zk-server
# (debug unless set; build it first) into a temporary directory.
# Prints "N passed, M failed" last; exits non-zero if anything failed.
set -euo pipefail

IMAGES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$IMAGES_DIR/.." && pwd)"
# shellcheck source=images/lib/image.sh
. "$IMAGES_DIR/lib/image.sh"
# shellcheck source=images/lib/dockerd.sh
. "$IMAGES_DIR/lib/dockerd.sh"

SERVER="$IMAGE_PREFIX/zk-server:dev"
OPERATOR="$IMAGE_PREFIX/zk-operator:dev"
CONTAINER="zkops-docker-test-server"
PASSED=0
FAILED=0
WORK=""

pass() {
	PASSED=$((PASSED + 1))
	log "PASS $*"
}
fail() {
	FAILED=$((FAILED + 1))
	log "FAIL $*"
}

cleanup() {
	docker_cli rm -f "$CONTAINER" >/dev/null 2>&1 || true
	[[ -z "$WORK" ]] || rm -rf "$WORK"
	dockerd_stop
}

# describe IMAGE BINARY : what must be the same in both server images.
describe() {
	local image="$1" bin="$2"
	docker_cli image inspect -f 'user={{.Config.User}}
entrypoint={{json .Config.Entrypoint}}
cmd={{json .Config.Cmd}}
ports={{json .Config.ExposedPorts}}
workdir={{.Config.WorkingDir}}
env={{json .Config.Env}}' "$image"
	docker_cli run --rm --network none --entrypoint /bin/sh "$image" -c \
		"id; stat -c 'binary=%n %a %U:%G' $bin; ldd $bin" |
		sed -E 's/ \(0x[0-9a-f]+\)$//; s/^\t//'
}

# Compares the two server images' descriptions; any line of difference fails.
test_same_as_build_sh() {
	local archive loaded
	archive="$(IMAGES_OUT="$WORK" ZK_IMAGE_PROFILE="${ZK_IMAGE_PROFILE:-debug}" "$IMAGES_DIR/build.sh" zk-server)"
	# Loading takes the tags: they go back to the image docker build made.
	local built
	built="$(docker_cli image inspect -f '{{.Id}}' "$SERVER")"
	docker_cli load -q -i "$archive" >/dev/null
	loaded="$(docker_cli image inspect -f '{{.Id}}' "$SERVER")"
	local ref refs
	read -ra refs <<<"$ZK_SERVER_REF"
	for ref in "${refs[@]}"; do docker_cli tag "$built" "$ref"; done
	describe "$built" /usr/local/bin/zk-server >"$WORK/docker-build.txt"
	describe "$loaded" /usr/local/bin/zk-server >"$WORK/build-sh.txt"
	[[ "$loaded" == "$built" ]] || docker_cli rmi "$loaded" >/dev/null
	if grep -q 'not found' "$WORK/docker-build.txt" "$WORK/build-sh.txt"; then
		fail "a shared library of zk-server is missing: $(grep -h 'not found' "$WORK"/*.txt)"
	elif ! diff -u "$WORK/build-sh.txt" "$WORK/docker-build.txt" >&2; then
		fail "the server images of images/build.sh (-) and docker build (+) differ"
	else
		pass "the server images agree: $(tr '\n' ' ' <"$WORK/docker-build.txt")"
	fi
}

# free_port : a TCP port nothing listens on.
free_port() {
	local port
	for port in $(shuf -i 20000-29999 -n 50); do
		ss -Hltn "sport = :$port" | grep -q . || {
			echo "$port"
			return 0
		}
	done
	die "no free port"
}

# zkcli PORT COMMAND... : one session of Apache's CLI running COMMAND.
zkcli() {
	local port="$1"
	shift
	timeout 60 java -cp "$("$REPO_DIR/compat/apache_classpath.sh")" org.apache.zookeeper.ZooKeeperMain \
		-server "127.0.0.1:$port" "$@" 2>&1
}

test_server_serves_zkcli() {
	local port value
	port="$(free_port)"
	value="served-by-docker-run-$RANDOM"
	printf 'tickTime=2000\ndataDir=/tmp/zk-data\nclientPort=%s\nadmin.enableServer=false\n' "$port" >"$WORK/zoo.cfg"
	chmod 0644 "$WORK/zoo.cfg"
	docker_cli run -d --name "$CONTAINER" --network host -v "$WORK/zoo.cfg:/conf/zoo.cfg:ro" \
		"$SERVER" /conf/zoo.cfg >/dev/null
	local deadline=$((SECONDS + 60))
	until timeout 1 bash -c "echo >/dev/tcp/127.0.0.1/$port" 2>/dev/null; do
		if ((SECONDS > deadline)) || [[ "$(docker_cli inspect -f '{{.State.Running}}' "$CONTAINER")" != true ]]; then
			fail "the server container did not listen on $port: $(docker_cli logs "$CONTAINER" 2>&1 | tail -n 20)"
			return
		fi
		sleep 0.5
	done
	local created got
	created="$(zkcli "$port" create /docker-run "$value")" || true
	got="$(zkcli "$port" get /docker-run)" || true
	docker_cli rm -f "$CONTAINER" >/dev/null
	if docker_cli ps -a --format '{{.Names}}' | grep -qx "$CONTAINER"; then
		fail "the server container was not removed"
	elif [[ "$created" != *"Created /docker-run"* ]]; then
		fail "zkCli create through docker run: $created"
	elif ! grep -qx "$value" <<<"$got"; then
		fail "zkCli get through docker run read back something else: $got"
	else
		pass "docker run of $SERVER served zkCli (create, then get in a second session), container removed"
	fi
}

test_operator_answers() {
	local out
	if ! out="$(docker_cli run --rm --network none "$OPERATOR" --help 2>&1)"; then
		fail "docker run $OPERATOR --help: $out"
	elif [[ "$out" != *"Usage: zk-operator"* ]]; then
		fail "docker run $OPERATOR --help printed no usage: $out"
	else
		pass "docker run $OPERATOR --help answers ($(head -n 1 <<<"$out"))"
	fi
}

main() {
	[[ $(id -u) -eq 0 ]] || die "run as root (the Docker engine needs it)"
	dockerd_start
	trap cleanup EXIT
	"$IMAGES_DIR/docker-build.sh" >/dev/null
	WORK="$(mktemp -d)"
	test_same_as_build_sh
	test_server_serves_zkcli
	test_operator_answers
	echo "$PASSED passed, $FAILED failed"
	((FAILED == 0))
}

main "$@"
