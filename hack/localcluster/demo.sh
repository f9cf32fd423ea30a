#!/usr/bin/env bash
# demo.sh — the end-to-end demo on the local cluster (what `make demo` runs):
# build what is missing or stale, bring the cluster up, install the CRDs, run the
# operator (bin/manager as a host process with the admin kubeconfig), apply
# config/samples, wait for the ReplicationGroup to become Ready, and show it.
#
#   hack/localcluster/demo.sh          run the demo
#   hack/localcluster/demo.sh down     stop the operator and the cluster, remove state
#
# Environment:
#   DEMO_TIMEOUT          how long to wait for the group to become Ready (default 300s)
#   DEMO_REPLNODE_BINARY  run the replnode image with this binary instead of bin/replnode
#                         (e.g. /usr/bin/redis-server, which takes the same command line)
#   LOCALCLUSTER_*        passed on to localcluster (state dir, nodes, images)
#
# A failing step exits non-zero with "demo: step <name> failed".
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bin="$root/bin"
timeout=${DEMO_TIMEOUT:-300s}
# LOCALCLUSTER_STATE_DIR only chooses the cluster; the process marker that
# `up` and `down` stop processes by is LOCALCLUSTER_MEMBER_OF, which this
# script never carries itself (so `up` cannot stop the demo).
state=${LOCALCLUSTER_STATE_DIR:-$root/.localcluster}

# fail NAME MESSAGE: report a failed step and exit 1.
fail() {
  echo "demo: step $1 failed: $2" >&2
  exit 1
}

# step NAME CMD...: run CMD, failing the demo with NAME if it fails.
step() {
  local name=$1
  shift
  echo "demo: == $name"
  "$@" || fail "$name" "command failed: $*"
}

# build OUT PKG: go build PKG into OUT. Go's build cache makes this a no-op
# for an up-to-date binary, so a stale bin/ never runs old code.
build() {
  go build -o "$1" "$2"
}

# diagnose: print what helps when the group does not become Ready.
diagnose() {
  echo "demo: --- diagnostics" >&2
  kubectl get rg,pods,pvc -o wide >&2 || true
  kubectl describe rg >&2 || true
  echo "demo: --- last lines of the operator log ($state/logs/manager.log)" >&2
  tail -n 30 "$state/logs/manager.log" >&2 || true
}

if [ "${1:-}" = down ]; then
  # The operator carries the cluster's marker in its environment, so
  # `localcluster down` stops it along with the pods and the control plane.
  if [ -x "$bin/localcluster" ]; then
    step down env LOCALCLUSTER_STATE_DIR="$state" "$bin/localcluster" down
  else
    step down env LOCALCLUSTER_STATE_DIR="$state" go run ./hack/localcluster down
  fi
  exit 0
fi

# ------ BUILD ------
echo "demo: == build"
if [ ! -f "$root/bin/k8s/v1.37.0/.stamp" ]; then
  hack/k8s/build.sh || fail build "control plane (hack/k8s/build.sh)"
fi
build "$bin/localcluster" ./hack/localcluster || fail build "hack/localcluster"
if [ ! -d cmd/manager ]; then
  fail operator "the operator is missing: cmd/manager does not exist yet"
fi
build "$bin/manager" ./cmd/manager || fail build "cmd/manager (the operator)"
if [ -n "${DEMO_REPLNODE_BINARY:-}" ]; then
  [ -x "$DEMO_REPLNODE_BINARY" ] || fail build "DEMO_REPLNODE_BINARY=$DEMO_REPLNODE_BINARY is not an executable"
  export LOCALCLUSTER_IMAGES="replnode*=$DEMO_REPLNODE_BINARY${LOCALCLUSTER_IMAGES:+,$LOCALCLUSTER_IMAGES}"
else
  build "$bin/replnode" ./cmd/replnode || fail build "cmd/replnode (the server)"
fi

# ------ CLUSTER ------
step up env LOCALCLUSTER_STATE_DIR="$state" "$bin/localcluster" up
export KUBECONFIG="$state/admin.kubeconfig"

step crds kubectl apply -f config/crd/bases
step crds-established kubectl wait --for=condition=Established crd --all --timeout=60s

# ------ OPERATOR ------
echo "demo: == operator"
# The marker puts the operator under the cluster's lifecycle (down stops it).
LOCALCLUSTER_MEMBER_OF="$state" setsid "$bin/manager" \
  --kubeconfig "$KUBECONFIG" \
  --metrics-bind-address 0 \
  --health-probe-bind-address 0 \
  >>"$state/logs/manager.log" 2>&1 < /dev/null &
echo $! > "$state/pids/manager.pid"
sleep 2
kill -0 "$(cat "$state/pids/manager.pid")" 2>/dev/null ||
  fail operator "bin/manager exited at once; see $state/logs/manager.log: $(tail -n 5 "$state/logs/manager.log")"

# ------ SAMPLE ------
step sample kubectl apply -k config/samples
echo "demo: == wait (ReplicationGroup Ready, up to $timeout)"
if ! kubectl wait --for=condition=Ready rg --all --timeout="$timeout"; then
  diagnose
  fail wait "the ReplicationGroup did not become Ready within $timeout"
fi

# ------ SHOW ------
echo
kubectl get rg,pods -o wide
echo
kubectl describe rg
echo
cat <<EOF
demo: done. Use the cluster with:
  export KUBECONFIG=$KUBECONFIG
  kubectl get rg,pods -o wide
  kubectl logs <pod>                        # container logs (also: $bin/localcluster logs <pod>)
  $bin/localcluster fault stop-node <node>  # make the master's node vanish and watch the failover
  hack/localcluster/demo.sh down            # stop everything
EOF
