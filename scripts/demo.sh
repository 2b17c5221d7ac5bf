#!/bin/bash
# scripts/demo.sh — the README's one-command demo on a fresh Debian bookworm machine (root):
# bring up the local testbed, build cesub, fetch a token from the project's issuer by OAuth2
# client credentials, pre-flight it against the running A-REX's arc.conf, show it, let the
# real A-REX confirm the verdict, then run a real job: submit with an uploaded input file,
# wait for it, print its stdout and download its outputs; then the same job description on the
# HTCondor-CE (a token for its audience, ping, submit, status, cat, get).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -x /usr/local/go/bin/go ] && export PATH=/usr/local/go/bin:$PATH
export GOTOOLCHAIN=go1.27.3   # the approved toolchain (go.mod needs it; the go command fetches it)
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

work=$(mktemp -d)
export CESUB_JOBLIST=$work/jobs.db
printf '#!/bin/sh\necho "hello from $(hostname), input says: $(cat input.txt)"\n' > "$work/hello.sh"
echo "a file uploaded by cesub" > "$work/input.txt"
cat > "$work/hello.xrsl" <<'EOT'
&(executable="hello.sh")(stdout="hello.out")(inputfiles=("input.txt" ""))(jobname="cesub-demo")
EOT
say cesub submit -C "$CESUB_TESTBED_AREX_URL" -f hello.xrsl
job=$(bin/cesub submit -C "$CESUB_TESTBED_AREX_URL" -f "$work/hello.xrsl")
echo "$job"
say "cesub status $job   (until FINISHED)"
for _ in $(seq 90); do
  state=$(bin/cesub status "$job" -o json | sed -n 's/.*"state": "\([A-Z]*\)".*/\1/p')
  case "$state" in FINISHED) break;; FAILED|KILLED) echo "job ended $state" >&2; exit 1;; esac
  sleep 2
done
bin/cesub status "$job"
say cesub cat "$job"
bin/cesub cat "$job"
say cesub get "$job" -D "$work/out"
bin/cesub get "$job" -D "$work/out"
ls -R "$work/out"

# The same description to the HTCondor-CE (CEDAR, SCITOKENS), with a token for its audience.
export BEARER_TOKEN_FILE=$work/condor-token
CE=$CESUB_TESTBED_CONDOR_CE
say cesub token get --client-credentials … --audience "$CESUB_TESTBED_CONDOR_HOST:9619" --write
bin/cesub token get --client-credentials --issuer "$CESUB_TESTBED_ISSUER" --client-id "$CESUB_TESTBED_CLIENT_ID" \
    --client-secret-file "$CESUB_TESTBED_CLIENT_SECRET_FILE" --scope 'compute.create compute.read compute.modify compute.cancel' \
    --audience "$CESUB_TESTBED_CONDOR_HOST:9619" --write
say cesub ping -C "$CE"
bin/cesub ping -C "$CE"
say cesub submit -C "$CE" -f hello.xrsl
job=$(bin/cesub submit -C "$CE" -f "$work/hello.xrsl")
echo "$job"
for _ in $(seq 90); do
  state=$(bin/cesub status "$job" -o json | sed -n 's/.*"state": "\([A-Z]*\)".*/\1/p')
  case "$state" in FINISHED) break;; FAILED|KILLED|HELD) echo "job ended $state" >&2; exit 1;; esac
  sleep 1
done
bin/cesub status "$job"
say cesub cat "$job"
bin/cesub cat "$job"
say cesub get "$job" -D "$work/out-condor"
bin/cesub get "$job" -D "$work/out-condor"
ls -R "$work/out-condor"
