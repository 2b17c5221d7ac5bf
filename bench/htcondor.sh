#!/bin/bash
# bench/htcondor.sh [N] — cesub vs the real HTCondor 23.9.6 tools (condor_ping, condor_submit -remote) on the
# testbed's HTCondor-CE (ce.cesub.test:9619: shared port, SCITOKENS, AES; spool on tmpfs), same files, same run.
# Needs the testbed (scripts/testbed/htcondor-ce up; root, Debian).
#
# Rows: ping (collector lookup + schedd, WRITE); 1 spooled proc with 1 input file; 1,000 procs in one transaction
# (`queue 1000`, shaped like the reference baseline's job1000.sub), each a fresh process: median wall time of N (default 7; 5 for 1,000 procs, interleaved with the real tool),
# median client CPU (user+sys) and peak RSS, from /usr/bin/time. The real tools run in the chroot with the same token.
# Between submissions the queue is emptied and the schedd left to settle (condor_rm, wait until condor_q shows no
# job, 1 s), so that no run pays for the previous one's cleanup. For the 1,000-proc rows the schedd's own CPU
# (its process and its forked spool workers, from /proc, 1.5 s after the client exits, so that the spool workers'
# reaper is included) is printed too: that is the work the schedd does for the submission whichever client sends it.
# Only the clusters this run submitted are removed (the testbed is shared).
# Environment: CESUB_BENCH_ROWS picks rows (default "ping one bulk"); CESUB_BENCH_BIN is the cesub binary to time
# (default: built from this tree); CESUB_BENCH_BASE, a second cesub binary (an older build), adds it to the bulk
# rounds (base, cesub, condor_submit, …) with its own row and paired ratios: before and after in the same machine state.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3   # the approved toolchain go.mod needs
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${1:-7}
NBIG=${CESUB_BENCH_NBIG:-5}
ROWS=" ${CESUB_BENCH_ROWS:-ping one bulk} "
BASE=${CESUB_BENCH_BASE:-}
eval "$("$ROOT/scripts/testbed/htcondor-ce" env)"
R=$CESUB_TESTBED_CONDOR_ROOT
HOST=$CESUB_TESTBED_CONDOR_HOST
CE=$CESUB_TESTBED_CONDOR_CE
W=/tmp/cesub-bench-condor.$$          # same absolute path on the host and in the chroot
HW=$R$W
mkdir -p "$HW/sub1" "$HW/subN" "$HW/cfg"
trap 'rm -rf "$HW"' EXIT
CESUB=$HW/cesub
if [ -n "${CESUB_BENCH_BIN:-}" ]; then cp "$CESUB_BENCH_BIN" "$CESUB"; else ( cd "$ROOT" && CGO_ENABLED=0 go build -o "$CESUB" ./cmd/cesub ); fi
[ -z "$BASE" ] || cp "$BASE" "$HW/cesub-base" 
install -m 600 "$CESUB_TESTBED_CONDOR_TOKEN_FILE" "$HW/token"
printf '#!/bin/sh\necho "hello $(cat input.txt)"\n' > "$HW/sub1/job.sh"; chmod +x "$HW/sub1/job.sh"
echo data > "$HW/sub1/input.txt"
printf 'executable = job.sh\ntransfer_input_files = input.txt\noutput = out.$(Cluster).$(Process)\nerror = err.$(Cluster).$(Process)\nshould_transfer_files = YES\nwhen_to_transfer_output = ON_EXIT\nrequest_memory = 64\nqueue\n' > "$HW/sub1/job.sub"
# the bulk submission has the shape of the baseline in ../shared/reference/htcondor-ce/bench (whose condor_submit
# figures the issue quotes): one shared input, an argument per proc, a user log, requests, and requirements no
# machine meets, so that the 1,000 jobs stay idle and do not load the box while the next run is timed
printf '#!/bin/sh\necho "proc $*"; cat shared.txt\n' > "$HW/subN/job.sh"; chmod +x "$HW/subN/job.sh"
echo "shared input for all procs" > "$HW/subN/shared.txt"
cp "$ROOT/pkg/ce/htcondor/testdata/bulk1000.sub" "$HW/subN/job1000.sub"   # also the Go benchmarks' file

export XDG_CONFIG_HOME=$HW/cfg CESUB_JOBLIST=$HW/jobs.db BEARER_TOKEN_FILE=$HW/token
CONDOR_ENV=(/usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 BEARER_TOKEN_FILE=$W/token
  _CONDOR_SEC_CLIENT_AUTHENTICATION_METHODS=SCITOKENS _CONDOR_SEC_CLIENT_AUTHENTICATION=REQUIRED
  _CONDOR_SEC_CLIENT_ENCRYPTION=REQUIRED _CONDOR_SEC_CLIENT_INTEGRITY=REQUIRED)
condor() { ( cd "$HW/$1" && shift && chroot "$R" "${CONDOR_ENV[@]}" sh -c "cd $PWD_IN && $*" ); }

WORK=$HW
. "$ROOT/bench/lib.sh"
# once DIR CMD...: one timed run (a fresh process), appended to $M as "wall_ms cpu_ms rss_mb schedd_cpu_ms"; a
# failure aborts (a benchmark of failures is meaningless)
once() {
  local dir=$1; shift
  local t0 t1 s0=0 sc=0
  [ -n "${SCHEDD_CPU:-}" ] && s0=$(schedd_cpu)
  t0=$(date +%s%N)
  ( cd "$dir" && /usr/bin/time -f "%U %S %M" -o "$HW/t" "$@" > "$HW/out" 2>&1 ) || { echo "FAILED: $*" >&2; tail -5 "$HW/out" >&2; exit 1; }
  t1=$(date +%s%N)
  if [ -n "${SCHEDD_CPU:-}" ]; then sleep 1.5; sc=$(( $(schedd_cpu) - s0 )); fi
  awk -v w=$(( (t1 - t0) / 1000 )) -v sc="$sc" '{printf "%.1f %.1f %.1f %d\n", w/1000, ($1+$2)*1000, $3/1024, sc}' "$HW/t" >> "$M"
  [ -n "${AFTER:-}" ] && eval "$AFTER"
  return 0
}
# summary FILE -> the medians of its columns
summary() { echo "$(cut -d' ' -f1 "$1" | median) $(cut -d' ' -f2 "$1" | median) $(cut -d' ' -f3 "$1" | median) $(cut -d' ' -f4 "$1" | median)"; }
# measure N DIR CMD... -> the medians of N runs
measure() {
  local n=$1 dir=$2; shift 2
  M=$HW/m; : > "$M"
  for _ in $(seq "$n"); do once "$dir" "$@"; done
  summary "$M"
}
# schedd_cpu: the schedd's CPU so far in ms (its own and its reaped children's: the spool workers)
schedd_cpu() { awk '{print ($14+$15+$16+$17)*10}' "/proc/$(pgrep -x condor_schedd | head -1)/stat"; }
row() { printf '%-60s %9.1f ms %8.1f ms CPU %7.1f MB\n' "$1" $2; }
# clean_queue: remove the cluster the last run submitted (cesub prints condor://CE/C.P, condor_submit "submitted to
# cluster C") and wait until the queue no longer has it
clean_queue() {
  local cl
  cl=$(grep -m1 -oE 'condor://[^/ ]+/[0-9]+|submitted to cluster [0-9]+' "$HW/out" | grep -m1 -oE '[0-9]+$') || return 0
  chroot "$R" condor_rm "$cl" >/dev/null 2>&1 || true
  for _ in $(seq 60); do
    [ -z "$(chroot "$R" condor_q -allusers "$cl" -af ClusterId 2>/dev/null | head -1)" ] && break
    sleep 0.5
  done
  sleep 1
}

echo "# bench/htcondor.sh $(date -u +%FT%TZ) N=$N host=$(hostname) cores=$(nproc) cesub $("$CESUB" version | head -1)"
echo "# HTCondor $(chroot "$R" condor_version | head -1 | awk '{print $2}') ($CESUB_TESTBED_CONDOR_SUITE chroot) at $CE; spool on $(stat -f -c %T "$R/var/spool/condor")"
"$CESUB" ping -C "$CE" > /dev/null

if [[ $ROWS == *" ping "* ]]; then
echo; echo "## ping (collector lookup, then the schedd: WRITE)"
read -r c_w c_c c_m _ < <(measure "$N" "$HW" "$CESUB" ping -C "$CE")
read -r p_w p_c p_m _ < <(measure "$N" "$HW" chroot "$R" "${CONDOR_ENV[@]}" condor_ping -pool "$HOST:9619" -name "$HOST" -type schedd WRITE)
row "cesub ping" "$c_w $c_c $c_m"
row "condor_ping -pool -name WRITE" "$p_w $p_c $p_m"
echo "ratio condor_ping/cesub (wall): $(ratio "$p_w" "$c_w")"
fi

AFTER=clean_queue
if [[ $ROWS == *" one "* ]]; then
echo; echo "## 1 spooled proc, 1 input file"
read -r c_w c_c c_m _ < <(measure "$N" "$HW/sub1" "$CESUB" submit -C "$CE" -f job.sub)
read -r s_w s_c s_m _ < <(measure "$N" "$HW/sub1" chroot "$R" "${CONDOR_ENV[@]}" sh -c "cd $W/sub1 && condor_submit -pool $HOST:9619 -remote $HOST job.sub")
row "cesub submit -f job.sub" "$c_w $c_c $c_m"
row "condor_submit -pool -remote job.sub" "$s_w $s_c $s_m"
echo "ratio condor_submit/cesub (wall): $(ratio "$s_w" "$c_w")"
fi

[[ $ROWS == *" bulk "* ]] || exit 0
echo; echo "## 1,000 procs in one transaction (queue 1000: 1 shared input, arguments, user log; never matched)"
export SCHEDD_CPU=1
# interleaved (cesub, condor_submit, cesub, …): both see the schedd in the same state (its queue log and history
# grow with every submission)
: > "$HW/mc"; : > "$HW/ms"; : > "$HW/mb"
for i in $(seq "$NBIG"); do
  # with a base, the two builds take turns going first: neither always follows condor_submit
  [ -z "$BASE" ] || [ $((i % 2)) = 0 ] || M=$HW/mb once "$HW/subN" "$HW/cesub-base" submit -C "$CE" -f job1000.sub
  M=$HW/mc once "$HW/subN" "$CESUB" submit -C "$CE" -f job1000.sub
  [ -z "$BASE" ] || [ $((i % 2)) = 1 ] || M=$HW/mb once "$HW/subN" "$HW/cesub-base" submit -C "$CE" -f job1000.sub
  M=$HW/ms once "$HW/subN" chroot "$R" "${CONDOR_ENV[@]}" sh -c "cd $W/subN && condor_submit -pool $HOST:9619 -remote $HOST job1000.sub"
done
read -r c_w c_c c_m c_s < <(summary "$HW/mc")
read -r s_w s_c s_m s_s < <(summary "$HW/ms")
AFTER= SCHEDD_CPU=
row "cesub submit -f job1000.sub" "$c_w $c_c $c_m"
row "condor_submit -pool -remote job1000.sub" "$s_w $s_c $s_m"
echo "ratio condor_submit/cesub: wall $(ratio "$s_w" "$c_w"), client CPU $(ratio "$s_c" "$c_c"), peak RSS $(ratio "$s_m" "$c_m")"
# the VM's speed drifts within a run (both tools slow down together for a while): the ratio of each
# condor_submit run to the cesub run just before it cancels that drift
echo "paired ratio condor_submit/cesub (wall; median of the $NBIG pairs): $(paste -d' ' "$HW/ms" "$HW/mc" | awk '{printf "%.3f\n", $1 / $5}' | median | xargs printf '%.2f')"
echo "# each run, wall ms: cesub $(cut -d' ' -f1 "$HW/mc" | tr '\n' ' ')| condor_submit $(cut -d' ' -f1 "$HW/ms" | tr '\n' ' ')"
echo "schedd CPU for the submission (its process + spool workers): with cesub $c_s ms, with condor_submit $s_s ms ($(nproc) cores)"
if [ -n "$BASE" ]; then
  read -r b_w b_c b_m b_s < <(summary "$HW/mb")
  row "base cesub submit -f job1000.sub ($(basename "$BASE"))" "$b_w $b_c $b_m"
  echo "paired ratio condor_submit/base (wall; median of the $NBIG rounds): $(paste -d' ' "$HW/ms" "$HW/mb" | awk '{printf "%.3f\n", $1 / $5}' | median | xargs printf '%.2f')"
  echo "paired ratio base/cesub (wall; median of the $NBIG rounds): $(paste -d' ' "$HW/mb" "$HW/mc" | awk '{printf "%.3f\n", $1 / $5}' | median | xargs printf '%.2f')"
  echo "# each run, wall ms: base $(cut -d' ' -f1 "$HW/mb" | tr '\n' ' ')"
  echo "# each run, client CPU ms: base $(cut -d' ' -f2 "$HW/mb" | tr '\n' ' ')| cesub $(cut -d' ' -f2 "$HW/mc" | tr '\n' ' ')| condor_submit $(cut -d' ' -f2 "$HW/ms" | tr '\n' ' ')"
  echo "schedd CPU with base $b_s ms"
fi
