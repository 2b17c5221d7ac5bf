#!/bin/bash
# scripts/vulncheck.sh — govulncheck against a pinned, offline vulnerability database.
# The database host cannot be reached from here, so the database is built from the OSV files of
# the golang.org/x/vulndb module (a Go module like any other, pinned below) with that module's own
# indexdb command. Fails when the code reaches any known vulnerability (govulncheck's exit 3).
# Cached under ${XDG_CACHE_HOME:-~/.cache}/cesub-vulncheck/<vulndb version>.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -x /usr/local/go/bin/go ] && export PATH=/usr/local/go/bin:$PATH
export GOTOOLCHAIN=go1.27.3   # the approved toolchain (go.mod needs it; the go command fetches it)

VULNDB=v0.0.0-20261105234957-e22db6528018   # golang.org/x/vulndb: the database's date
GOVULNCHECK=v1.9.0                          # golang.org/x/vuln

cache=${XDG_CACHE_HOME:-$HOME/.cache}/cesub-vulncheck/$VULNDB
mkdir -p "$cache/bin"
if [ ! -x "$cache/bin/govulncheck" ]; then
  GOBIN="$cache/bin" GOFLAGS=-mod=mod go install "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK"
fi
if [ ! -f "$cache/db/index/db.json" ]; then
  [ -x "$cache/bin/indexdb" ] || GOBIN="$cache/bin" GOFLAGS=-mod=mod go install "golang.org/x/vulndb/cmd/indexdb@$VULNDB"
  src=$(GOFLAGS=-mod=mod go mod download -json "golang.org/x/vulndb@$VULNDB" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$src/data/osv" ] || { echo "vulncheck: no data/osv in golang.org/x/vulndb@$VULNDB" >&2; exit 1; }
  rm -rf "$cache/db.tmp"
  "$cache/bin/indexdb" -vulns "$src/data/osv" -out "$cache/db.tmp"
  mv "$cache/db.tmp" "$cache/db"
fi
echo "govulncheck $GOVULNCHECK, database golang.org/x/vulndb@$VULNDB ($(go version | cut -d' ' -f3))"
# exit 3 = vulnerabilities the code reaches; set -e fails the run on it
"$cache/bin/govulncheck" -db "file://$cache/db" ./...
