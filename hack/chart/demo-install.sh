#!/usr/bin/env bash
# demo-install.sh — install the replnode-operator chart into the local cluster
# (hack/localcluster) and wait until the operator pod is Ready.
#
#   hack/chart/demo-install.sh [extra helm args...]
#
# Environment:
#   KUBECONFIG  cluster to install into (default: the local cluster's, from
#               `bin/localcluster env`)
#   NAMESPACE   release namespace (default replnode-system)
#   RELEASE     release name (default replnode-operator)
#   TIMEOUT     how long to wait for the rollout (default 180s)
#
# The local cluster's node agent runs no images: it maps an image's base name
# to a local binary, and "manager" maps to bin/manager. So the chart is
# installed with image.repository=localcluster/manager, and bin/manager (and
# bin/replnode, for the groups the operator will create) must be built first
# (`make build`). If the ReplicationGroup CRD already exists and was not
# installed by this release (e.g. `kubectl apply -f config/crd/bases`), the
# chart leaves it alone (crds.install=false) instead of failing on ownership.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
helm="$root/bin/helm"
namespace="${NAMESPACE:-replnode-system}"
release="${RELEASE:-replnode-operator}"
timeout="${TIMEOUT:-180s}"

log() { echo "demo-install: $*" >&2; }

for b in manager replnode; do
	if [[ ! -x $root/bin/$b ]]; then
		log "bin/$b is missing; run 'make build' first"
		exit 1
	fi
done
if [[ ! -x $helm ]]; then
	make -C "$root" helm >&2
fi
if [[ -z ${KUBECONFIG:-} ]]; then
	if [[ ! -x $root/bin/localcluster ]]; then
		log "KUBECONFIG is unset and bin/localcluster is missing; start the local cluster first"
		exit 1
	fi
	eval "$("$root/bin/localcluster" env)"
fi
export KUBECONFIG
if ! kubectl get --raw /readyz >/dev/null 2>&1; then
	log "the cluster at KUBECONFIG=$KUBECONFIG is not reachable; is the local cluster up ('localcluster status')?"
	exit 1
fi

args=(
	--namespace "$namespace" --create-namespace
	--set image.repository=localcluster/manager
	--set image.tag=dev
	--set image.pullPolicy=IfNotPresent
	--set notes.groupImage=replnode
)
crd=replicationgroups.replnode.io
if kubectl get crd "$crd" >/dev/null 2>&1; then
	owner="$(kubectl get crd "$crd" -o jsonpath='{.metadata.annotations.meta\.helm\.sh/release-name}')"
	owner_ns="$(kubectl get crd "$crd" -o jsonpath='{.metadata.annotations.meta\.helm\.sh/release-namespace}')"
	if [[ $owner != "$release" || $owner_ns != "$namespace" ]]; then
		log "CRD $crd exists and is not managed by release $namespace/$release; leaving it alone (crds.install=false)"
		args+=(--set crds.install=false)
	fi
fi

log "installing chart charts/replnode-operator as $namespace/$release"
"$helm" upgrade --install "$release" "$root/charts/replnode-operator" "${args[@]}" "$@" >&2

selector="app.kubernetes.io/instance=$release,app.kubernetes.io/component=operator"
deployment="$(kubectl -n "$namespace" get deployment -l "$selector" -o jsonpath='{.items[0].metadata.name}')"
log "waiting up to $timeout for deployment/$deployment"
if ! kubectl -n "$namespace" rollout status "deployment/$deployment" --timeout="$timeout" >&2 ||
	! kubectl -n "$namespace" wait pod -l "$selector" --for=condition=Ready --timeout="$timeout" >&2; then
	log "the operator did not become Ready; its pods and logs:"
	kubectl -n "$namespace" get pods -l "$selector" -o wide >&2 || true
	kubectl -n "$namespace" describe pods -l "$selector" >&2 || true
	if [[ -x $root/bin/localcluster ]]; then
		for p in $(kubectl -n "$namespace" get pods -l "$selector" -o name); do
			"$root/bin/localcluster" logs "${p#pod/}" -n "$namespace" >&2 || true
		done
	fi
	exit 1
fi
kubectl -n "$namespace" get pods -l "$selector" -o wide >&2
log "operator Ready; create a group with: kubectl apply -f config/samples/replnode_v1alpha1_replicationgroup.yaml"
