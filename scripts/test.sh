#!/bin/bash
# scripts/test.sh — the one test command (README; .ci/run calls it).
# gofmt, go vet, govulncheck, all Go tests, the unit tests again under the race detector, a
# coverage table (scripts/coverage.sh), short fuzz runs, and the README demo. As root on
# Debian (and always under CI=true) the real testbed is brought up first, so the
# integration tests run against the real issuer, A-REX and oidc-agent; elsewhere
# they skip with a one-line reason.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -x /usr/local/go/bin/go ] && export PATH=/usr/local/go/bin:$PATH
export GOTOOLCHAIN=go1.27.3   # the approved toolchain (go.mod needs it; the go command fetches it)
command -v go >/dev/null || { echo "scripts/test.sh: Go is needed; it fetches go1.27.3 itself (put it on PATH or in /usr/local/go)" >&2; exit 1; }
FUZZTIME=${CESUB_FUZZTIME:-5s}
t0=$(date +%s)
step() { printf '\n== %s (%ss)\n' "$*" "$(( $(date +%s) - t0 ))"; }

# The release tools (goreleaser, cyclonedx-gomod) take minutes to build on a new machine and are
# cached after: build them in the background while the checks and the testbed start.
tools_log=$(mktemp)
if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then
  scripts/release-tools.sh >"$tools_log" 2>&1 &
  tools_pid=$!
fi

step "gofmt"
bad=$(gofmt -l $(find . -name '*.go' -not -path './.git/*'))
[ -z "$bad" ] || { echo "gofmt would change:"; echo "$bad"; exit 1; }

step "go vet"
go vet ./...

step "govulncheck (pinned offline database from golang.org/x/vulndb)"
scripts/vulncheck.sh

testbed=no
if [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ]; then
  step "testbed up (issuer, A-REX 6.17, ARC 7 chroot, HTCondor-CE chroot, oidc-agent)"
  scripts/testbed/all up
  testbed=yes
elif [ "${CI:-}" = true ]; then
  echo "CI=true: the integration tests must run, and they need root on Debian" >&2; exit 1
else
  echo "integration tests will skip: not root on Debian"
fi

# The release test (snapshot release; the deb in a clean Debian chroot, ping from there; rpm,
# darwin, reproducible) runs beside go test: go test mostly waits for the servers.
release_log=$(mktemp)
release_pid=
if [ "$testbed" = yes ]; then
  step "release test started (beside go test; its output follows go test)"
  ( r0=$(date +%s)
    while kill -0 "$tools_pid" 2>/dev/null; do sleep 2; done   # the tools build (release-test.sh rebuilds what failed)
    scripts/release-test.sh && echo "release test: $(( $(date +%s) - r0 ))s" ) >"$release_log" 2>&1 &
  release_pid=$!
else
  echo "release test skipped: it needs root on Debian (make release-test runs it alone)"
fi

step "go test"
# -parallel: the long integration tests (drop-in, crash, README) run side by side; they mostly
# wait for the servers. The fleet test runs alone after them: its 40 processes load the CEs as a
# factory would, and beside the others it stalls their HTCondor-CE commands.
fleet='^TestFleetOnPostgres$'
go test -count=1 -timeout 45m -parallel 6 -skip "$fleet" ./...

if [ -n "$release_pid" ]; then
  step "release test (its output)"
  if ! wait "$release_pid"; then cat "$tools_log" "$release_log"; echo "release test failed" >&2; exit 1; fi
  cat "$release_log"
fi
rm -f "$tools_log" "$release_log"

if [ "$testbed" = yes ]; then
  step "go test (the fleet on PostgreSQL, alone: 4 hosts x 10 processes, twice)"
  go test -count=1 -timeout 25m -run "$fleet" -v ./integration/
fi

step "go test -race (the unit tests: pipelined connections, parallel spooling, signals)"
go test -race -count=1 -timeout 15m ./pkg/... ./internal/...

step "coverage (the unit tests again, integration skipped: per package and overall; no threshold yet)"
scripts/coverage.sh

step "fuzz (short runs; docs/dev/testing.md says how to run them for long)"
for pair in $(grep -rlE '^func Fuzz[A-Za-z0-9_]+\(' --include='*_test.go' . | while read -r file; do
      for t in $(grep -hoE '^func Fuzz[A-Za-z0-9_]+' "$file" | sed 's/^func //'); do echo "$(dirname "$file")@$t"; done
    done | sort -u); do
  pkg=${pair%@*}; target=${pair#*@}
  log=$(mktemp)
  for attempt in 1 2; do
    before=$(find "$pkg/testdata/fuzz/$target" -type f 2>/dev/null | sort || true)
    if go test -run '^$' -fuzz "^$target\$" -fuzztime "$FUZZTIME" "$pkg" >"$log" 2>&1; then break; fi
    after=$(find "$pkg/testdata/fuzz/$target" -type f 2>/dev/null | sort || true)
    echo "fuzz $target in $pkg failed (attempt $attempt):"; tail -40 "$log"
    # a new file under testdata/fuzz is a real crasher: fail. Otherwise (a worker killed under
    # load, no input saved) try once more.
    if [ "$before" != "$after" ] || [ $attempt = 2 ]; then rm -f "$log"; exit 1; fi
  done
  rm -f "$log"
  echo "fuzz $target ($pkg): ok"
done

if [ "$testbed" = yes ]; then
  step "README demo"
  scripts/demo.sh >/dev/null
  echo "demo: ok"
fi
step "all tests passed"
