#!/usr/bin/env bash
# Builds the MinIO server from the Go module proxy into bin/minio and writes a
# stamp, so a second run does nothing. The backup tests start it as a real
# S3-compatible object store (no fake S3).
#
# MinIO is AGPL-3.0: this project only builds and runs it as a separate test
# tool. Nothing in the replnode module imports it; the wrapper module below
# lives in a temporary directory and is thrown away after the build.
#
# Why a wrapper module: `go install mod@version` refuses modules whose go.mod
# has replace directives and would not pin the version; a throwaway module
# that requires the pinned pseudo-version builds `github.com/minio/minio`
# (its main package is the module root) with the module's own requirements.
#
# Usage: hack/minio/build.sh                  build (or report up to date)
#        hack/minio/build.sh --print-version  print the pinned MinIO version
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

# The pinned pseudo-version (go mod download -json github.com/minio/minio@latest).
minio_version=v0.0.0-20260212201848-7aac2a2c5b7c
out="$root/bin/minio"
case "${1:-}" in
  --print-version) echo "$minio_version"; exit 0 ;;
  "") ;;
  *) echo "usage: $0 [--print-version]" >&2; exit 2 ;;
esac

stamp="$root/bin/.minio.stamp"
want="minio=$minio_version go=$(go env GOVERSION)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$out" ]; then
  echo "minio-bin: $out is up to date ($want)"
  exit 0
fi
mkdir -p "$root/bin"
rm -f "$stamp"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS
echo "minio-bin: building github.com/minio/minio@$minio_version ..."
(
  cd "$tmp"
  go mod init replnode.invalid/minio-build >/dev/null 2>&1
  go get "github.com/minio/minio@$minio_version"
  CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$out.tmp" github.com/minio/minio
)
mv "$out.tmp" "$out"
echo "$want" > "$stamp"
echo "minio-bin: built $out in $((SECONDS - start))s"
