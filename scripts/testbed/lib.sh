# scripts/testbed/lib.sh — shared settings and helpers of the cesub testbed scripts (sourced).
# Everything listens on loopback only. Override with environment variables.
TESTBED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$TESTBED_DIR/../.." && pwd)
export GOTOOLCHAIN=go1.27.3   # the approved toolchain go.mod needs (the go command fetches it)
STATE=${CESUB_TESTBED_STATE:-/var/lib/cesub-testbed}
ISSUER_PORT=${CESUB_ISSUER_PORT:-8443}
AREX_PORT=${CESUB_AREX_PORT:-8444}
ISSUER_URL="https://localhost:${ISSUER_PORT}"          # iss claim: no trailing slash
# A second issuer A-REX 6.17 trusts, which no script starts: tests start and stop their own
# instance there (CESUB_TESTBED_STATE=<tmp> CESUB_ISSUER_PORT=8447 scripts/testbed/issuer up).
SPARE_ISSUER_URL="https://localhost:${CESUB_SPARE_ISSUER_PORT:-8447}"
AREX_URL="https://localhost:${AREX_PORT}/arex"
TOKEN_AUD="https://localhost:${AREX_PORT}"              # audience the arc.conf rule wants
TOKEN_GROUP=${CESUB_TOKEN_GROUP:-/wlcg/pilots}          # wlcg.groups entry the arc.conf rule wants
TOKEN_SUB=${CESUB_TOKEN_SUB:-cesub-test-user}
CLIENT_ID=${CESUB_CLIENT_ID:-cesub-ci}
SHORT_CLIENT_ID=$CLIENT_ID-short                         # a client whose tokens live only SHORT_LIFETIME
SHORT_LIFETIME=${CESUB_SHORT_LIFETIME:-2m}
DEVICE_CLIENT_ID=$CLIENT_ID-device                       # a public client for device logins (no secret)
DEVICE_SHORT_CLIENT_ID=$CLIENT_ID-device-short           # the same, its tokens live SHORT_LIFETIME
FULL_SCOPE="compute.create compute.read compute.modify compute.cancel"
CA_ID=cesub                                              # -> "ARC TestCA cesub"
CERTDIR=/etc/grid-security/certificates
CA_PEM=$CERTDIR/ARC-TestCA-$CA_ID.pem
HOSTCERT=/etc/grid-security/testCA-hostcert.pem
HOSTKEY=/etc/grid-security/testCA-hostkey.pem
BIN=$STATE/bin
ARC_PACKAGES="nordugrid-arc-arex nordugrid-arc-client nordugrid-arc-plugins-arcrest nordugrid-arc-plugins-needed nordugrid-arc-arcctl nordugrid-arc-arcctl-service"
export no_proxy="localhost,127.0.0.1,::1${no_proxy:+,$no_proxy}" NO_PROXY="localhost,127.0.0.1,::1${NO_PROXY:+,$NO_PROXY}"

log() { printf '[testbed] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "run as root (the testbed installs packages and writes /etc)"; }

# alive PID: running and not a zombie (PID 1 here may not reap orphans)
alive() {
  local pid=$1 st
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  st=$(sed 's/^.*) //' "/proc/$pid/stat" | cut -d' ' -f1)
  [ "$st" != Z ] && [ "$st" != X ]
}
pid_from() { if [ -s "$1" ]; then head -n1 "$1" | tr -dc '0-9'; fi; }

# start_detached PIDFILE OUT ERR CMD...: CMD in a session of its own (setsid), its pid in
# PIDFILE, so that it outlives the shell that started it: a closed terminal (SIGHUP) or a
# killed process group (a test runner, a CI step) takes the shell, not the service.
start_detached() {
  local pidfile=$1 out=$2 err=$3; shift 3
  rm -f "$pidfile"
  setsid -f bash -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$@" >>"$out" 2>>"$err" </dev/null
  for _ in $(seq 100); do [ -s "$pidfile" ] && return 0; sleep 0.02; done
  die "$1: no pid written by $*"
}

# stop_pidfile NAME PIDFILE: TERM, wait up to 15 s, then KILL
stop_pidfile() {
  local pid; pid=$(pid_from "$2")
  if ! alive "$pid"; then rm -f "$2"; return 0; fi
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 75); do alive "$pid" || break; sleep 0.2; done
  alive "$pid" && kill -KILL "$pid" 2>/dev/null
  rm -f "$2"; log "$1 (pid $pid) stopped"
}

# ensure_pkgs PKG...: apt-get install what is missing (apt-get update once if needed)
ensure_pkgs() {
  local need="" p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
  done
  [ -z "$need" ] && return 0
  command -v apt-get >/dev/null || die "apt-get not found: the testbed needs Debian"
  log "installing:$need"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends $need >"$STATE/apt.log" 2>&1; then
    apt-get update >>"$STATE/apt.log" 2>&1 || true
    apt-get install -y --no-install-recommends $need >>"$STATE/apt.log" 2>&1 || { tail -20 "$STATE/apt.log" >&2; die "apt-get install$need failed"; }
  fi
}

go_bin() {
  command -v go 2>/dev/null && return
  [ -x /usr/local/go/bin/go ] && { echo /usr/local/go/bin/go; return; }
  ensure_pkgs golang-go; command -v go
}

# build_tools: the test issuer (and agent probe) from this repo into $BIN
build_tools() {
  mkdir -p "$BIN"
  local go; go=$(go_bin) || die "no Go toolchain"
  ( cd "$REPO_ROOT" && CGO_ENABLED=0 "$go" build -trimpath -buildvcs=false -o "$BIN/cesub-testissuer" ./cmd/cesub-testissuer ) || die "building the test issuer failed"
}

expires_soon() { ! openssl x509 -in "$1" -noout -checkend $(( ${2:-2} * 86400 )) >/dev/null 2>&1; }

# render_arc_conf: /etc/arc.conf from arc.conf.in (the A-REX's config; also names the host for arcctl)
render_arc_conf() {
  if [ -f /etc/arc.conf ] && [ ! -f /etc/arc.conf.orig-cesub ] && ! grep -q 'cesub testbed' /etc/arc.conf; then
    cp -p /etc/arc.conf /etc/arc.conf.orig-cesub
  fi
  sed -e "s#@AREX_URL@#$AREX_URL#g" -e "s#@ISSUER_URL@#$ISSUER_URL#g" \
      -e "s#@SPARE_ISSUER_URL@#$SPARE_ISSUER_URL#g" -e "s#@TOKEN_AUD@#$TOKEN_AUD#g" -e "s#@TOKEN_GROUP@#$TOKEN_GROUP#g" \
      -e "s#@AREX_LOGLEVEL@#${CESUB_AREX_LOGLEVEL:-3}#g" "$TESTBED_DIR/arc.conf.in" > /etc/arc.conf.new
  mv /etc/arc.conf.new /etc/arc.conf
}

# ensure_pki: test CA "ARC TestCA cesub", host cert for localhost, user cert (arcctl test-ca:
# writes the hash links and signing_policy files A-REX wants into $CERTDIR)
ensure_pki() {
  ensure_pkgs $ARC_PACKAGES openssl curl
  mkdir -p "$STATE"; chmod 755 "$STATE"
  [ -f /etc/arc.conf ] && grep -q 'cesub testbed' /etc/arc.conf || render_arc_conf
  if [ ! -f "$CA_PEM" ] || expires_soon "$CA_PEM" 7; then
    log "creating test CA 'ARC TestCA $CA_ID'"
    arcctl test-ca --ca-id "$CA_ID" init -f -v 365 >/dev/null
    rm -f "$HOSTCERT" "$STATE/usercert.pem"
  fi
  if [ ! -f "$HOSTCERT" ] || expires_soon "$HOSTCERT" 2 || ! openssl verify -CAfile "$CA_PEM" "$HOSTCERT" >/dev/null 2>&1 \
     || ! openssl x509 -in "$HOSTCERT" -noout -subject | grep -q 'CN *= *host/localhost'; then
    log "issuing host certificate for localhost"
    arcctl test-ca --ca-id "$CA_ID" hostcert -f -v 360 >/dev/null
  fi
  if [ ! -f "$STATE/usercert.pem" ] || expires_soon "$STATE/usercert.pem" 2 \
     || ! openssl verify -CAfile "$CA_PEM" "$STATE/usercert.pem" >/dev/null 2>&1; then
    log "issuing user certificate 'cesub user'"
    ( cd "$STATE" && arcctl test-ca --ca-id "$CA_ID" usercert -n "cesub user" -f -v 360 >/dev/null )
    mv -f "$STATE/client-cesub-user-cert.pem" "$STATE/usercert.pem"
    mv -f "$STATE/client-cesub-user-key.pem" "$STATE/userkey.pem"
    chmod 644 "$STATE/usercert.pem"; chmod 400 "$STATE/userkey.pem"
  fi
  touch /etc/grid-security/testCA.allowed-subjects
  echo '"/DC=org/DC=nordugrid/DC=ARC/O=TestCA/CN=cesub user"' >> /etc/grid-security/testCA.allowed-subjects
  sort -u -o /etc/grid-security/testCA.allowed-subjects /etc/grid-security/testCA.allowed-subjects
}

# sign_hostcert CERT KEY NAME ADDR: a host certificate for NAME (and localhost, ADDR) signed by
# the testbed CA, unless CERT is already one that is valid for two more days
sign_hostcert() {
  local crt=$1 key=$2 name=$3 addr=$4 tmp
  if [ -f "$crt" ] && [ -f "$key" ] && ! expires_soon "$crt" 2 && openssl verify -CAfile "$CA_PEM" "$crt" >/dev/null 2>&1 \
     && openssl x509 -in "$crt" -noout -ext subjectAltName 2>/dev/null | grep -q "DNS:$name\b"; then
    return 0
  fi
  log "issuing host certificate for $name"
  local cakey=$CERTDIR/ARC-TestCA-$CA_ID-key.pem
  [ -f "$cakey" ] || die "test CA key $cakey missing"
  tmp=$(mktemp -d)
  ( umask 077; openssl req -newkey rsa:2048 -nodes -keyout "$key" -out "$tmp/host.csr" \
      -subj "/DC=org/DC=nordugrid/DC=ARC/O=TestCA/CN=host\/$name" 2>/dev/null ) || die "key for $name failed"
  printf 'subjectAltName=DNS:%s,DNS:localhost,IP:%s\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=critical,CA:FALSE\n' \
    "$name" "$addr" > "$tmp/ext.cnf"
  openssl x509 -req -in "$tmp/host.csr" -CA "$CA_PEM" -CAkey "$cakey" -CAcreateserial -CAserial "$STATE/condor-ca.srl" \
    -out "$crt" -days 360 -sha256 -extfile "$tmp/ext.cnf" 2>/dev/null || die "signing the host certificate for $name failed"
  rm -rf "$tmp"
}

# add_host ADDR NAME [ROOT]: NAME resolves to ADDR on the host (and in the chroot ROOT)
add_host() {
  grep -qE "^${1//./\\.}[[:space:]].*\b$2\b" /etc/hosts || printf '%s\t%s\t# cesub testbed\n' "$1" "$2" >> /etc/hosts
  if [ -n "${3:-}" ] && [ -d "$3/etc" ]; then
    grep -qE "^${1//./\\.}[[:space:]].*\b$2\b" "$3/etc/hosts" 2>/dev/null || printf '%s\t%s\t# cesub testbed\n' "$1" "$2" >> "$3/etc/hosts"
  fi
  return 0
}

# wait_https URL CODE-REGEX SECONDS
wait_https() {
  local i=0 code
  while [ $i -lt $(( $3 * 10 )) ]; do
    code=$(curl -sS --capath "$CERTDIR" -o /dev/null -w '%{http_code}' "$1" 2>/dev/null || true)
    [[ "$code" =~ $2 ]] && return 0
    sleep 0.1; i=$((i+1))
  done
  return 1
}

have_ipv6_lo() { grep -qi '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null; }
