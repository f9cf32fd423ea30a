#!/usr/bin/env bash
# Builds the Kubernetes control plane and etcd from the Go module proxy into
# bin/k8s/<k8s-version>/ and writes a stamp, so a second run does nothing.
# Why from source: setup-envtest and kind download prebuilt binaries, and the
# machines this project runs on reach only the Go module proxy.
#
# Usage: hack/k8s/build.sh                  build (or report up to date)
#        hack/k8s/build.sh --print-version  print the pinned Kubernetes version
#        hack/k8s/build.sh --print-dir      print the output directory
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

# modversion <go.mod> <module>: the required version of <module>, whether it is
# written as a one-line `require mod ver` or inside a `require ( ... )` block.
modversion() {
  awk -v m="$2" '
    $1 == "require" && $2 == m { print $3; exit }
    $1 == m && $2 ~ /^v/       { print $2; exit }
  ' "$1"
}

k8s_version=$(modversion "$here/go.mod" k8s.io/kubernetes)
etcd_version=$(modversion "$here/etcd/go.mod" go.etcd.io/etcd/server/v3)
if [ -z "$k8s_version" ] || [ -z "$etcd_version" ]; then
  echo "k8s-bins: cannot read pinned versions (kubernetes='$k8s_version' etcd='$etcd_version')" >&2
  exit 1
fi
out="$root/bin/k8s/$k8s_version"
case "${1:-}" in
  --print-version) echo "$k8s_version"; exit 0 ;;
  --print-dir) echo "$out"; exit 0 ;;
  "") ;;
  *) echo "usage: $0 [--print-version|--print-dir]" >&2; exit 2 ;;
esac

stamp="$out/.stamp"
want="kubernetes=$k8s_version etcd=$etcd_version go=$(go env GOVERSION)"
# The stamp counts only if every binary it vouches for is still there.
have_all() {
  local b
  for b in etcd kube-apiserver kube-controller-manager kube-scheduler; do
    [ -x "$out/$b" ] || return 1
  done
}
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && have_all; then
  echo "k8s-bins: $out is up to date ($want)"
  exit 0
fi
mkdir -p "$out"
rm -f "$stamp"
build() { # build <module dir> <package> <output name>
  local start=$SECONDS
  echo "k8s-bins: building $3 ..."
  (cd "$1" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$out/$3" "$2")
  echo "k8s-bins: built $3 in $((SECONDS - start))s"
}
build "$here/etcd" . etcd
build "$here" k8s.io/kubernetes/cmd/kube-apiserver kube-apiserver
build "$here" k8s.io/kubernetes/cmd/kube-controller-manager kube-controller-manager
build "$here" k8s.io/kubernetes/cmd/kube-scheduler kube-scheduler
# envtest and the local cluster use kubectl from PATH when there is one.
if ! command -v kubectl >/dev/null 2>&1; then
  build "$here" k8s.io/kubernetes/cmd/kubectl kubectl
fi
echo "$want" > "$stamp"
echo "k8s-bins: done -> $out"
