#!/bin/bash
# scripts/goreleaser.sh ARGS… — the goreleaser pinned in tools/go.mod (built once by
# scripts/release-tools.sh), with cyclonedx-gomod on PATH for the SBOMs. Example:
#   scripts/goreleaser.sh release --snapshot --clean --skip=publish
# goreleaser reads the commit, its date and the remote from git; in a snapshot it replaces them all
# by "none" when the checkout has no remote (a fresh clone of a bundle, a worktree), which would
# leave the version, the commit stamp and the reproducible file times empty. Such a checkout gets
# the project's address as its origin in this command's environment only (.git is not touched).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tools=$(scripts/release-tools.sh)
export PATH="$tools:$PATH" GOTOOLCHAIN=go1.27.3
if [ -z "$(git remote)" ] && [ -z "${GIT_CONFIG_COUNT:-}" ]; then
  export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url GIT_CONFIG_VALUE_0=https://github.com/cesub/cesub
fi
exec goreleaser "$@"
