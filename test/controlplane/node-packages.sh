#!/usr/bin/env bash
# Installs, from Debian's packages, what a real node needs: containerd and runc, the CNI
# plugins (bridge, host-local, loopback), iptables and conntrack for kube-proxy, buildah and
# debootstrap for the images, nft (to see when the kernel commits a rule change, for the benchmark's truth),
# ipset for the NetworkPolicy engine (kube-router);
# headless Chromium (with a font) for the live page's test; and gcc with a static libc for
# dpready-start's own test (the image builds it in a build stage of its own). Only as root, and only what is missing; prints why it skips
# otherwise (a test that needs a real node then skips, naming the reason).
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "node-packages.sh: not root, not installing the real node's packages" >&2; exit 0; fi
if ! command -v apt-get >/dev/null; then echo "node-packages.sh: no apt-get, not installing the real node's packages" >&2; exit 0; fi
need=()
for pair in containerd:/usr/bin/containerd runc:/usr/sbin/runc containernetworking-plugins:/usr/lib/cni/bridge \
            iptables:/usr/sbin/iptables conntrack:/usr/sbin/conntrack buildah:/usr/bin/buildah \
            debootstrap:/usr/sbin/debootstrap iproute2:/usr/sbin/ip nftables:/usr/sbin/nft ipset:/usr/sbin/ipset \
            chromium:/usr/bin/chromium fonts-dejavu-core:/usr/share/fonts/truetype/dejavu \
            gcc:/usr/bin/gcc libc6-dev:/usr/include/stdio.h; do
  [ -e "${pair#*:}" ] || need+=("${pair%%:*}")
done
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing ${need[*]} from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts containerd as a service on install; the real node runs its own.
if command -v systemctl >/dev/null && systemctl is-active --quiet containerd 2>/dev/null; then systemctl disable --now containerd || true; fi
