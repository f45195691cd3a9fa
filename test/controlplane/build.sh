#!/usr/bin/env bash
# Builds the local control plane (etcd; kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet, kube-proxy and kubectl as one multi-call binary; kwok; CoreDNS;
# an agnhost stand-in; helm) from Go modules, and caches the binaries outside the
# repo keyed by each module's go.mod + go.sum, so only the first run pays for it.
# Prints the directory holding the binaries on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache_root=${DPREADY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dpready}/controlplane
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
bin="$cache_root/bin"
mkdir -p "$bin"

k8s_version=$(grep -oE 'k8s\.io/kubernetes v[0-9]+\.[0-9]+\.[0-9]+' "$here/kube/go.mod" | head -1 | cut -d' ' -f2)
if [ -z "$k8s_version" ]; then echo "cannot find the k8s.io/kubernetes version in $here/kube/go.mod" >&2; exit 1; fi
major_minor=${k8s_version#v}; major=${major_minor%%.*}; minor=${major_minor#*.}; minor=${minor%%.*}
version_flags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  version_flags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  version_flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

# build_module DIR LDFLAGS PACKAGE...: rebuilds DIR's binaries only when its key changed.
build_module() {
  local dir=$1 ldflags=$2; shift 2
  local key stamp
  # The key covers this script too: its flags (versions stamped into the binaries) matter.
  key=$(cd "$here/$dir" && cat "$here/build.sh" go.mod $(ls go.sum 2>/dev/null) $(ls *.go */*.go 2>/dev/null) | sha256sum | cut -c1-16)
  stamp="$bin/.$dir.$key"
  if [ -f "$stamp" ]; then return 0; fi
  echo "building $dir ($*) into $bin; the first build takes many minutes" >&2
  local start=$SECONDS
  (cd "$here/$dir" && go build -trimpath -ldflags "$ldflags" -o "$bin/" "$@")
  rm -f "$bin/.$dir."*
  touch "$stamp"
  echo "built $dir in $((SECONDS - start))s" >&2
}

# One lock so parallel callers (two test files, demo and tests) do not build twice.
exec 9>"$cache_root/.lock"
flock 9
build_module etcd "-s -w" .
build_module kube "$version_flags" .
# One link for six components: each name is a symlink that main.go dispatches on.
for c in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
  ln -sfn kube "$bin/$c"
done
build_module kwok "-s -w" sigs.k8s.io/kwok/cmd/kwok
# The real node's cluster DNS, and the images' small Go programs (pause, agnhost stand-in).
build_module coredns "-s -w" .
build_module images "-s -w" ./agnhost
# helm, to render and install charts/dpready in the chart test.
build_module helm "-s -w -X helm.sh/helm/v4/internal/version.version=$(grep -oE "helm.sh/helm/v4 v[0-9.]+" "$here/helm/go.mod" | cut -d" " -f2)" helm.sh/helm/v4/cmd/helm
echo "$bin"
