#!/bin/bash
# scripts/release-tools.sh — builds the release tools pinned in tools/go.mod (goreleaser, which
# has nfpm inside, and cyclonedx-gomod) once per tools/go.mod+go.sum into
# ${CESUB_RELEASE_CACHE:-~/.cache/cesub-release}/tools-HASH/ and prints that directory.
# The main module's go.mod never sees them (tools/ is a module of its own).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export GOTOOLCHAIN=go1.27.3
cache=${CESUB_RELEASE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cesub-release}
hash=$(cat tools/go.mod tools/go.sum | sha256sum | cut -c1-16)
dir=$cache/tools-$hash
if [ ! -x "$dir/goreleaser" ] || [ ! -x "$dir/cyclonedx-gomod" ]; then
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "building the release tools into $dir (once per tools/go.sum)" >&2
  (cd tools && CGO_ENABLED=0 go build -trimpath -o "$tmp/" \
      github.com/goreleaser/goreleaser/v2 github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod)
  rm -rf "$dir" && mv "$tmp" "$dir"
  trap - EXIT
fi
echo "$dir"
