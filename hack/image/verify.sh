#!/usr/bin/env bash
# verify.sh — check the image's build stage without a Docker engine.
#
# It copies exactly what hack/image/Dockerfile copies into its build stage
# (go.mod, go.sum, api/, controllers/, replnode/, cmd/, without tests, as
# Dockerfile.dockerignore filters them) into a temporary directory, runs the
# same `CGO_ENABLED=0 go build -trimpath` there, and checks both binaries are
# static (built without cgo, no ELF interpreter) and start (`-h`). This
# proves the context holds every file the build needs; it cannot pull the
# golang or distroless base images, so `make docker-build` remains the real
# build.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The build-stage COPY lines of the Dockerfile, so this script follows it.
mapfile -t sources < <(awk '/^FROM .* AS build/{b=1;next} /^FROM /{b=0} b && $1=="COPY" && $2 !~ /^--/ {for (i=2;i<NF;i++) print $i}' "$root/hack/image/Dockerfile")
if [[ ${#sources[@]} == 0 ]]; then
	echo "verify: found no COPY lines in the build stage of hack/image/Dockerfile" >&2
	exit 1
fi
mkdir -p "$work/src" "$work/out"
for s in "${sources[@]}"; do
	( cd "$root" && git ls-files -co --exclude-standard -- "$s" ) | grep -v -e '_test\.go$' -e '/testdata/' |
		while read -r f; do
			mkdir -p "$work/src/$(dirname "$f")"
			cp "$root/$f" "$work/src/$f"
		done
done

cd "$work/src"
for cmd in manager replnode; do
	echo "verify: building $cmd from the image's build context"
	CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w" -o "$work/out/$cmd" "./cmd/$cmd"
	if ! go version -m "$work/out/$cmd" | grep -q 'CGO_ENABLED=0'; then
		echo "verify: $cmd was not built with CGO_ENABLED=0" >&2
		exit 1
	fi
	if readelf -l "$work/out/$cmd" 2>/dev/null | grep -q 'Requesting program interpreter'; then
		echo "verify: $cmd is dynamically linked" >&2
		exit 1
	fi
	# A usage request must work without any environment (exit 0, or 2 for
	# programs whose usage path is a flag error).
	rc=0
	"$work/out/$cmd" -h >/dev/null 2>&1 || rc=$?
	if [[ $rc != 0 && $rc != 2 ]]; then
		echo "verify: $cmd -h exited $rc" >&2
		exit 1
	fi
done
echo "verify: the image's build stage builds static manager and replnode"
