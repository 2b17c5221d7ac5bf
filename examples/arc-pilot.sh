#!/bin/sh
# arc-pilot.sh CE [N] — a pilot-submission loop as CE admins and factories write it for the
# ARC client: submit N jobs (default 1), poll arcstat until every one has ended, fetch the
# outputs with arcget, clean the job list. Written for the real ARC client (arcsub, arcstat,
# arcget, arcclean); with `cesub compat install DIR` and DIR first on PATH it runs unchanged
# over cesub (docs/drop-in.md). Credentials as for the ARC client: BEARER_TOKEN_FILE (or the
# other token locations) or an X.509 proxy. Exit 0 when every job finished with exit code 0.
set -eu
CE=${1:?usage: arc-pilot.sh CE [N]}
N=${2:-1}
WORK=${ARC_PILOT_DIR:-$(mktemp -d)}
JOBS=$WORK/pilot-jobs.dat          # a job list of this run's own (arcsub -j)
IDS=$WORK/pilot-ids.txt
: > "$IDS"

i=0
while [ "$i" -lt "$N" ]; do
  i=$((i + 1))
  arcsub -j "$JOBS" -C "$CE" -T arcrest -o "$IDS" \
    -e "&(executable=\"/bin/echo\")(arguments=\"pilot $i\")(stdout=\"pilot.out\")(jobname=\"pilot-$i\")" >/dev/null
done
echo "submitted $(wc -l < "$IDS") pilots"

# poll until every job is in a final state
tries=0
while :; do
  out=$(arcstat -j "$JOBS" -i "$IDS" 2>/dev/null || true)
  active=$(printf '%s\n' "$out" | grep -c -E '^ State: (Accepted|Preparing|Submitting|Hold|Queuing|Running|Finishing|Undefined|Other)' || true)
  [ "$active" -eq 0 ] && [ -n "$out" ] && break
  tries=$((tries + 1))
  [ "$tries" -lt 120 ] || { echo "pilots did not finish" >&2; exit 1; }
  sleep 5
done
failed=$(printf '%s\n' "$out" | grep -c -E '^ State: (Failed|Killed)' || true)
bad_exit=$(printf '%s\n' "$out" | grep -E '^ Exit Code: ' | grep -vc ' 0$' || true)

mkdir -p "$WORK/out"
arcget -j "$JOBS" -D "$WORK/out" -i "$IDS" | grep -E '^(Results stored at|Jobs processed):'
for d in "$WORK"/out/*/; do
  cat "$d/pilot.out"
done
arcclean -j "$JOBS" -a >/dev/null 2>&1 || true   # whatever arcget left (nothing, normally)
echo "failed: $failed, non-zero exit: $bad_exit"
[ "$failed" -eq 0 ] && [ "$bad_exit" -eq 0 ]
