#!/bin/sh
# condor-pilot.sh CE_HOST[:PORT] — the kind of script a CE admin or a pilot factory writes for HTCondor's own
# remote tools: submit a small job to an HTCondor-CE with its inputs spooled, poll condor_q until it is done,
# fetch its output with condor_transfer_data, check it, and remove the job. It is written for the real tools
# (condor_submit, condor_q, condor_transfer_data, condor_rm) and runs unchanged with cesub's links first on PATH
# (`cesub compat install DIR`; docs/drop-in.md). The token is found as both find it (BEARER_TOKEN_FILE, …).
#   examples/condor-pilot.sh ce.example.org:9619
set -eu
POOL=${1:?usage: condor-pilot.sh CE_HOST[:PORT]}
case $POOL in *:*) ;; *) POOL=$POOL:9619 ;; esac
NAME=${POOL%:*}
WAIT=${PILOT_WAIT:-300}          # seconds to wait for the job
WORK=$(mktemp -d "${TMPDIR:-/tmp}/condor-pilot.XXXXXX")
cd "$WORK"

cat > pilot.sh <<'JOB'
#!/bin/sh
echo "pilot on $(hostname) says: $(cat payload.txt)"
JOB
chmod +x pilot.sh
echo "hello from the pilot script" > payload.txt
cat > pilot.sub <<'SUB'
executable              = pilot.sh
transfer_input_files    = payload.txt
output                  = pilot.$(Cluster).$(Process).out
error                   = pilot.$(Cluster).$(Process).err
should_transfer_files   = YES
when_to_transfer_output = ON_EXIT
queue
SUB

# submit: -terse prints "C.0 - C.0"
ids=$(condor_submit -remote "$NAME" -pool "$POOL" -spool -terse pilot.sub)
cluster=${ids%%.*}
echo "submitted cluster $cluster"
trap 'condor_rm -name "$NAME" -pool "$POOL" "$cluster" >/dev/null 2>&1 || true' EXIT

# poll: JobStatus 4 is Completed, 3 Removed, 5 Held — but held with HoldReasonCode 16 only until the
# spooled inputs have arrived
waited=0
while :; do
  st=$(condor_q -name "$NAME" -pool "$POOL" "$cluster" -af JobStatus HoldReasonCode)
  case $st in
    4*) break ;;
    "5 16") ;;
    3*|5*) echo "job $cluster.0 ended in JobStatus $st" >&2
         condor_q -name "$NAME" -pool "$POOL" "$cluster" -af HoldReason >&2; exit 1 ;;
    "") echo "job $cluster.0 left the queue" >&2; exit 1 ;;
  esac
  [ "$waited" -ge "$WAIT" ] && { echo "job $cluster.0 not done after ${WAIT}s (JobStatus $st)" >&2; exit 1; }
  sleep 5; waited=$((waited + 5))
done

# fetch the output into this folder, check it, clean up
condor_transfer_data -name "$NAME" -pool "$POOL" "$cluster"
grep -q "says: hello from the pilot script" "pilot.$cluster.0.out"
cat "pilot.$cluster.0.out"
condor_rm -name "$NAME" -pool "$POOL" "$cluster"
trap - EXIT
echo "pilot OK: cluster $cluster, output in $WORK"
