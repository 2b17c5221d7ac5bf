#!/bin/bash
# bench/bulk.sh — pilot-factory scale on the testbed's A-REX 6.17, cesub against the ARC client
# in the same run (needs the testbed: scripts/testbed/all up; root, Debian):
#   1. 1,000 jobs: one `cesub submit --count 1000` (ten requests of 100) against a loop of
#      arcsub calls, one job each, as factories run it; throughput in jobs/s and the ratio
#      (the arcsub loop runs BULK_ARCSUB_LOOP=100 calls: its rate does not depend on the count).
#   2. status of 10,000 jobs (BULK_STATUS_N): `cesub status -a`, wall time and peak RSS
#      (/usr/bin/time -v), against arcstat -a on the same jobs.
#   0. cold start, measured first on the idle machine: `cesub version`, median of 51 runs,
#      against `arcsub --version`.
#   3. the cost of writing submissions ahead (pending rows, docs/reliability.md): `cesub submit
#      --count 1000` (ten requests of 100) with pending rows and with CESUB_TEST_NO_PENDING=1
#      (the test-only switch of internal/jobs/faulthook.go), BULK_PENDING_ROUNDS=3 rounds of
#      each, interleaved, each on a new job list; median jobs/s of each and the cost in percent
#      (target: under 5%).
# Jobs run as a subject of their own (A-REX shows each identity only its jobs) and are
# killed and cleaned at the end.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3   # the approved toolchain go.mod needs
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
eval "$("$ROOT/scripts/testbed/all" env)"
WORK=$(mktemp -d /tmp/cesub-bulk.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
. "$ROOT/bench/lib.sh"
export XDG_CONFIG_HOME=$WORK/config X509_USER_PROXY=$WORK/x509up
CESUB=$WORK/cesub
( cd "$ROOT" && CGO_ENABLED=0 go build -o "$CESUB" ./cmd/cesub )
# the ARC client will not start without a proxy, even when it sends a token
"$CESUB" proxy init --cert "$CESUB_TESTBED_USERCERT" --key "$CESUB_TESTBED_USERKEY" --validity 2h >/dev/null
LOOP=${BULK_ARCSUB_LOOP:-100}
STATUS_N=${BULK_STATUS_N:-10000}
AUD=${CESUB_TESTBED_AREX_URL%/arex}
mint() { ( umask 077; "$CESUB_TESTBED_ISSUER_BIN" mint -signkey "$CESUB_TESTBED_SIGNKEY" -issuer "$CESUB_TESTBED_ISSUER" -sub "$1" \
  -aud "$AUD" -groups /wlcg/pilots -scope "compute.create compute.read compute.modify compute.cancel" -lifetime 2h > "$2" ); }
XRSL='&(executable="/bin/true")(jobname="bulk-bench")'
row() { printf '%-62s %10s\n' "$1" "$2"; }

PARTS=" ${BULK_PARTS:-cold bulk pending status} "   # run only some: BULK_PARTS="cold status"
jobs=$WORK/arcjobs.dat
if [[ $PARTS == *" cold "* ]]; then
echo "## cold start (median of 51 runs, timed in-process by bench/coldstart; first, before the jobs load the machine)"
( cd "$ROOT" && go build -o "$WORK/coldstart" ./bench/coldstart )
mapfile -t cold < <("$WORK/coldstart" 51 -- /bin/true -- "$CESUB" version -- arcsub --version)
row "/bin/true (the floor: fork and exec)" "${cold[0]} ms"
row "cesub version" "${cold[1]} ms"
row "arcsub --version" "${cold[2]} ms"
echo "target: cesub under 20 ms; ratio arcsub/cesub $(ratio "${cold[2]}" "${cold[1]}")"
fi
echo
if [[ $PARTS == *" bulk "* ]]; then
echo "## 1,000 jobs to A-REX 6.17 ($CESUB_TESTBED_AREX_URL)"
mint "bench-bulk-$$" "$WORK/tok1"
export BEARER_TOKEN_FILE=$WORK/tok1 CESUB_JOBLIST=$WORK/bulk.db
"$CESUB" ping -C "$CESUB_TESTBED_AREX_URL" >/dev/null
t0=$(now); "$CESUB" submit -C "$CESUB_TESTBED_AREX_URL" --count 1000 -e "$XRSL" > "$WORK/ids"; t_c=$(echo "$(now) - $t0" | bc -l)
n_c=$(wc -l < "$WORK/ids")
[ "$n_c" = 1000 ] || { echo "cesub submitted $n_c jobs, not 1000" >&2; exit 1; }
t0=$(now)
for _ in $(seq "$LOOP"); do arcsub -j "$jobs" -C "$CESUB_TESTBED_AREX_URL" -T arcrest -Q NONE -e "$XRSL" > /dev/null 2>&1 || { echo "arcsub failed" >&2; exit 1; }; done
t_a=$(echo "$(now) - $t0" | bc -l)
rate_c=$(echo "scale=1; 1000 / $t_c" | bc -l); rate_a=$(echo "scale=2; $LOOP / $t_a" | bc -l)
row "cesub submit --count 1000 (10 requests of 100)" "$(printf '%.2f s' "$t_c")  $rate_c jobs/s"
row "arcsub loop, $LOOP calls of one job (-T arcrest -Q NONE)" "$(printf '%.2f s' "$t_a")  $rate_a jobs/s"
echo "throughput ratio cesub/arcsub-loop: $(ratio "$rate_c" "$rate_a")  (target >= 30)"
"$CESUB" kill -a > /dev/null 2>&1 || true
arckill -j "$jobs" -a > /dev/null 2>&1 || true
fi

if [[ $PARTS == *" pending "* ]]; then
echo; echo "## writing submissions ahead: 1,000 jobs (10 requests of 100) with and without pending rows"
ROUNDS=${BULK_PENDING_ROUNDS:-3}
mint "bench-pending-$$" "$WORK/tok3"
export BEARER_TOKEN_FILE=$WORK/tok3
: > "$WORK/rate.with"; : > "$WORK/rate.without"
# one timed submit of 1,000 jobs to a new job list; $1: with or without; $2: the round
submit1000() {
  local list=$WORK/pending-$1-$2.db t0 t n
  t0=$(now)
  if [ "$1" = without ]; then
    CESUB_TEST_NO_PENDING=1 CESUB_JOBLIST=$list "$CESUB" submit -C "$CESUB_TESTBED_AREX_URL" --count 1000 --batch-size 100 -e "$XRSL" > "$WORK/ids.$1"
  else
    CESUB_JOBLIST=$list "$CESUB" submit -C "$CESUB_TESTBED_AREX_URL" --count 1000 --batch-size 100 -e "$XRSL" > "$WORK/ids.$1"
  fi
  t=$(echo "$(now) - $t0" | bc -l)
  n=$(wc -l < "$WORK/ids.$1")
  [ "$n" = 1000 ] || { echo "cesub submitted $n jobs ($1 pending rows), not 1000" >&2; exit 1; }
  echo "scale=1; 1000 / $t" | bc -l >> "$WORK/rate.$1"
  CESUB_JOBLIST=$list "$CESUB" kill -a > /dev/null 2>&1 || true
}
CESUB_JOBLIST=$WORK/pending-warm.db "$CESUB" ping -C "$CESUB_TESTBED_AREX_URL" >/dev/null
for r in $(seq "$ROUNDS"); do
  # interleaved, the order swapped each round: a drift of the A-REX favours neither
  if [ $((r % 2)) = 1 ]; then submit1000 with "$r"; submit1000 without "$r"; else submit1000 without "$r"; submit1000 with "$r"; fi
done
with=$(median < "$WORK/rate.with"); without=$(median < "$WORK/rate.without")
row "cesub submit --count 1000, pending rows (median of $ROUNDS)" "$with jobs/s"
row "the same, CESUB_TEST_NO_PENDING=1 (median of $ROUNDS)" "$without jobs/s"
cost=$(LC_ALL=C printf '%.1f' "$(echo "100 * (1 - $with / $without)" | bc -l)")
echo "throughput ratio with/without pending rows: $(ratio "$with" "$without"); cost ${cost}% (target: under 5%)"
echo "all rounds, jobs/s: with $(paste -sd' ' "$WORK/rate.with"); without $(paste -sd' ' "$WORK/rate.without")"
fi

if [[ $PARTS == *" status "* ]]; then
echo; echo "## status of $STATUS_N jobs"
mint "bench-status-$$" "$WORK/tok2"
export BEARER_TOKEN_FILE=$WORK/tok2 CESUB_JOBLIST=$WORK/status.db
t0=$(now); "$CESUB" submit -C "$CESUB_TESTBED_AREX_URL" --count "$STATUS_N" -e "$XRSL" > /dev/null; t_s=$(echo "$(now) - $t0" | bc -l)
row "(setup) cesub submit --count $STATUS_N" "$(printf '%.1f s' "$t_s")"
"$CESUB" status -a > /dev/null 2>&1 || true   # warm: A-REX's first listing of new jobs
/usr/bin/time -v "$CESUB" status -a -o json > "$WORK/st.json" 2> "$WORK/time.txt" || true
wall=$(grep 'Elapsed (wall clock)' "$WORK/time.txt" | awk '{print $NF}')
peak=$(grep 'Maximum resident set size' "$WORK/time.txt" | awk '{printf "%.1f", $NF/1024}')
rows=$(grep -c '"id"' "$WORK/st.json" || true)
row "cesub status -a ($rows rows)" "$wall, peak RSS $peak MB"
echo "targets: under 5 s, peak RSS under 50 MB"
"$CESUB" kill -a > /dev/null 2>&1 || true
fi


# 11,000 killed jobs keep the fork A-REX busy for many minutes (each runs its LRMS scripts):
# the testbed A-REX is purged and restarted instead (BULK_KEEP=1 leaves them)
if [ "${BULK_KEEP:-0}" != 1 ]; then
  "$ROOT/scripts/testbed/arex" down --purge >/dev/null 2>&1; "$ROOT/scripts/testbed/arex" up >/dev/null 2>&1
fi
