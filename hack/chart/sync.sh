#!/usr/bin/env bash
# sync.sh — keep the operator chart's copies of the generated manifests equal
# to config/ (written by `make manifests` from the +kubebuilder markers).
#
#   hack/chart/sync.sh          copy config/ into the chart (make chart-sync)
#   hack/chart/sync.sh --check  exit 1 listing every file that differs (make chart-check)
#
# The chart keeps verbatim copies under charts/replnode-operator/files/; its
# templates read them with .Files.Get, so a byte comparison is the whole drift
# check. It owns only those copies and never writes config/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
chart="$root/charts/replnode-operator"

# Pairs of source (in config/) and copy (in the chart), relative to the root.
pairs=(
	"config/crd/bases/replnode.io_replicationgroups.yaml:charts/replnode-operator/files/crds/replnode.io_replicationgroups.yaml"
	"config/crd/bases/replnode.io_backups.yaml:charts/replnode-operator/files/crds/replnode.io_backups.yaml"
	"config/crd/bases/replnode.io_scheduledbackups.yaml:charts/replnode-operator/files/crds/replnode.io_scheduledbackups.yaml"
	"config/rbac/role.yaml:charts/replnode-operator/files/rbac/role.yaml"
)

mode=sync
case "${1:-}" in
"") ;;
--check) mode=check ;;
*)
	echo "usage: $0 [--check]" >&2
	exit 2
	;;
esac

# Every CRD controller-gen writes must have a copy in the chart; a new kind
# needs a new pair above and a template, so fail loudly instead of skipping it.
for f in "$root"/config/crd/bases/*.yaml; do
	rel="config/crd/bases/$(basename "$f")"
	found=no
	for p in "${pairs[@]}"; do
		[[ "${p%%:*}" == "$rel" ]] && found=yes
	done
	if [[ $found == no ]]; then
		echo "chart: $rel has no copy in $chart (add it to hack/chart/sync.sh and a template)" >&2
		exit 1
	fi
done

drift=0
for p in "${pairs[@]}"; do
	src="$root/${p%%:*}" dst="$root/${p#*:}"
	if [[ ! -f $src ]]; then
		echo "chart: ${p%%:*} is missing; run 'make manifests'" >&2
		exit 1
	fi
	if [[ $mode == sync ]]; then
		mkdir -p "$(dirname "$dst")"
		if ! cmp -s "$src" "$dst"; then
			cp "$src" "$dst"
			echo "chart-sync: updated ${p#*:}"
		fi
	elif ! cmp -s "$src" "$dst"; then
		echo "chart-check: ${p#*:} differs from ${p%%:*}:" >&2
		diff -u "$dst" "$src" >&2 || true
		drift=1
	fi
done

if [[ $drift == 1 ]]; then
	echo "chart-check: the chart drifted from config/; run 'make chart-sync' and commit the result" >&2
	exit 1
fi
if [[ $mode == check ]]; then
	echo "chart-check: chart CRD and RBAC equal config/"
fi
