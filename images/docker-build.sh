#!/usr/bin/env bash
# Builds the server's and the operator's images from the Dockerfile with the
# project's own Docker engine (images/lib/dockerd.sh), where no registry
# answers: starts the engine (or reuses a running one), makes the two bases
# locally, runs `docker build --target server` and `--target operator`, saves
# each image as a docker-archive under $ZK_CACHE_DIR/images/docker/ (the names
# images/build.sh uses: zk-server.tar, zk-operator.tar; their paths are
# printed on stdout) and stops the engine it started.
#
#   images/docker-build.sh [--keep]   build; --keep leaves the engine running
#   images/docker-build.sh env        print `export DOCKER_HOST=...` for it
#   images/docker-build.sh stop       stop an engine left running
#
# The bases (build arguments of the Dockerfile):
#   RUNTIME_IMAGE  zkops.local/debian:bookworm, images/build.sh's debootstrap
#                  base, loaded from its archive
#   BUILDER_IMAGE  zkops.local/rust:<version>-bookworm, that base with the C
#                  toolchain and headers and the host's Rust toolchain
#                  (images/rust-builder/Dockerfile); rebuilt only when the
#                  toolchain, the base or that Dockerfile change
# Builds use the host's network (the engine has no bridge) for apt-get and
# crates.io; cargo's registry and target directory live in BuildKit cache
# mounts in the engine's data root, so a warm build compiles only what changed.
set -euo pipefail

IMAGES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$IMAGES_DIR/.." && pwd)"
# shellcheck source=images/lib/image.sh
. "$IMAGES_DIR/lib/image.sh"
# shellcheck source=images/lib/dockerd.sh
. "$IMAGES_DIR/lib/dockerd.sh"

DOCKER_IMAGES="$IMAGES_CACHE/docker"
RUNTIME_REF="$IMAGE_PREFIX/debian:$DEBIAN_SUITE"
# The Rust version the Dockerfile's public builder base names.
RUST_VERSION="$(sed -n 's/^ARG RUST_VERSION=//p' "$REPO_DIR/Dockerfile")"
BUILDER_REF="$IMAGE_PREFIX/rust:$RUST_VERSION-$DEBIAN_SUITE"
BUILDER_KEY_LABEL="org.zkops.builder-key"

# image_id REF : the engine's id of REF, empty if it has none.
image_id() { docker_cli image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }

# archive_id ARCHIVE : the id an image archive loads as (its config's digest).
archive_id() { tar -xOf "$1" manifest.json | sed -n 's/.*"Config":"\([0-9a-f]*\)\.json".*/sha256:\1/p'; }

load_runtime_base() {
	local archive
	archive="$("$IMAGES_DIR/build.sh" base)"
	if [[ "$(image_id "$RUNTIME_REF")" != "$(archive_id "$archive")" ]]; then
		docker_cli load -q -i "$archive" >&2
	fi
}

# host_toolchain : the sysroot of the host's Rust toolchain of RUST_VERSION.
host_toolchain() {
	local version
	version="$(rustc --version | cut -d' ' -f2)"
	[[ "$version" == "$RUST_VERSION" || "$version" == "$RUST_VERSION".* ]] ||
		die "the host's rustc is $version; the Dockerfile builds with $RUST_VERSION"
	readlink -f "$(rustc --print sysroot)"
}

make_builder_base() {
	local sysroot version key
	sysroot="$(host_toolchain)"
	version="$(rustc --version | cut -d' ' -f2)"
	key="$(
		{
			rustc -vV
			image_id "$RUNTIME_REF"
			cat "$IMAGES_DIR/rust-builder/Dockerfile"
			host_cas | xargs -r cat
		} | sha256sum | cut -c1-16
	)"
	if [[ "$(docker_cli image inspect -f "{{index .Config.Labels \"$BUILDER_KEY_LABEL\"}}" "$BUILDER_REF" 2>/dev/null)" == "$key" ]]; then
		return 0
	fi
	log "building $BUILDER_REF from $sysroot ($key)"
	# The context: the toolchain without its documentation (share/), hard links
	# where it can be, and the host's own certificate authorities.
	local context="$DOCKER_IMAGES/rust-builder-context"
	rm -rf "$context"
	mkdir -p "$context/toolchain" "$context/ca-certificates"
	cp -al "$sysroot"/{bin,lib,libexec} "$context/toolchain/" 2>/dev/null ||
		cp -a "$sysroot"/{bin,lib,libexec} "$context/toolchain/"
	host_cas | xargs -r cp -t "$context/ca-certificates/"
	docker_cli build --network host -q -f "$IMAGES_DIR/rust-builder/Dockerfile" \
		--build-arg "BASE_IMAGE=$RUNTIME_REF" --build-arg "RUST_VERSION=$version" \
		--label "$BUILDER_KEY_LABEL=$key" -t "$BUILDER_REF" "$context" >&2
	rm -rf "$context"
	# The builder it replaces, and the copy of the context BuildKit keeps.
	docker_cli image prune -f >/dev/null
	docker_cli builder prune -f --filter type=source.local >/dev/null
}

# host_cas : the certificate authorities the host adds to Debian's.
host_cas() { find /usr/local/share/ca-certificates -name '*.crt' 2>/dev/null | sort || true; }

# build_target TARGET NAME REFS : `docker build --target TARGET` tagged with
# REFS (separated by spaces), saved as $DOCKER_IMAGES/NAME.tar unless the
# archive already holds that image.
build_target() {
	local target="$1" name="$2" refs tags=() ref
	read -ra refs <<<"$3"
	for ref in "${refs[@]}"; do tags+=(-t "$ref"); done
	local start=$SECONDS
	docker_cli build --network host --progress=plain --target "$target" \
		--build-arg "BUILDER_IMAGE=$BUILDER_REF" --build-arg "RUNTIME_IMAGE=$RUNTIME_REF" \
		"${tags[@]}" "$REPO_DIR" >&2
	log "docker build --target $target: $((SECONDS - start))s"
	# What the archive holds (image id and tags) is noted beside it.
	local out="$DOCKER_IMAGES/$name.tar" saved
	saved="$(image_id "${refs[0]}") $3"
	mkdir -p "$DOCKER_IMAGES"
	if [[ ! -f "$out" || "$(cat "$out.saved" 2>/dev/null)" != "$saved" ]]; then
		docker_cli save -o "$out.tmp" "${refs[@]}"
		mv -f "$out.tmp" "$out"
		echo "$saved" >"$out.saved"
		log "image ${refs[*]} -> $out ($(du -h "$out" | cut -f1))"
	fi
	echo "$out"
}

build() {
	require_root
	dockerd_start
	trap dockerd_stop EXIT
	local start=$SECONDS
	load_runtime_base
	make_builder_base
	log "bases ready in $((SECONDS - start))s"
	build_target server zk-server "$ZK_SERVER_REF"
	build_target operator zk-operator "$ZK_OPERATOR_REF"
	log "images built in $((SECONDS - start))s"
}

require_root() {
	[[ $(id -u) -eq 0 ]] || die "the Docker engine and images/build.sh's base need root"
}

case "${1:-}" in
"") build ;;
--keep)
	DOCKERD_KEEP=1
	build
	;;
env) dockerd_env ;;
stop) dockerd_shutdown ;;
*) die "usage: images/docker-build.sh [--keep] | env | stop" ;;
esac
