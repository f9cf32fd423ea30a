#!/usr/bin/env bash
# demo.sh — the end-to-end demo on the local cluster (what `make demo` runs):
# build what is missing or stale, bring the cluster up, `helm install` the
# operator chart (CRD, RBAC, the operator as a pod through the node agent's
# image mapping), apply config/samples, wait for the ReplicationGroup to
# become Ready, and show it.
#
#   hack/localcluster/demo.sh          run the demo
#   hack/localcluster/demo.sh down     stop the operator and the cluster, remove state
#
# Environment:
#   DEMO_TIMEOUT          how long to wait for the group to become Ready (default 300s)
#   DEMO_REPLNODE_BINARY  run the replnode image with this binary instead of bin/replnode
#                         (e.g. /usr/bin/redis-server, which takes the same command line)
#   DEMO_MINIO=1          also run MinIO (bin/minio, `make minio-bin`) as a host process on
#                         the cluster's bridge, create its bucket backups, the credentials
#                         Secret demo-s3 and Backup cache-demo of the sample group
#                         (`make demo MINIO=1`; docs/backup.md); `down` stops it with the cluster
#   DEMO_MINIO_PORT       its S3 port on the bridge (default 9000)
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
  echo "demo: --- last lines of the operator log" >&2
  for p in $(kubectl -n replnode-system get pods -l app.kubernetes.io/component=operator -o name 2>/dev/null); do
    "$bin/localcluster" logs "${p#pod/}" -n replnode-system 2>&1 | tail -n 30 >&2 || true
  done
}

if [ "${1:-}" = down ]; then
  # The operator is a pod of the cluster: `localcluster down` stops it
  # along with the other pods and the control plane.
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
build "$bin/kubectl-replnode" ./cmd/kubectl-replnode || fail build "cmd/kubectl-replnode (the kubectl plugin)"
[ -x "$bin/helm" ] || make helm || fail build "helm (make helm)"
if [ -n "${DEMO_REPLNODE_BINARY:-}" ]; then
  [ -x "$DEMO_REPLNODE_BINARY" ] || fail build "DEMO_REPLNODE_BINARY=$DEMO_REPLNODE_BINARY is not an executable"
  export LOCALCLUSTER_IMAGES="replnode*=$DEMO_REPLNODE_BINARY${LOCALCLUSTER_IMAGES:+,$LOCALCLUSTER_IMAGES}"
else
  build "$bin/replnode" ./cmd/replnode || fail build "cmd/replnode (the server)"
fi

# ------ CLUSTER ------
step up env LOCALCLUSTER_STATE_DIR="$state" "$bin/localcluster" up
export KUBECONFIG="$state/admin.kubeconfig"

# ------ OPERATOR (helm install) ------
# The chart installs the CRD and runs the operator as a pod with its own
# ServiceAccount and RBAC; the node agent maps the image to bin/manager.
echo "demo: == operator (helm install charts/replnode-operator)"
KUBECONFIG="$KUBECONFIG" hack/chart/demo-install.sh ||
  fail operator "helm install of charts/replnode-operator failed (see the lines above)"
step crds-established kubectl wait --for=condition=Established crd/replicationgroups.replnode.io --timeout=60s

# ------ SAMPLE ------
step sample kubectl apply -k config/samples
echo "demo: == wait (ReplicationGroup Ready, up to $timeout)"
if ! kubectl wait --for=condition=Ready rg --all --timeout="$timeout"; then
  diagnose
  fail wait "the ReplicationGroup did not become Ready within $timeout"
fi

# ------ OBJECT STORE AND A BACKUP (DEMO_MINIO=1) ------
# MinIO runs on the host, listening on the bridge's gateway address, which
# the operator pod and a restoring member's init container both reach. It
# carries the cluster's process marker, so `localcluster down` stops it
# with the cluster; its data lives in the state directory.
minio_endpoint=
if [ "${DEMO_MINIO:-}" = 1 ]; then
  echo "demo: == minio (object store for backups)"
  [ -x "$bin/minio" ] || fail minio "bin/minio is missing: run make minio-bin (or make demo MINIO=1)"
  command -v curl >/dev/null || fail minio "curl is missing (it creates the bucket): apt-get install -y curl"
  pod_net=$(sed -n 's/.*"podCIDR": *"\([^"/]*\)\/.*/\1/p' "$state/cluster.json")
  [ -n "$pod_net" ] || fail minio "no podCIDR in $state/cluster.json"
  # The gateway is the pod range's first host address (hack/localcluster/podnet).
  gateway="${pod_net%.*}.$((${pod_net##*.} + 1))"
  minio_endpoint="$gateway:${DEMO_MINIO_PORT:-9000}"
  minio_user=replnode-demo
  minio_password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
  mkdir -p "$state/minio" "$state/logs"
  env LOCALCLUSTER_MEMBER_OF="$state" MINIO_ROOT_USER="$minio_user" MINIO_ROOT_PASSWORD="$minio_password" \
    MINIO_BROWSER=off MINIO_UPDATE=off \
    setsid "$bin/minio" server --quiet --address "$minio_endpoint" --console-address 127.0.0.1:0 "$state/minio" \
    >"$state/logs/minio.log" 2>&1 </dev/null &
  for _ in $(seq 1 120); do
    curl -fsS -o /dev/null "http://$minio_endpoint/minio/health/ready" 2>/dev/null && break
    sleep 0.5
  done
  curl -fsS -o /dev/null "http://$minio_endpoint/minio/health/ready" ||
    fail minio "MinIO did not become ready on $minio_endpoint (see $state/logs/minio.log)"
  # The bucket, with an S3 PUT that curl signs (no mc needed).
  code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user "$minio_user:$minio_password" "http://$minio_endpoint/backups")
  case "$code" in
    200 | 409) ;;
    *) fail minio "creating bucket backups on $minio_endpoint: HTTP $code" ;;
  esac
  kubectl create secret generic demo-s3 --from-literal=accessKeyID="$minio_user" \
    --from-literal=secretAccessKey="$minio_password" --dry-run=client -o yaml | kubectl apply -f - >/dev/null ||
    fail minio "creating Secret demo-s3"
  step backup-crds kubectl wait --for=condition=Established crd/backups.replnode.io crd/scheduledbackups.replnode.io --timeout=60s
  echo "demo: == backup (Backup cache-demo of group cache to s3://backups/demo at $minio_endpoint)"
  kubectl apply -f - <<YAML || fail backup "creating Backup cache-demo"
apiVersion: replnode.io/v1alpha1
kind: Backup
metadata:
  name: cache-demo
spec:
  group: cache
  target: replica
  objectStore:
    bucket: backups
    prefix: demo
    endpoint: $minio_endpoint
    insecure: true
    credentials:
      secretName: demo-s3
YAML
  if ! kubectl wait --for=jsonpath='{.status.phase}'=Completed backup/cache-demo --timeout=180s; then
    kubectl describe backup cache-demo >&2 || true
    fail backup "Backup cache-demo did not complete within 180s"
  fi
fi

# ------ SHOW ------
echo
kubectl get rg,pods -o wide
echo
kubectl describe rg
echo
"$bin/kubectl-replnode" status cache
echo
if [ -n "$minio_endpoint" ]; then
  kubectl get backups
  echo
  cat <<EOF
demo: MinIO runs at http://$minio_endpoint (bucket backups, credentials in Secret demo-s3,
  log $state/logs/minio.log). Backup cache-demo is Completed. Try:
  PATH=$bin:\$PATH kubectl replnode backup cache     # another Backup, same object store
  kubectl apply -f - <<YAML                       # a new group restored from cache-demo
apiVersion: replnode.io/v1alpha1
kind: ReplicationGroup
metadata: {name: cache-restored}
spec:
  replicas: 2
  image: replnode
  auth: {secretName: cache-auth, key: password}
  storage: {size: 1Gi}
  bootstrap: {fromBackup: {backupName: cache-demo}}
YAML
  kubectl get rg cache-restored -o jsonpath='{.status.conditions[?(@.type=="Restored")]}'

EOF
fi
cat <<EOF
demo: done. Use the cluster with:
  export KUBECONFIG=$KUBECONFIG
  kubectl get rg,pods -o wide
  PATH=$bin:\$PATH kubectl replnode status cache   # the kubectl plugin (also switchover, restart, fence)
  kubectl drain <node> --ignore-daemonsets --delete-emptydir-data   # the master is switched over first
  kubectl logs <pod>                        # container logs (also: $bin/localcluster logs <pod>)
  $bin/localcluster fault stop-node <node>  # make the master's node vanish and watch the failover
  hack/localcluster/demo.sh down            # stop everything
EOF
