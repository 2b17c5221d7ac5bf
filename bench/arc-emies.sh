#!/bin/bash
# bench/arc-emies.sh [N] — cesub vs arcsub -T emies (and curl) on the testbed's A-REX 6.17, in the
# same run. Needs the testbed (scripts/testbed/all up; root, Debian).
#
# One submit (median of N, default 7), token and proxy-only; the status of 1 job; 20 jobs (one
# cesub command: CreateActivity calls of 10, vs a loop of 20 arcsub calls). Every call is a fresh
# process with fresh TLS connections, as users and pilot factories run them. arcsub 6.17 needs an
# X.509 proxy even with a token; it also queries GetResourceInfo unless -Q NONE (both shown).
set -euo pipefail
export GOTOOLCHAIN=go1.27.3   # the approved toolchain go.mod needs
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${1:-7}
eval "$("$ROOT/scripts/testbed/all" env)"
WORK=$(mktemp -d /tmp/cesub-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export XDG_CONFIG_HOME=$WORK/config X509_USER_PROXY=$WORK/x509up CESUB_JOBLIST=$WORK/cesub.db
CESUB=$WORK/cesub
( cd "$ROOT" && CGO_ENABLED=0 go build -o "$CESUB" ./cmd/cesub )
command -v arcsub >/dev/null || { echo "arcsub not installed (nordugrid-arc-client)" >&2; exit 1; }
URL=$CESUB_TESTBED_AREX_URL
ES=emies://${URL#https://}
XRSL='&(executable="/bin/echo")(arguments="hello")(stdout="out.txt")(jobname="bench")'
{ printf '+'; for i in $(seq -w 1 20); do printf '(&(executable="/bin/echo")(arguments="%s")(stdout="out.txt")(jobname="bench-%s"))' "$i" "$i"; done; } > "$WORK/20.xrsl"
ARCJOBS=$WORK/arcjobs.dat

. "$ROOT/bench/lib.sh"
row() { printf '%-58s %8.3f s\n' "$1" "$2"; }

echo "# bench/arc-emies.sh $(date -u +%FT%TZ) N=$N host=$(hostname) cores=$(nproc) cesub $("$CESUB" version | head -1)"
echo "# A-REX $(dpkg-query -W -f='${Version}' nordugrid-arc-arex), arcsub $(dpkg-query -W -f='${Version}' nordugrid-arc-client), EMI-ES at $URL"
"$CESUB" proxy init --cert "$CESUB_TESTBED_USERCERT" --key "$CESUB_TESTBED_USERKEY" --validity 2h >/dev/null

echo; echo "## one submit, token (arcsub also has the proxy it insists on)"
export BEARER_TOKEN_FILE=$CESUB_TESTBED_TOKEN_FILE
t_c=$(timeit "$N" "$CESUB" submit -C "$ES" -e "$XRSL")
t_a=$(timeit "$N" arcsub -j "$ARCJOBS" -C "$URL" -T emies -e "$XRSL")
t_aq=$(timeit "$N" arcsub -j "$ARCJOBS" -C "$URL" -T emies -Q NONE -e "$XRSL")
row "cesub submit -C emies://..." "$t_c"
row "arcsub -T emies" "$t_a"
row "arcsub -T emies -Q NONE" "$t_aq"
echo "ratio arcsub/cesub:          $(ratio "$t_a" "$t_c")"
echo "ratio arcsub -Q NONE/cesub:  $(ratio "$t_aq" "$t_c")"

echo; echo "## status of one job, token"
id=$("$CESUB" submit -C "$ES" -e "$XRSL")
aid=$(arcsub -j "$ARCJOBS" -C "$URL" -T emies -Q NONE -e "$XRSL" | awk '/Job submitted with jobid/ {print $NF}')
t_s=$(timeit "$N" "$CESUB" status "$id")
t_as=$(timeit "$N" arcstat -j "$ARCJOBS" "$aid")
row "cesub status (1 job)" "$t_s"
row "arcstat (1 job)" "$t_as"
echo "ratio arcstat/cesub:         $(ratio "$t_as" "$t_s")"

echo; echo "## one submit, proxy only (X.509 delegation with each arcsub; cesub reuses its delegation)"
unset BEARER_TOKEN_FILE
t_cp=$(timeit "$N" "$CESUB" submit -C "$ES" -e "$XRSL")
t_ap=$(timeit "$N" arcsub -j "$ARCJOBS" -C "$URL" -T emies -Q NONE -e "$XRSL")
row "cesub submit -C emies://... (proxy, delegation reused)" "$t_cp"
row "arcsub -T emies -Q NONE (proxy)" "$t_ap"
echo "ratio arcsub/cesub:          $(ratio "$t_ap" "$t_cp")"

echo; echo "## 20 jobs, token"
export BEARER_TOKEN_FILE=$CESUB_TESTBED_TOKEN_FILE
t_b=$(timeit 3 "$CESUB" submit -C "$ES" -f "$WORK/20.xrsl")
loop() { for _ in $(seq 20); do arcsub -j "$ARCJOBS" -C "$URL" -T emies -Q NONE -e "$XRSL" || return 1; done; }
t_loop=$(timeit 1 loop)
row "cesub submit -f (20 jobs, 2 CreateActivity calls)" "$t_b"
row "arcsub -T emies -Q NONE loop (20 processes)" "$t_loop"
echo "ratio arcsub loop/cesub:     $(ratio "$t_loop" "$t_b")"

"$CESUB" clean -a >/dev/null 2>&1 || true
BEARER_TOKEN_FILE= "$CESUB" --auth x509 clean -a >/dev/null 2>&1 || true
arcclean -j "$ARCJOBS" -a -f >/dev/null 2>&1 || true
