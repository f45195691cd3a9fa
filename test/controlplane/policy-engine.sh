#!/usr/bin/env bash
# Builds the real node's NetworkPolicy engine, kube-router's own command (pinned by netpol/'s
# go.mod), into the control plane's binary directory, cached by its go.mod + go.sum like
# build.sh's modules; the real node runs it with only its firewall on. A script of its own because
# build.sh's keys cover build.sh itself: a line added there would rebuild Kubernetes.
# Prints the directory holding the binary on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache_root=${DPREADY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dpready}/controlplane
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
bin="$cache_root/bin"
mkdir -p "$bin"
# Its own lock: build.sh's is taken by every control-plane start, which must not wait on this build.
exec 9>"$cache_root/.netpol.lock"
flock 9
key=$(cd "$here/netpol" && cat "$here/policy-engine.sh" go.mod go.sum tools.go | sha256sum | cut -c1-16)
stamp="$bin/.netpol.$key"
if [ ! -f "$stamp" ] || [ ! -x "$bin/kube-router" ]; then
  echo "building kube-router into $bin; the first build takes a few minutes" >&2
  start=$SECONDS
  (cd "$here/netpol" && go build -trimpath -ldflags "-s -w" -o "$bin/kube-router" github.com/cloudnativelabs/kube-router/v2/cmd/kube-router)
  rm -f "$bin/.netpol."*
  touch "$stamp"
  echo "built kube-router in $((SECONDS - start))s" >&2
fi
echo "$bin"
