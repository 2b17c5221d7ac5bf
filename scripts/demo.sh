#!/bin/bash
# scripts/demo.sh — the README's one-command demo on a fresh Debian bookworm machine (root):
# bring up the local testbed, build cesub, fetch a token from the project's issuer by OAuth2
# client credentials, pre-flight it against the running A-REX's arc.conf, show it, and let the
# real A-REX confirm the verdict. Later work extends this to submit/fetch a job.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -x /usr/local/go/bin/go ] && export PATH=/usr/local/go/bin:$PATH
scripts/testbed/all up
mkdir -p bin && CGO_ENABLED=0 go build -o bin/cesub ./cmd/cesub
eval "$(scripts/testbed/all env)"
unset BEARER_TOKEN_FILE
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
say() { printf '\n$ %s\n' "$*"; }

say cesub token get --client-credentials --issuer "$CESUB_TESTBED_ISSUER" --client-id "$CESUB_TESTBED_CLIENT_ID" \
    --client-secret-file "$CESUB_TESTBED_CLIENT_SECRET_FILE" --scope 'compute.create compute.read compute.modify compute.cancel' \
    --audience https://localhost:8444 --write
bin/cesub token get --client-credentials --issuer "$CESUB_TESTBED_ISSUER" --client-id "$CESUB_TESTBED_CLIENT_ID" \
    --client-secret-file "$CESUB_TESTBED_CLIENT_SECRET_FILE" --scope 'compute.create compute.read compute.modify compute.cancel' \
    --audience https://localhost:8444 --write

say cesub token check --ce "$CESUB_TESTBED_AREX_URL" --arc-conf "$CESUB_TESTBED_AREX_CONF"
bin/cesub token check --ce "$CESUB_TESTBED_AREX_URL" --arc-conf "$CESUB_TESTBED_AREX_CONF"

say cesub token show
bin/cesub token show

say "A-REX's own verdict (GET /rest/1.0/jobs with that token)"
code=$(curl -sS -o /dev/null -w '%{http_code}' --capath "$X509_CERT_DIR" -H 'Accept: application/json' \
  -H "Authorization: Bearer $(cat "$XDG_RUNTIME_DIR/bt_u$(id -u)")" "$CESUB_TESTBED_AREX_URL/rest/1.0/jobs")
echo "A-REX answered HTTP $code"
[ "$code" = 200 ]
