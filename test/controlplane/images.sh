#!/usr/bin/env bash
# Builds, without a registry, the images the real node runs, and saves each as a
# docker-archive for `ctr images import`:
#   docker.io/library/node:24-bookworm-slim  a minimal Debian rootfs (debootstrap, Debian's
#                                            packages) + the Node binary of the pinned `node`
#                                            npm package + npm; the Dockerfile's NODE_IMAGE
#   dpready.local/pause:dev                   the pod sandbox (agnhost pause, static, FROM scratch)
#   dpready.local/agnhost:dev                 the examples' target/app image (agnhost stand-in)
#   dpready.local/dpready:dev                 the project's Dockerfile, built unchanged by buildah
# Each is rebuilt only when its inputs change (keys over the inputs, like build.sh).
# Needs root, buildah and debootstrap (test/controlplane/node-packages.sh installs them).
# Usage: images.sh BIN_DIR   (the directory build.sh printed; agnhost is there)
# Prints the directory holding the archives on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=${1:?usage: images.sh BIN_DIR}
cache_root=${DPREADY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dpready}
out="$cache_root/images"
store="$cache_root/buildah"
mkdir -p "$out" "$store"
exec 9>"$out/.lock"
flock 9

buildah() { command buildah --root "$store/root" --runroot "$store/run" --storage-driver vfs "$@"; }
key_of() { cat "$@" | sha256sum | cut -c1-16; }
fresh() { [ -f "$out/$1.tar" ] && [ -f "$out/.$1.$2" ]; }
saved() {
  local name=$1 key=$2 ref=$3
  rm -f "$out/$name.tar" "$out/.$name."*
  buildah push --quiet "$ref" "docker-archive:$out/$name.tar:$ref" >/dev/null
  touch "$out/.$name.$key"
  echo "image $ref -> $out/$name.tar" >&2
}

node_bin=$(readlink -f "$repo/node_modules/node/bin/node")
[ -x "$node_bin" ] || { echo "images.sh: $repo/node_modules/node/bin/node is missing: run npm ci first" >&2; exit 1; }
node_version=$("$node_bin" --version)
npm_version=$(npm --version)
mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
mirror=${mirror:-$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)}
mirror=${mirror:-http://deb.debian.org/debian}

# ---- node base: debootstrap minbase + node + npm -------------------------------------------
base_ref=docker.io/library/node:24-bookworm-slim
# The image trusts what this host trusts: where egress goes through a TLS-intercepting proxy,
# its CA (in /usr/local/share/ca-certificates) is what lets the build stage's `npm ci` work.
host_cas=(/usr/local/share/ca-certificates/*.crt)
[ -e "${host_cas[0]}" ] || host_cas=()
base_key=$( (echo "$node_version $npm_version bookworm minbase v2"; cat ${host_cas[@]+"${host_cas[@]}"}) | key_of - "$here/images.sh")
if ! fresh node-base "$base_key"; then
  start=$SECONDS
  work=$(mktemp -d "$cache_root/rootfs.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  echo "building $base_ref: debootstrap bookworm from $mirror, Node $node_version, npm $npm_version" >&2
  debootstrap --variant=minbase --include=ca-certificates bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/usr/share/doc" "$work/rootfs/usr/share/man"
  if [ ${#host_cas[@]} -gt 0 ]; then
    cp "${host_cas[@]}" "$work/rootfs/usr/local/share/ca-certificates/"
    chroot "$work/rootfs" update-ca-certificates >/dev/null
  fi
  install -m 0755 "$node_bin" "$work/rootfs/usr/local/bin/node"
  strip "$work/rootfs/usr/local/bin/node"
  (cd "$work" && npm pack --silent "npm@$npm_version" >/dev/null)
  mkdir -p "$work/rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$work"/npm-*.tgz -C "$work/rootfs/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/rootfs/usr/local/bin/npx"
  ctr=$(buildah from scratch)
  mnt=$(buildah mount "$ctr")
  cp -a "$work/rootfs/." "$mnt/"
  buildah umount "$ctr" >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_VERSION="${node_version#v}" --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt --cmd node "$ctr"
  buildah commit --quiet --rm "$ctr" "$base_ref" >/dev/null
  saved node-base "$base_key" "$base_ref"
  rm -rf "$work"; trap - EXIT
  echo "built $base_ref in $((SECONDS - start))s" >&2
fi
# The later builds need the base in buildah's store: an archive alone (from an earlier run
# whose store was cleared) is loaded back.
buildah inspect --type image "$base_ref" >/dev/null 2>&1 || buildah pull --quiet "docker-archive:$out/node-base.tar" >/dev/null

# ---- pause and agnhost: the static Go stand-in --------------------------------------------
agn_key=$(key_of "$bin/agnhost" "$here/images.sh" - <<<"$base_key")
if ! fresh pause "$agn_key"; then
  ctr=$(buildah from scratch)
  buildah copy --quiet "$ctr" "$bin/agnhost" /agnhost >/dev/null
  buildah config --entrypoint '["/agnhost","pause"]' --cmd '' "$ctr"
  buildah commit --quiet --rm "$ctr" dpready.local/pause:dev >/dev/null
  saved pause "$agn_key" dpready.local/pause:dev
fi
if ! fresh agnhost "$agn_key"; then
  # On the Debian base, so the examples' `command: [/bin/sh, -c, ...]` works as with agnhost.
  ctr=$(buildah from --pull=never "$base_ref")
  buildah copy --quiet "$ctr" "$bin/agnhost" /agnhost >/dev/null
  buildah config --entrypoint '["/agnhost"]' --cmd '["pause"]' "$ctr"
  buildah commit --quiet --rm "$ctr" dpready.local/agnhost:dev >/dev/null
  saved agnhost "$agn_key" dpready.local/agnhost:dev
fi

# ---- dpready: the project's Dockerfile, unchanged -----------------------------------------
dp_key=$( (echo "$base_key"; cd "$repo" && find src scripts -type f | sort | xargs cat; cat Dockerfile .dockerignore package.json package-lock.json tsconfig.json tsconfig.build.json) | key_of - "$here/images.sh")
if ! fresh dpready "$dp_key"; then
  start=$SECONDS
  echo "building dpready.local/dpready:dev from $repo/Dockerfile (buildah bud)" >&2
  # --network=host: the build stage runs `npm ci` against the registry; --layers caches the
  # dependency stages across source changes.
  buildah bud --quiet --pull=never --layers --network=host -t dpready.local/dpready:dev -f "$repo/Dockerfile" "$repo" >/dev/null
  saved dpready "$dp_key" dpready.local/dpready:dev
  echo "built dpready.local/dpready:dev in $((SECONDS - start))s" >&2
fi
echo "$out"
