#!/usr/bin/env bash
# Builds the project's container images without pulling anything and without
# a Docker engine. Each image is written as a docker-archive tarball under
# $ZK_CACHE_DIR/images and its path printed on stdout.
#
#   images/build.sh [base|pause|zookeeper|zk-server|zk-operator|coredns|all]...
#
# Images (all names under zkops.local/, never pullable):
#   zkops.local/debian:bookworm      debootstrap minbase root (the base layer)
#   zkops.local/pause:3.10           static pod sandbox binary
#   zkops.local/zookeeper:3.8.0      Apache ZooKeeper from Debian's package,
#                                    official image layout (/conf /data /datalog /logs),
#                                    also tagged 3.8.0-rolled
#   zkops.local/zk-server:dev        target/release/zk-server on the base, also
#   zkops.local/zk-server:<version>  tagged with the workspace version: the operator's
#                                    default image of Native members, and rolled
# The -rolled/rolled tags name the same images: e2e scenario h changes a running
# ensemble's image to them, which rolls every member onto the same server.
#   zkops.local/zk-operator:dev      target/release/zk-operator on the base
#                                    (target/debug/ with ZK_IMAGE_PROFILE=debug)
#   zkops.local/coredns:1.14.7       the cluster's CoreDNS (static binary)
set -euo pipefail

IMAGES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$IMAGES_DIR/.." && pwd)"
# shellcheck source=images/lib/image.sh
. "$IMAGES_DIR/lib/image.sh"

ZK_UID=1000
APP_UID=65532

PAUSE_REF="$IMAGE_PREFIX/pause:3.10"
BASE_REF="$IMAGE_PREFIX/debian:$DEBIAN_SUITE"
ZOOKEEPER_REF="$IMAGE_PREFIX/zookeeper:3.8.0 $IMAGE_PREFIX/zookeeper:3.8.0-rolled"
COREDNS_REF="$IMAGE_PREFIX/coredns:1.14.7"
# Where the cluster's binaries are cached (see e2e/cluster/lib/build.sh).
K8S_BIN="${K8S_BIN:-$ZK_CACHE_DIR/k8s-${K8S_VERSION:-v1.33.13}/bin}"

trap chroot_umount_all EXIT

require_root() {
	[[ $(id -u) -eq 0 ]] || die "building images needs root (debootstrap, chroot, overlay mounts)"
}

build_base() {
	require_root
	mkdir -p "$IMAGES_CACHE/rootfs" "$IMAGES_CACHE/layers"
	# Several builds may need the base at once (scripts/test.sh's background jobs): one makes it.
	local lock
	exec {lock}>"$IMAGES_CACHE/rootfs/$BASE_KEY.lock"
	flock "$lock"
	if [[ ! -f "$BASE_ROOT/.complete" ]]; then
		ensure_pkgs debootstrap debian-archive-keyring
		log "debootstrap $DEBIAN_SUITE (minbase) into $BASE_ROOT"
		rm -rf "$BASE_ROOT"
		local start=$SECONDS
		nice -n 10 debootstrap --variant=minbase --include=ca-certificates,libgssapi-krb5-2 \
			"$DEBIAN_SUITE" "$BASE_ROOT" "$DEBIAN_MIRROR" >"$IMAGES_CACHE/rootfs/$BASE_KEY.log" 2>&1 ||
			die "debootstrap failed; see $IMAGES_CACHE/rootfs/$BASE_KEY.log"
		rm -rf "$BASE_ROOT/var/cache/apt/archives/"*.deb "$BASE_ROOT/var/lib/apt/lists/"* \
			"$BASE_ROOT/var/log/"*.log "$BASE_ROOT/var/log/apt" "$BASE_ROOT/var/cache/ldconfig/aux-cache" \
			"$BASE_ROOT/debootstrap"
		find "$BASE_ROOT/dev" -mindepth 1 -delete
		: >"$BASE_ROOT/etc/resolv.conf"
		echo "$BASE_KEY" >"$BASE_ROOT/etc/hostname"
		rm -f "$BASE_LAYER"
		touch "$BASE_ROOT/.complete"
		log "debootstrap done in $((SECONDS - start))s"
	fi
	if [[ ! -f "$BASE_LAYER" ]]; then
		layer_tar "$BASE_ROOT" "$BASE_LAYER.tmp" --exclude=./.complete
		mv -f "$BASE_LAYER.tmp" "$BASE_LAYER"
	fi
	local out="$IMAGES_CACHE/debian-$DEBIAN_SUITE.tar"
	if [[ ! -f "$out" || "$out" -ot "$BASE_LAYER" ]]; then
		write_archive "$out" "$BASE_REF" '{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/bash"]}' "$BASE_LAYER"
	fi
	exec {lock}>&-
	echo "$out"
}

build_pause() {
	local out="$IMAGES_CACHE/pause.tar" src="$IMAGES_DIR/pause/pause.c"
	if [[ -f "$out" && "$out" -nt "$src" ]]; then
		echo "$out"
		return
	fi
	ensure_pkgs gcc libc6-dev
	local work
	mkdir -p "$IMAGES_CACHE"
	work="$(mktemp -d "$IMAGES_CACHE/pause.XXXX")"
	mkdir -p "$work/root"
	gcc -Os -static -Wall -Wextra -Werror -o "$work/root/pause" "$src"
	strip "$work/root/pause"
	layer_tar "$work/root" "$work/layer.tar"
	write_archive "$out" "$PAUSE_REF" '{"Entrypoint":["/pause"],"User":"65535:65535"}' "$work/layer.tar"
	rm -rf "$work"
	echo "$out"
}

build_zookeeper() {
	require_root
	build_base >/dev/null
	ensure_pkgs attr
	local stage="$IMAGES_CACHE/zookeeper-files"
	rm -rf "$stage"
	mkdir -p "$stage"
	cp "$IMAGES_DIR/zookeeper/"{docker-entrypoint.sh,zkEnv.sh,log4j.properties} "$stage/"
	# Apache's Prometheus metrics provider (Debian packages none), fetched from Maven Central by
	# scripts/deps.sh: an ensemble with spec.metrics.enabled names its class.
	local metrics_jars="${ZK_CACHE_DIR:-$HOME/.cache/zkops}/maven/zookeeper-prometheus-metrics-3.8.0"
	[[ -f "$metrics_jars/complete" ]] || die "$metrics_jars is missing: run scripts/deps.sh first"
	cp "$metrics_jars"/*.jar "$stage/"
	local script
	script="$(
		cat <<EOF
apt-get update -qq
# Debian's zookeeper package depends on the full default-jre (X11, Mesa);
# the server needs only the headless JRE and the ZooKeeper libraries, so
# its own files are unpacked from the package next to those.
apt-get install -y -qq --no-install-recommends default-jre-headless libzookeeper-java libservlet-api-java adduser >/dev/null
cd /tmp && apt-get download -qq zookeeper && dpkg-deb -x zookeeper_*.deb / && rm -f zookeeper_*.deb && cd /
rm -rf /usr/bin/zooinspector /usr/share/zookeeper/zooinspector /etc/zookeeper/zooinspector
adduser --system --group --home /data --no-create-home zookeeper >/dev/null
groupmod -g $ZK_UID zookeeper 2>/dev/null || groupadd -g $ZK_UID zookeeper
usermod -u $ZK_UID -g $ZK_UID -d /data zookeeper 2>/dev/null || useradd -u $ZK_UID -g $ZK_UID -d /data -s /bin/bash zookeeper
install -m 0755 /mnt/docker-entrypoint.sh /docker-entrypoint.sh
install -m 0644 /mnt/zkEnv.sh /usr/share/zookeeper/bin/zkEnv.sh
install -d /usr/share/zookeeper/image
install -m 0644 /mnt/log4j.properties /usr/share/zookeeper/image/log4j.properties
install -d /usr/share/zookeeper/metrics
install -m 0644 /mnt/*.jar /usr/share/zookeeper/metrics/
install -d -o $ZK_UID -g $ZK_UID /conf /data /datalog /logs
install -m 0644 -o $ZK_UID -g $ZK_UID /mnt/log4j.properties /conf/log4j.properties
rm -rf /var/lib/zookeeper /var/log/zookeeper /etc/zookeeper/conf /usr/share/doc/* /usr/share/man/*
ln -s /conf /etc/zookeeper/conf
ln -s /logs /var/log/zookeeper
ln -s /data /var/lib/zookeeper
/usr/bin/java -version 2>&1 | head -1
EOF
	)"
	local layer
	layer="$(app_layer zookeeper "$script" "$stage")"
	rm -rf "$stage"
	local out="$IMAGES_CACHE/zookeeper.tar"
	if [[ ! -f "$out" || "$out" -ot "$layer" ]] || ! archive_has_refs "$out" "$ZOOKEEPER_REF"; then
		local cfg
		cfg="$(printf '{"User":"%s:%s","Env":["PATH=/usr/share/zookeeper/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","ZOO_CONF_DIR=/conf","ZOO_DATA_DIR=/data","ZOO_DATA_LOG_DIR=/datalog","ZOO_LOG_DIR=/logs"],"Entrypoint":["/docker-entrypoint.sh"],"Cmd":["zkServer.sh","start-foreground"],"WorkingDir":"/","ExposedPorts":{"2181/tcp":{},"2888/tcp":{},"3888/tcp":{},"8080/tcp":{}},"Volumes":{"/data":{},"/datalog":{},"/logs":{}}}' "$ZK_UID" "$ZK_UID")"
		write_archive "$out" "$ZOOKEEPER_REF" "$cfg" "$BASE_LAYER" "$layer"
	fi
	echo "$out"
}

# Image settings of an app beyond user, entrypoint and path, as the
# Dockerfile's targets have them.
declare -A APP_CONFIG=([zk-server]=',"ExposedPorts":{"2181/tcp":{},"2888/tcp":{},"3888/tcp":{},"8080/tcp":{}}' [zk-operator]='')

# build_app NAME REF : runtime image for target/$ZK_IMAGE_PROFILE/NAME
# (release unless ZK_IMAGE_PROFILE=debug; the binary is stripped either way),
# written to $IMAGES_OUT/NAME.tar ($IMAGES_CACHE unless set).
build_app() {
	local name="$1" ref="$2" profile="${ZK_IMAGE_PROFILE:-release}"
	local bin="${CARGO_TARGET_DIR:-$REPO_DIR/target}/$profile/$name"
	[[ -x "$bin" ]] || die "$bin not found: build it first (cargo build -p $name, with --release unless ZK_IMAGE_PROFILE=debug)"
	require_root
	build_base >/dev/null
	ensure_pkgs attr
	local work
	work="$(mktemp -d "$IMAGES_CACHE/$name.XXXX")"
	mkdir -p "$work/root/usr/local/bin" "$work/root/etc"
	install -m 0755 -s "$bin" "$work/root/usr/local/bin/$name"
	# Check the binary's shared libraries are all present in the base root.
	local missing
	missing="$(ldd "$bin" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3}' |
		while read -r lib; do [[ -e "$BASE_ROOT$lib" ]] || echo "$lib"; done)"
	[[ -z "$missing" ]] || die "$name needs libraries missing from the base image: $missing"
	# Non-root user: add it to copies of the base's passwd and group files.
	cp "$BASE_ROOT/etc/passwd" "$BASE_ROOT/etc/group" "$work/root/etc/"
	echo "app:x:$APP_UID:$APP_UID:app:/nonexistent:/usr/sbin/nologin" >>"$work/root/etc/passwd"
	echo "app:x:$APP_UID:" >>"$work/root/etc/group"
	layer_tar "$work/root" "$work/layer.tar"
	local out="${IMAGES_OUT:-$IMAGES_CACHE}/$name.tar" cfg
	cfg="$(printf '{"User":"%s:%s","Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":["/usr/local/bin/%s"],"WorkingDir":"/"%s}' "$APP_UID" "$APP_UID" "$name" "${APP_CONFIG[$name]}")"
	write_archive "$out" "$ref" "$cfg" "$BASE_LAYER" "$work/layer.tar"
	rm -rf "$work"
	echo "$out"
}

# build_static NAME REF BINARY : single-layer image of a static binary.
build_static() {
	local out="$IMAGES_CACHE/$1.tar"
	static_image "$out" "$2" "$3"
	echo "$out"
}

main() {
	local targets=("$@")
	[[ ${#targets[@]} -gt 0 ]] || targets=(all)
	local t
	for t in "${targets[@]}"; do
		case "$t" in
		base) build_base ;;
		pause) build_pause ;;
		coredns) build_static coredns "$COREDNS_REF" "$K8S_BIN/coredns" ;;
		zookeeper) build_zookeeper ;;
		zk-server) build_app zk-server "$ZK_SERVER_REF" ;;
		zk-operator) build_app zk-operator "$ZK_OPERATOR_REF" ;;
		all)
			build_pause
			build_base
			build_zookeeper
			local app
			local -A refs=([zk-server]="$ZK_SERVER_REF" [zk-operator]="$ZK_OPERATOR_REF")
			for app in zk-server zk-operator; do
				if [[ -x "${CARGO_TARGET_DIR:-$REPO_DIR/target}/${ZK_IMAGE_PROFILE:-release}/$app" ]]; then
					build_app "$app" "${refs[$app]}"
				else
					log "skipping $app: no ${ZK_IMAGE_PROFILE:-release} binary"
				fi
			done
			;;
		*) die "unknown image: $t (base|pause|zookeeper|zk-server|zk-operator|coredns|all)" ;;
		esac
	done
}

main "$@"
