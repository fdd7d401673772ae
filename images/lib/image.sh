# Helpers that assemble container images without a registry or a Docker
# engine. Sourced, not run.
#
# An image is written as a docker-archive tarball (manifest.json, one config
# blob, uncompressed layer tarballs), the format that `ctr images import`,
# `docker load` and `kind load image-archive` all accept.
# shellcheck shell=bash

ZK_CACHE_DIR="${ZK_CACHE_DIR:-$HOME/.cache/zkops}"
IMAGES_CACHE="${IMAGES_CACHE:-$ZK_CACHE_DIR/images}"
# Registry-looking prefix of every local image; never resolvable, never pulled.
IMAGE_PREFIX="${IMAGE_PREFIX:-zkops.local}"
DEBIAN_SUITE="${DEBIAN_SUITE:-bookworm}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# The tags of the server's and the operator's images, whichever way they are
# built (images/build.sh, images/docker-build.sh). The server's carries the
# workspace version too: the operator's default image of Native members.
WORKSPACE_VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$(dirname "${BASH_SOURCE[0]}")/../../Cargo.toml" | head -n 1)"
ZK_SERVER_REF="$IMAGE_PREFIX/zk-server:dev $IMAGE_PREFIX/zk-server:$WORKSPACE_VERSION $IMAGE_PREFIX/zk-server:rolled"
ZK_OPERATOR_REF="$IMAGE_PREFIX/zk-operator:dev"

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# ensure_pkgs PKG... : install missing Debian packages.
ensure_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[[ ${#missing[@]} -eq 0 ]] && return 0
	log "apt-get install ${missing[*]}"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; then
		DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
	fi
}

# layer_tar DIR OUT [TAR-OPTION...] : write DIR's content as a reproducible
# layer tarball. Storing extended attributes makes GNU tar write POSIX (pax)
# headers, which carry each file's access and change times unless told not
# to: kept, they made every tarball of the same files differ (a layer keyed by
# its inputs' hash, such as the kind node's, was rebuilt on every run).
layer_tar() {
	local dir="$1" out="$2"
	shift 2
	tar --sort=name --mtime=@0 --numeric-owner --xattrs --xattrs-include='security.capability' \
		--pax-option=delete=atime,delete=ctime "$@" -C "$dir" -cf "$out" .
}

# json_str_array A B ... : ["A","B",...] (values must not contain quotes).
json_str_array() {
	local out="" v
	for v in "$@"; do out+="${out:+,}\"$v\""; done
	printf '[%s]' "$out"
}

# archive_has_refs OUT REF : whether the archive OUT carries exactly the tags
# of REF (several, separated by spaces), so that a new tag rebuilds it.
archive_has_refs() {
	local refs
	read -ra refs <<<"$2"
	tar -xOf "$1" manifest.json 2>/dev/null | grep -qF "\"RepoTags\":$(json_str_array "${refs[@]}")"
}

# write_archive OUT REF CONFIG_JSON LAYER_TAR...
#   REF may name several tags of the image, separated by spaces.
#   CONFIG_JSON is the image's "config" object (Env, Entrypoint, ...).
#   Writes a docker-archive to OUT naming the image REF.
write_archive() {
	local out="$1" ref="$2" cfg="$3"
	shift 3
	local work diff_ids=() layer_paths=() l sum
	work="$(mktemp -d "${out}.work.XXXX")"
	for l in "$@"; do
		sum="$(sha256sum "$l" | cut -d' ' -f1)"
		mkdir -p "$work/$sum"
		ln "$l" "$work/$sum/layer.tar" 2>/dev/null || cp "$l" "$work/$sum/layer.tar"
		diff_ids+=("sha256:$sum")
		layer_paths+=("$sum/layer.tar")
	done
	local config
	config="$(printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":%s,"rootfs":{"type":"layers","diff_ids":%s}}' \
		"$cfg" "$(json_str_array "${diff_ids[@]}")")"
	sum="$(printf '%s' "$config" | sha256sum | cut -d' ' -f1)"
	printf '%s' "$config" >"$work/$sum.json"
	local refs
	read -ra refs <<<"$ref"
	printf '[{"Config":"%s.json","RepoTags":%s,"Layers":%s}]' \
		"$sum" "$(json_str_array "${refs[@]}")" "$(json_str_array "${layer_paths[@]}")" >"$work/manifest.json"
	# Entries without a leading "./": image loaders look up "manifest.json".
	local entries=()
	mapfile -t entries < <(ls -A "$work")
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work" -cf "$out.tmp" "${entries[@]}"
	rm -rf "$work"
	mv -f "$out.tmp" "$out"
	log "image $ref -> $out ($(du -h "$out" | cut -f1))"
}

# Overlay helpers: run commands in a chroot on top of a read-only lower root
# and keep only what changed (the upper dir) as the new layer.
CHROOT_MOUNTS=()

chroot_mount_api() {
	local root="$1"
	mount -t proc proc "$root/proc" && CHROOT_MOUNTS+=("$root/proc")
	mount -t sysfs sys "$root/sys" && CHROOT_MOUNTS+=("$root/sys")
	mount --bind /dev "$root/dev" && CHROOT_MOUNTS+=("$root/dev")
	mount -t tmpfs tmpfs "$root/tmp" && CHROOT_MOUNTS+=("$root/tmp")
	mkdir -p "$root/dev/pts"
	mount -t devpts devpts "$root/dev/pts" -o newinstance,ptmxmode=0666 2>/dev/null && CHROOT_MOUNTS+=("$root/dev/pts")
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
}

chroot_umount_all() {
	local i
	for ((i = ${#CHROOT_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount -l "${CHROOT_MOUNTS[$i]}" 2>/dev/null || true
	done
	CHROOT_MOUNTS=()
}

# overlay_layer LOWER UPPER_OUT SCRIPT [SHARE_DIR] : run SCRIPT with bash in
# a chroot on LOWER+UPPER (SHARE_DIR bound read-only at /mnt); leaves the
# diff in UPPER_OUT with overlayfs whiteouts converted to the OCI .wh. form.
overlay_layer() {
	local lower="$1" upper="$2" script="$3" share="${4:-}"
	local base work merged
	base="$(mktemp -d "${upper}.ovl.XXXX")"
	work="$base/work"
	merged="$base/merged"
	rm -rf "$upper"
	mkdir -p "$upper" "$work" "$merged"
	mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work" "$merged"
	CHROOT_MOUNTS=("$merged")
	chroot_mount_api "$merged"
	if [[ -n "$share" ]]; then
		mount --bind "$share" "$merged/mnt" && mount -o remount,bind,ro "$merged/mnt" && CHROOT_MOUNTS+=("$merged/mnt")
	fi
	local rc=0
	chroot "$merged" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		DEBIAN_FRONTEND=noninteractive /bin/bash -euo pipefail -c "$script" </dev/null >&2 || rc=$?
	# The resolv.conf we copied in for apt must not end up in the image.
	chroot_umount_all
	rm -rf "$base"
	if [[ $rc -ne 0 ]]; then
		rm -rf "$upper"
		die "chroot script failed (rc=$rc)"
	fi
	clean_upper "$upper" "$lower"
	convert_whiteouts "$upper"
}

# clean_upper UPPER LOWER : drop build-time leftovers from a layer.
clean_upper() {
	local upper="${1:?}" lower="$2"
	rm -rf "$upper/var/cache/apt/archives/"*.deb "$upper/var/lib/apt/lists/"* "$upper/var/cache/apt/"*.bin \
		"$upper/var/cache/debconf/"*-old "$upper/var/log/apt" "$upper/var/log/dpkg.log" \
		"$upper/var/cache/ldconfig/aux-cache" "${upper:?}/tmp" "${upper:?}/proc" "${upper:?}/sys" "${upper:?}/dev" 2>/dev/null || true
	if [[ -f "$lower/etc/resolv.conf" ]]; then
		cp -p "$lower/etc/resolv.conf" "$upper/etc/resolv.conf" 2>/dev/null || true
	else
		rm -f "$upper/etc/resolv.conf"
	fi
	find "$upper" -name '*.pyc' -delete 2>/dev/null || true
}

# convert_whiteouts UPPER : overlayfs marks deletions with 0:0 character
# devices and opaque directories with an xattr; image layers use .wh. files.
convert_whiteouts() {
	local upper="$1" f d
	while IFS= read -r -d '' f; do
		if [[ "$(stat -c '%t:%T' "$f")" == "0:0" ]]; then
			rm -f "$f"
			: >"$(dirname "$f")/.wh.$(basename "$f")"
		fi
	done < <(find "$upper" -type c -print0)
	while IFS= read -r -d '' d; do
		if getfattr --absolute-names -n trusted.overlay.opaque --only-values "$d" 2>/dev/null | grep -q y; then
			setfattr -x trusted.overlay.opaque "$d"
			: >"$d/.wh..wh..opq"
		fi
	done < <(find "$upper" -type d -print0)
}

# The base root file system (debootstrap minbase) and its layer, which
# images/build.sh base builds; bump the revision to rebuild them.
BASE_REVISION=2
BASE_KEY="debian-$DEBIAN_SUITE-r$BASE_REVISION"
BASE_ROOT="$IMAGES_CACHE/rootfs/$BASE_KEY"
# shellcheck disable=SC2034 # used by the scripts that source this
BASE_LAYER="$IMAGES_CACHE/layers/$BASE_KEY.tar"

# app_layer NAME SCRIPT [SHARE_DIR] : overlay layer on the base root, cached
# by the hash of SCRIPT and of the files in SHARE_DIR.
app_layer() {
	local name="$1" script="$2" share="${3:-}" key
	key="$(
		{
			echo "$BASE_KEY"
			echo "$script"
			local f
			if [[ -n "$share" ]]; then
				for f in "$share"/*; do sha256sum "$f" | sed "s|$share/||"; done
			fi
		} | sha256sum | cut -c1-16
	)"
	local layer="$IMAGES_CACHE/layers/$name-$key.tar"
	if [[ ! -f "$layer" ]]; then
		local upper="$IMAGES_CACHE/layers/$name-$key.upper"
		log "building layer $name ($key)"
		overlay_layer "$BASE_ROOT" "$upper" "$script" "$share"
		layer_tar "$upper" "$layer.tmp"
		rm -rf "$upper"
		mv -f "$layer.tmp" "$layer"
		find "$IMAGES_CACHE/layers" -maxdepth 1 -name "$name-*.tar" ! -name "$name-$key.tar" -delete
	fi
	echo "$layer"
}

# static_image OUT REF BINARY : single-layer image of a static binary,
# installed as /usr/local/bin/<name> (on the default PATH, so that a pod's
# command may name it bare) and run as the entrypoint. Rebuilt only when
# BINARY is newer than OUT.
static_image() {
	local out="$1" ref="$2" bin="$3" name
	name="$(basename "$bin")"
	[[ -x "$bin" ]] || die "$bin not found: build the cluster binaries first (e2e/cluster/lib/build.sh)"
	if [[ -f "$out" && "$out" -nt "$bin" ]] && archive_has_refs "$out" "$ref"; then
		return
	fi
	local work
	mkdir -p "$(dirname "$out")"
	work="$(mktemp -d "$out.XXXX")"
	mkdir -p "$work/root/usr/local/bin"
	install -m 0755 "$bin" "$work/root/usr/local/bin/$name"
	layer_tar "$work/root" "$work/layer.tar"
	write_archive "$out" "$ref" "$(printf '{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":["/usr/local/bin/%s"]}' "$name")" "$work/layer.tar"
	rm -rf "$work"
}
