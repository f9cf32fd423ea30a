#!/usr/bin/env bash
# Builds the Kubernetes control plane and etcd from the Go module proxy into
# bin/k8s/<k8s-version>/ and writes a stamp, so a second run does nothing.
# Why from source: setup-envtest and kind download prebuilt binaries, and the
# machines this project runs on reach only the Go module proxy.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
k8s_version=$(awk '$1=="k8s.io/kubernetes"{print $2}' "$here/go.mod" | head -n1)
if [ -z "$k8s_version" ]; then
  k8s_version=$(awk '/^require k8s.io\/kubernetes/{print $3}' "$here/go.mod")
fi
etcd_version=$(awk '$1=="go.etcd.io/etcd/server/v3"{print $2}' "$here/etcd/go.mod" | head -n1)
out="$root/bin/k8s/$k8s_version"
stamp="$out/.stamp"
want="kubernetes=$k8s_version etcd=$etcd_version go=$(go env GOVERSION)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "k8s-bins: $out is up to date ($want)"
  exit 0
fi
mkdir -p "$out"
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
if ! command -v kubectl >/dev/null 2>&1; then
  build "$here" k8s.io/kubernetes/cmd/kubectl kubectl
fi
echo "$want" > "$stamp"
echo "k8s-bins: done -> $out"
