#!/bin/bash
# scripts/soak.sh — the long runs issue 12 asks for, outside .ci/run (make soak):
#   fuzz  every Fuzz* target of the decoders for SOAK_FUZZTIME each (default 10m), one
#         worker each (-parallel 1); prints executions, new inputs and corpus size per target
#   load  SOAK_PROCS cesub processes (default 50) submitting to and querying the real A-REX
#         on one job list, then SIGKILL in the middle of writes (go test -run TestJobListUnderLoad
#         with CESUB_SOAK_PROCS; needs the testbed: root on Debian)
# Usage: scripts/soak.sh [fuzz|load]...   (default: both)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -x /usr/local/go/bin/go ] && export PATH=/usr/local/go/bin:$PATH
export GOTOOLCHAIN=go1.27.3   # the approved toolchain (go.mod needs it; the go command fetches it)
FUZZTIME=${SOAK_FUZZTIME:-10m}
PROCS=${SOAK_PROCS:-50}
what=("$@"); [ ${#what[@]} -gt 0 ] || what=(fuzz load)

fuzz() {
  local cache; cache=$(go env GOCACHE)/fuzz
  printf '%-28s %-22s %12s %8s %8s\n' package target execs new corpus
  for pair in pkg/jobdesc/xrsl@FuzzParse pkg/jobdesc/adl@FuzzParse pkg/jobdesc/submitfile@FuzzParse \
              pkg/classad@FuzzParseExpr pkg/cedar@FuzzFrameDecoder pkg/ce/arcrest@FuzzDecodeJSON \
              pkg/token@FuzzDecode pkg/x509proxy@FuzzParseProxy; do
    local pkg=${pair%@*} target=${pair#*@} log
    log=$(mktemp)
    if ! go test -run '^$' -fuzz "^$target\$" -fuzztime "$FUZZTIME" -timeout 0 -parallel 1 "./$pkg" >"$log" 2>&1; then
      echo "FAIL: $target in $pkg"; tail -30 "$log"; rm -f "$log"; return 1
    fi
    local last execs new corpus
    last=$(grep -E '^fuzz: elapsed' "$log" | tail -1)
    execs=$(sed -E 's/.*execs: ([0-9]+).*/\1/' <<<"$last")
    new=$(sed -E 's/.*new interesting: ([0-9]+).*/\1/' <<<"$last")
    corpus=$(sed -E 's/.*\(total: ([0-9]+)\).*/\1/' <<<"$last")
    printf '%-28s %-22s %12s %8s %8s\n' "$pkg" "$target" "$execs" "$new" "$corpus"
    rm -f "$log"
  done
  echo "(corpus: inputs kept in $cache and testdata/fuzz; execs in $FUZZTIME with one worker)"
}

load() {
  CESUB_SOAK_PROCS=$PROCS go test -count=1 -timeout 30m -run 'TestJobListUnderLoad' -v ./integration/ | grep -E '^(=== RUN|--- |\s+\S+_test.go|PASS|FAIL|ok)'
}

for w in "${what[@]}"; do
  echo "== $w"
  "$w"
done
