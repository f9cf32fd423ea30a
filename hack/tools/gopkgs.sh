#!/usr/bin/env bash
# Usage: hack/tools/gopkgs.sh DIR...
# Prints "DIR/..." for each DIR that holds at least one .go file, joined by ';'
# (controller-gen's paths= syntax), and nothing when none does. The Makefile's
# manifests/generate targets use it so they are no-ops, not failures, while
# api/ or controllers/ are still empty.
set -euo pipefail
out=()
for d in "$@"; do
  if [ -d "$d" ] && [ -n "$(find "$d" -name '*.go' -print -quit)" ]; then
    out+=("$d/...")
  fi
done
(IFS=';'; echo "${out[*]}")
