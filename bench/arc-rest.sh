#!/bin/bash
# bench/arc-rest.sh [N] — cesub vs arcsub/arcstat vs curl on the same A-REX, same run.
#
# Needs the testbed (scripts/testbed/all up; root, Debian). Prints median times
# and ratios for: one submit with a token; 100 jobs (one cesub bulk submit vs a
# loop of 100 arcsub calls); status of 100 jobs. Each case runs N times
# (default 7) except the arcsub loop (once: it is 100 processes already).
# Every call is a fresh process with fresh TLS connections, as users run them.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${1:-7}
eval "$("$ROOT/scripts/testbed/arex" env)"
WORK=$(mktemp -d /tmp/cesub-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export CESUB_JOBLIST=$WORK/cesub.db XDG_CONFIG_HOME=$WORK/config X509_USER_PROXY=$WORK/x509up
CESUB=$WORK/cesub
( cd "$ROOT" && CGO_ENABLED=0 go build -o "$CESUB" ./cmd/cesub )
AREX=$CESUB_TESTBED_AREX_URL
REST=$AREX/rest/1.0
TOKEN=$(cat "$BEARER_TOKEN_FILE")
ARCJOBS=$WORK/arc-jobs.dat
XRSL='&(executable="/bin/echo")(arguments="hello")(stdout="out.txt")(jobname="bench")'
command -v arcsub >/dev/null || { echo "arcsub not installed (nordugrid-arc-client)" >&2; exit 1; }
# arcsub needs an X.509 credential even with a token: a cesub-made proxy (also shows ARC reads it)
"$CESUB" proxy init --cert "$CESUB_TESTBED_USERCERT" --key "$CESUB_TESTBED_USERKEY" --validity 2h >/dev/null

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# timeit N cmd... -> median seconds (a failing run aborts: a benchmark of failures is meaningless)
timeit() {
  local n=$1; shift; local f=$WORK/times; : > "$f"
  for _ in $(seq "$n"); do
    local t0; t0=$(now)
    "$@" > "$WORK/last.out" 2>&1 || { echo "FAILED: $*" >&2; tail -5 "$WORK/last.out" >&2; exit 1; }
    echo "$(now) - $t0" | bc -l >> "$f"
  done
  median < "$f"
}
ratio() { echo "scale=2; $1 / $2" | bc -l; }
row() { printf '%-52s %9.3f s\n' "$1" "$2"; }

"$CESUB" ping -C "$AREX" >/dev/null   # remembers the API version: later submits are one request

echo "# bench/arc-rest.sh $(date -u +%FT%TZ) N=$N host=$(hostname) cores=$(nproc)"
echo "# A-REX $(dpkg-query -W -f='${Version}' nordugrid-arc-arex), arcsub $(dpkg-query -W -f='${Version}' nordugrid-arc-client), cesub $("$CESUB" version 2>/dev/null | head -1)"
echo
echo "## one submit, token"
t_cesub=$(timeit "$N" "$CESUB" submit -C "$AREX" -e "$XRSL")
t_curl=$(timeit "$N" curl -sSf --capath "$X509_CERT_DIR" -H "Authorization: Bearer $TOKEN" -H 'Accept: application/json' --data-binary "$XRSL" "$REST/jobs?action=new")
t_arcsub=$(timeit "$N" arcsub -j "$ARCJOBS" -C "$AREX" -T arcrest -e "$XRSL")
t_arcsubq=$(timeit "$N" arcsub -j "$ARCJOBS" -C "$AREX" -T arcrest -Q NONE -e "$XRSL")
row "cesub submit" "$t_cesub"
row "curl POST jobs?action=new" "$t_curl"
row "arcsub -T arcrest (token + proxy)" "$t_arcsub"
row "arcsub -T arcrest -Q NONE" "$t_arcsubq"
echo "ratio cesub/curl:              $(ratio "$t_cesub" "$t_curl")   (target <= 1.15)"
echo "ratio arcsub/cesub:            $(ratio "$t_arcsub" "$t_cesub")   (target >= 5)"
echo "ratio arcsub -Q NONE/cesub:    $(ratio "$t_arcsubq" "$t_cesub")"
"$CESUB" clean -a >/dev/null 2>&1 || true
arcclean -j "$ARCJOBS" -a -f >/dev/null 2>&1 || true
rm -f "$ARCJOBS"*

echo
echo "## 100 jobs"
{ printf '+'; for i in $(seq -w 1 100); do printf '(&(executable="/bin/echo")(arguments="%s")(stdout="out.txt")(jobname="bench-%s"))' "$i" "$i"; done; } > "$WORK/100.xrsl"
t_bulk=$(timeit 3 "$CESUB" submit -C "$AREX" -f "$WORK/100.xrsl")
loop() { for i in $(seq 100); do arcsub -j "$ARCJOBS" -C "$AREX" -T arcrest -e "$XRSL" || return 1; done; }
t_loop=$(timeit 1 loop)
row "cesub submit -f (100 jobs, one request)" "$t_bulk"
row "arcsub loop (100 processes)" "$t_loop"
echo "ratio arcsub loop/cesub bulk:  $(ratio "$t_loop" "$t_bulk")   (target >= 20)"

echo
echo "## status of 100 jobs"
"$CESUB" clean -a >/dev/null 2>&1 || true
"$CESUB" submit -C "$AREX" -f "$WORK/100.xrsl" > "$WORK/ids"
ids_json=$(awk -F/ 'BEGIN{printf "{\"job\":["} {printf "%s{\"id\":\"%s\"}", (NR>1?",":""), $NF} END{printf "]}"}' "$WORK/ids")
t_st=$(timeit "$N" "$CESUB" status --all)
t_stcurl=$(timeit "$N" curl -sSf --capath "$X509_CERT_DIR" -H "Authorization: Bearer $TOKEN" -H 'Accept: application/json' -H 'Content-Type: application/json' --data-binary "$ids_json" "$REST/jobs?action=status")
t_arcstat=$(timeit "$N" arcstat -j "$ARCJOBS" -a)
row "cesub status --all (100 jobs)" "$t_st"
row "curl POST jobs?action=status (100 ids)" "$t_stcurl"
row "arcstat -a (100 jobs)" "$t_arcstat"
echo "ratio cesub/curl:              $(ratio "$t_st" "$t_stcurl")"
echo "ratio arcstat/cesub:           $(ratio "$t_arcstat" "$t_st")"

"$CESUB" clean -a >/dev/null 2>&1 || true
arcclean -j "$ARCJOBS" -a -f >/dev/null 2>&1 || true
