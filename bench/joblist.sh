#!/bin/bash
# bench/joblist.sh — the job list on SQLite and on PostgreSQL side by side, in one run (needs the
# testbed's PostgreSQL: scripts/testbed/postgres up; each PostgreSQL list is a schema of its own,
# dropped at the end):
#   1. record 1,000 jobs, one transaction each (as 1,000 submits record their answers): jobs/s.
#   2. a 1,000,000-row list: the selection `status --state` makes (100 HELD jobs among them),
#      median of 5 in-process List calls, and the engine's plan (it must read the jobs_state
#      index, not scan); then `cesub status -a --state unknown` (no match: open, migrate check,
#      select; no CE asked) as a whole command, median of 5 and peak RSS.
#   3. status -a of 10,000 jobs, the job-list part (bench/joblist `status`: List of every job and
#      UpdateStates of every one, one in ten of them changed, what status -a does around the CE
#      requests; the CE part is the same on both engines and bench/bulk.sh measures it on the real
#      A-REX): median of JOBLIST_STATUS_RUNS (7) runs, the engines alternating, the ratio
#      PostgreSQL/SQLite and peak RSS.
#   4. `cesub status -a` of 10,000 jobs as a whole command on the real HTCondor-CE (the testbed's; JOBLIST_CE=no
#      leaves it out): median of JOBLIST_STATUS_RUNS runs, alternating, the ratio (target: within 1.3x).
# The 1,000,000 rows are written by bench/joblist `fill` on SQLite and by one INSERT … SELECT
# generate_series on PostgreSQL (the same rows; a million one-row round trips would take minutes).
set -euo pipefail
export GOTOOLCHAIN=go1.27.3   # the approved toolchain go.mod needs
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
eval "$("$ROOT/scripts/testbed/postgres" env)"   # CESUB_TESTBED_POSTGRES_URL, PGPASSFILE
WORK=$(mktemp -d /tmp/cesub-joblist.XXXXXX)
SCHEMAS=()
cleanup() {
  for s in "${SCHEMAS[@]}"; do psql -qX "$CESUB_TESTBED_POSTGRES_URL" -c "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
. "$ROOT/bench/lib.sh"
export XDG_CONFIG_HOME=$WORK/config
( cd "$ROOT" && CGO_ENABLED=0 go build -o "$WORK/cesub" ./cmd/cesub && CGO_ENABLED=0 go build -o "$WORK/joblist" ./bench/joblist )
JL=$WORK/joblist

# pglist NAME -> a new, empty PostgreSQL job list (a schema of its own)
pglist() {
  local s="bench_$$_$1"; SCHEMAS+=("$s")
  psql -qX "$CESUB_TESTBED_POSTGRES_URL" -c "CREATE SCHEMA $s" >/dev/null
  echo "$CESUB_TESTBED_POSTGRES_URL&options=-csearch_path%3D$s"   # libpq and pgx both take it
}
# med N CMD... -> the median of what N runs of CMD print (seconds)
med() { local n=$1; shift; for _ in $(seq "$n"); do "$@"; done | median; }
ms() { printf '%.1f ms' "$(echo "$1 * 1000" | bc -l)"; }
row() { printf '%-46s %18s %18s %8s\n' "$@"; }
pgfill() {
  psql -qX "$1" >/dev/null <<EOT
INSERT INTO jobs (id, local_id, ce, flavour, name, submitted, description, delegation_id, state, exit_code, updated)
SELECT 'https://ce.example:443/arex/rest/1.0/jobs/fill' || lpad(i::text, 7, '0'), 'fill' || lpad(i::text, 7, '0'),
  'https://ce.example:443/arex', 'arc', 'bench', 1700000000 + i, '', '',
  CASE WHEN i % 10000 = 0 THEN 'HELD' ELSE (ARRAY['QUEUING','RUNNING','FINISHED','FAILED','KILLED'])[i % 5 + 1] END, NULL, 1700000000
FROM generate_series(0, $2 - 1) AS i;
ANALYZE jobs;
EOT
}

echo "# cesub job list: SQLite ($WORK, $(df -T "$WORK" | awk 'NR==2{print $2}')) and PostgreSQL $(psql -qXAt "$CESUB_TESTBED_POSTGRES_URL" -c 'SHOW server_version') (127.0.0.1, TLS)"
row "" "SQLite" "PostgreSQL" "PG/SQLite"

# 1. record 1,000 jobs
S=$WORK/rec.db; P=$(pglist rec)
s=$("$JL" "$S" record 1000); p=$("$JL" "$P" record 1000)
row "record 1,000 jobs (one transaction each)" "$(printf '%.0f jobs/s' "$(echo "1000 / $s" | bc -l)")" \
  "$(printf '%.0f jobs/s' "$(echo "1000 / $p" | bc -l)")" "$(ratio "$p" "$s")"

# 2. 1,000,000 rows
N=${JOBLIST_BIG:-1000000}
S=$WORK/big.db; P=$(pglist big)
t0=$(now); "$JL" "$S" fill "$N" >/dev/null; ts=$(echo "$(now) - $t0" | bc -l)
"$JL" "$P" explain HELD >/dev/null   # creates the schema
t0=$(now); pgfill "$P" "$N"; tp=$(echo "$(now) - $t0" | bc -l)
row "(setup) $N rows" "$(printf '%.1f s' "$ts")" "$(printf '%.1f s' "$tp")" ""
s=$(med 5 "$JL" "$S" select HELD); p=$(med 5 "$JL" "$P" select HELD)
row "select 100 HELD of $N (List, median of 5)" "$(ms "$s")" "$(ms "$p")" "$(ratio "$p" "$s")"
s=$(timeit 5 "$WORK/cesub" -j "$S" status -a --state unknown); p=$(timeit 5 "$WORK/cesub" -j "$P" status -a --state unknown)
row "cesub status -a --state unknown (whole command)" "$(ms "$s")" "$(ms "$p")" "$(ratio "$p" "$s")"
s=$(rss "$WORK" "$WORK/cesub" -j "$S" status -a --state unknown); p=$(rss "$WORK" "$WORK/cesub" -j "$P" status -a --state unknown)
row "  peak RSS" "$s MB" "$p MB" ""
echo "plan, SQLite:     $("$JL" "$S" explain HELD | paste -sd';')"
echo "plan, PostgreSQL: $("$JL" "$P" explain HELD | paste -sd';')"

# 3. status -a of 10,000 jobs (the job-list part)
S=$WORK/st.db; P=$(pglist st)
"$JL" "$S" fill 10000 >/dev/null; "$JL" "$P" fill 10000 >/dev/null
# the two engines' runs alternate, so that a machine's load falls on both alike
: > "$WORK/st.s"; : > "$WORK/st.p"
for _ in $(seq "${JOBLIST_STATUS_RUNS:-7}"); do "$JL" "$S" status >> "$WORK/st.s"; "$JL" "$P" status >> "$WORK/st.p"; done
s=$(median < "$WORK/st.s"); p=$(median < "$WORK/st.p")
row "status -a of 10,000 jobs: job-list part only" "$(ms "$s")" "$(ms "$p")" "$(ratio "$p" "$s")"
s=$(rss "$WORK" "$JL" "$S" status); p=$(rss "$WORK" "$JL" "$P" status)
row "  peak RSS" "$s MB" "$p MB" ""

# 4. cesub status -a of 10,000 jobs, the whole command, on the real HTCondor-CE: one submission of 10,000
#    procs that never match a machine (they stay idle), recorded on SQLite and copied to PostgreSQL by
#    `cesub joblist migrate`; then status -a on each list, alternating. Only this run's cluster is removed.
if [ "${JOBLIST_CE:-yes}" = yes ]; then
  eval "$("$ROOT/scripts/testbed/htcondor-ce" env)"
  S=$WORK/ce.db; P=$(pglist ce)
  mkdir -p "$WORK/sub"; printf '#!/bin/sh\necho "proc $*"\n' > "$WORK/sub/job.sh"; chmod +x "$WORK/sub/job.sh"
  sed 's/^queue 1000$/queue 10000/; /shared.txt/d' "$ROOT/pkg/ce/htcondor/testdata/bulk1000.sub" > "$WORK/sub/job.sub"
  export BEARER_TOKEN_FILE=$CESUB_TESTBED_CONDOR_TOKEN_FILE
  ( cd "$WORK/sub" && "$WORK/cesub" -j "$S" submit -C "$CESUB_TESTBED_CONDOR_CE" -o jsonl job.sub > "$WORK/sub.jsonl" )
  cluster=$(grep -m1 -oE '/[0-9]+\.0"' "$WORK/sub.jsonl" | sed -E 's%/([0-9]+)\.0"%\1%')
  trap 'chroot "$CESUB_TESTBED_CONDOR_ROOT" condor_rm "$cluster" >/dev/null 2>&1 || true; cleanup' EXIT
  "$WORK/cesub" joblist migrate --from "$S" --to "$P" >/dev/null
  : > "$WORK/ce.s"; : > "$WORK/ce.p"
  for _ in $(seq "${JOBLIST_STATUS_RUNS:-7}"); do
    timeit 1 "$WORK/cesub" -j "$S" status -a -o json >> "$WORK/ce.s"; timeit 1 "$WORK/cesub" -j "$P" status -a -o json >> "$WORK/ce.p"
  done
  s=$(median < "$WORK/ce.s"); p=$(median < "$WORK/ce.p")
  row "cesub status -a, 10,000 jobs (whole command, HTCondor-CE)" "$(ms "$s")" "$(ms "$p")" "$(ratio "$p" "$s")"
  s=$(rss "$WORK" "$WORK/cesub" -j "$S" status -a -o json); p=$(rss "$WORK" "$WORK/cesub" -j "$P" status -a -o json)
  row "  peak RSS" "$s MB" "$p MB" ""
fi
echo "target: PostgreSQL within 1.3x of SQLite for status -a of 10,000 jobs; selections by state in milliseconds"
