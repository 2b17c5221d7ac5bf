#!/bin/bash
# bench/arc-rest.sh [N] — cesub vs arcsub/arcstat vs curl on the same A-REX, in the same run:
# A-REX 6.17 (host) against arcsub 6.17, and ARC 7 (the testbed's chroot) against arcsub 7 in
# that chroot. Needs the testbed (scripts/testbed/all up; root, Debian).
#
# Per CE: one submit with a token (median of N, default 7); one job with 9 input files to
# upload (median of N); one job with a 200 MB input (median of 3, and peak RSS); 100 jobs (one
# cesub bulk submit, median of 3, vs a loop of 100 arcsub calls, once); status of 100 jobs
# (median of N; cesub, curl and arcstat in turn, once the CE has settled), on the CE as it is and again
# with $CESUB_BENCH_FILLER (10,000) other jobs of the same identity on it. Every row is printed with its ratio to curl doing the same requests.
# Every call is a fresh process with fresh TLS connections, as users and pilot factories run them.
# CESUB_BENCH_ONLY=6|7 runs one CE only; CESUB_BENCH_ROWS=status only the status rows.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3   # the approved toolchain go.mod needs
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${1:-7}
eval "$("$ROOT/scripts/testbed/all" env)"
WORK=$(mktemp -d /tmp/cesub-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export XDG_CONFIG_HOME=$WORK/config X509_USER_PROXY=$WORK/x509up
CESUB=$WORK/cesub
( cd "$ROOT" && CGO_ENABLED=0 go build -o "$CESUB" ./cmd/cesub )
XRSL='&(executable="/bin/echo")(arguments="hello")(stdout="out.txt")(jobname="bench")'
{ printf '+'; for i in $(seq -w 1 100); do printf '(&(executable="/bin/echo")(arguments="%s")(stdout="out.txt")(jobname="bench-%s"))' "$i" "$i"; done; } > "$WORK/100.xrsl"
command -v arcsub >/dev/null || { echo "arcsub not installed (nordugrid-arc-client)" >&2; exit 1; }

. "$ROOT/bench/lib.sh"
row() { printf '%-56s %8.3f s\n' "$1" "$2"; }
FILLER=${CESUB_BENCH_FILLER:-10000}
ROWS=${CESUB_BENCH_ROWS:-all}   # status: only the status rows (the submit rows take minutes)

# curl_upload REST TOKEN DIR DESC FILE...: what a client must do at least to submit DESC with
# its input files: one POST, then one curl process PUTting every file (--next: one connection)
curl_upload() {
  local rest=$1 token=$2 dir=$3 desc=$4 id f; shift 4
  id=$(curl -sSf --capath "$X509_CERT_DIR" -H "Authorization: Bearer $token" -H 'Accept: application/json' \
       --data-binary @"$dir/$desc" "$rest/jobs?action=new" | tee -a "$WORK/curl-answers" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
  [ -n "$id" ] || return 1
  local args=()
  for f in "$@"; do
    [ ${#args[@]} = 0 ] || args+=(--next)
    args+=(-sSf --capath "$X509_CERT_DIR" -H "Authorization: Bearer $token" -T "$dir/$f" "$rest/jobs/$id/session/$f")
  done
  curl "${args[@]}" >/dev/null
}

# curl_new REST TOKEN DATA: curl POST jobs?action=new, its answer appended to $WORK/curl-answers
# (the jobs are cleaned at the end)
curl_new() {
  curl -sSf --capath "$X509_CERT_DIR" -H "Authorization: Bearer $2" -H 'Accept: application/json' \
    --data-binary "$3" "$1/jobs?action=new" >> "$WORK/curl-answers"
}

# fill_ce REST TOKEN N FILE: N jobs of the same identity that wait for an input file nobody
# uploads (no slot, no process: only the CE's job count grows); their ids go to FILE
fill_ce() {
  local rest=$1 token=$2 n=$3 out=$4 desc=$WORK/filler.xrsl i
  { printf '+'; for i in $(seq 500); do printf '(&(executable="/bin/true")(jobname="bench-filler")(inputfiles=("never.txt" "")))'; done; } > "$desc"
  : > "$out"
  for _ in $(seq $(( n / 500 ))); do
    curl -sSf --capath "$X509_CERT_DIR" -H "Authorization: Bearer $token" -H 'Accept: application/json' \
      --data-binary @"$desc" "$rest/jobs?action=new" | grep -o '"id":"[^"]*"' | cut -d'"' -f4 >> "$out"
  done
}

# unfill_ce REST TOKEN FILE: kill, then clean, the filler jobs (500 ids a request). A-REX queues
# the clean of a job still PREPARING but carries it out only once the job has finished: without
# the kill the fillers would stay on the CE, waiting for their input, and load the next run.
unfill_ce() {
  local rest=$1 token=$2 file=$3 act part
  [ -s "$file" ] || return 0
  split -l 500 "$file" "$WORK/unfill."
  for act in kill clean; do
    for part in "$WORK"/unfill.*; do
      awk 'BEGIN{printf "{\"job\":["} {printf "%s{\"id\":\"%s\"}", (NR>1?",":""), $1} END{printf "]}"}' "$part" |
        curl -sS --capath "$X509_CERT_DIR" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
          --data-binary @- "$rest/jobs?action=$act" >/dev/null || true
    done
  done
  rm -f "$WORK"/unfill.*
}

# bench_ce LABEL URL TOKENFILE ARCSUB-PREFIX... : ARCSUB-PREFIX runs arc* commands (host or chroot)
bench_ce() {
  local label=$1 url=$2 tokfile=$3; shift 3
  local arc=("$@") rest token jobs=/tmp/cesub-bench-arcjobs-$label-$$.dat   # host /tmp or the chroot's
  token=$(cat "$tokfile"); rest=$url/rest/$(curl -sS --capath "$X509_CERT_DIR" -H "Authorization: Bearer $token" "$url/rest" | grep -q '"1.1"' && echo 1.1 || echo 1.0)
  export CESUB_JOBLIST=$WORK/cesub-$label.db BEARER_TOKEN_FILE=$tokfile
  "$CESUB" ping -C "$url" >/dev/null   # remembers the API version: later submits are one request
  local t_b t_loop t_s t_scurl t_as
  if [ "$ROWS" = status ]; then
    # only the status rows: arcstat's own job list gets its 100 jobs as the submit rows would leave them
    for _ in $(seq 100); do "${arc[@]}" arcsub -j "$jobs" -C "$url" -T arcrest -Q NONE -e "$XRSL" >/dev/null || exit 1; done
  else
  echo; echo "## $label: one submit, token"
  local t_c t_curl t_a t_s t_scurl t_as
  t_c=$(timeit "$N" "$CESUB" submit -C "$url" -e "$XRSL")
  t_curl=$(timeit "$N" curl_new "$rest" "$token" "$XRSL")
  t_a=$(timeit "$N" "${arc[@]}" arcsub -j "$jobs" -C "$url" -T arcrest -Q NONE -e "$XRSL")
  row "cesub submit" "$t_c"
  row "curl POST jobs?action=new" "$t_curl"
  row "arcsub -T arcrest -Q NONE (its fastest mode)" "$t_a"
  echo "ratio cesub/curl:        $(ratio "$t_c" "$t_curl")"
  echo "ratio arcsub/cesub:      $(ratio "$t_a" "$t_c")"
  "$CESUB" clean -a >/dev/null 2>&1 || true

  # inputs live where both tools see them at the same path: $WORK on the host, the chroot's /tmp for ARC 7
  local in=$WORK/inputs-$label view
  view=$in
  if [ "${arc[0]}" = chroot ]; then in=${arc[1]}/tmp/cesub-bench-inputs-$$; view=/tmp/cesub-bench-inputs-$$; fi
  mkdir -p "$in"
  printf '#!/bin/sh\ncat in*.txt\n' > "$in/run.sh"
  for i in 1 2 3 4 5 6 7 8; do echo "input $i" > "$in/in$i.txt"; done
  echo '&(executable="run.sh")(stdout="out.txt")(jobname="bench-inputs")(inputfiles=("in1.txt" "")("in2.txt" "")("in3.txt" "")("in4.txt" "")("in5.txt" "")("in6.txt" "")("in7.txt" "")("in8.txt" ""))' > "$in/inputs.xrsl"
  head -c 200M /dev/urandom > "$in/big.bin"
  echo '&(executable="/bin/true")(jobname="bench-big")(inputfiles=("big.bin" ""))' > "$in/big.xrsl"
  local t_i t_ci t_ai t_g t_cg t_ag m_g m_ag
  echo; echo "## $label: one job, 9 input files uploaded"
  t_i=$(timein "$in" "$N" "$CESUB" submit -C "$url" inputs.xrsl)
  t_ci=$(timeit "$N" curl_upload "$rest" "$token" "$in" inputs.xrsl run.sh in1.txt in2.txt in3.txt in4.txt in5.txt in6.txt in7.txt in8.txt)
  t_ai=$(timeit "$N" "${arc[@]}" sh -c "cd $view && arcsub -j $jobs -C $url -T arcrest -Q NONE inputs.xrsl")
  row "cesub submit" "$t_i"
  row "curl POST + one curl PUTting the 9 files" "$t_ci"
  row "arcsub -T arcrest -Q NONE" "$t_ai"
  echo "ratio cesub/curl:        $(ratio "$t_i" "$t_ci")"
  echo "ratio arcsub/cesub:      $(ratio "$t_ai" "$t_i")"
  echo; echo "## $label: one job, a 200 MB input uploaded"
  t_g=$(timein "$in" 3 "$CESUB" submit -C "$url" big.xrsl)
  t_cg=$(timeit 3 curl_upload "$rest" "$token" "$in" big.xrsl big.bin)
  t_ag=$(timeit 3 "${arc[@]}" sh -c "cd $view && arcsub -j $jobs -C $url -T arcrest -Q NONE big.xrsl")
  m_g=$(rss "$in" "$CESUB" submit -C "$url" big.xrsl)
  m_ag=$(rss / "${arc[@]}" sh -c "cd $view && arcsub -j $jobs -C $url -T arcrest -Q NONE big.xrsl")
  row "cesub submit (peak RSS $m_g MB)" "$t_g"
  row "curl POST + curl PUT" "$t_cg"
  row "arcsub -T arcrest -Q NONE (peak RSS $m_ag MB)" "$t_ag"
  echo "ratio cesub/curl:        $(ratio "$t_g" "$t_cg")"
  echo "ratio arcsub/cesub:      time $(ratio "$t_ag" "$t_g"), peak RSS $(ratio "$m_ag" "$m_g")"
  rm -rf "$in"
  "$CESUB" clean -a >/dev/null 2>&1 || true
  "${arc[@]}" arcclean -j "$jobs" -a -f >/dev/null 2>&1 || true

  echo; echo "## $label: 100 jobs"
  local t_cb
  t_b=$(timeit 3 "$CESUB" submit -C "$url" -f "$WORK/100.xrsl")
  t_cb=$(timeit 3 curl_new "$rest" "$token" @"$WORK/100.xrsl")
  loop() { for _ in $(seq 100); do "${arc[@]}" arcsub -j "$jobs" -C "$url" -T arcrest -Q NONE -e "$XRSL" || return 1; done; }
  t_loop=$(timeit 1 loop)
  row "cesub submit -f (100 jobs, one request)" "$t_b"
  row "curl POST jobs?action=new (the 100 jobs)" "$t_cb"
  row "arcsub -Q NONE loop (100 processes)" "$t_loop"
  echo "ratio cesub/curl:        $(ratio "$t_b" "$t_cb")"
  echo "ratio arcsub loop/cesub: $(ratio "$t_loop" "$t_b")"
  fi

  echo; echo "## $label: status of 100 jobs"
  "$CESUB" clean -a >/dev/null 2>&1 || true
  "$CESUB" submit -C "$url" -f "$WORK/100.xrsl" > "$WORK/ids"
  local ids; ids=$(awk -F/ 'BEGIN{printf "{\"job\":["} {printf "%s{\"id\":\"%s\"}", (NR>1?",":""), $NF} END{printf "]}"}' "$WORK/ids")
  # the three in turn, N rounds, once the CE has settled (its new jobs processed): an idle CE
  s_cesub() { "$CESUB" status --all; }
  s_curl() { curl -sSf --capath "$X509_CERT_DIR" -H "Authorization: Bearer $token" -H 'Accept: application/json' -H 'Content-Type: application/json' --data-binary "$ids" "$rest/jobs?action=status"; }
  s_arcstat() { "${arc[@]}" arcstat -j "$jobs" -a; }
  settle 240
  local res; res=$(timeeach "$N" s_cesub s_curl s_arcstat)
  read -r t_s t_scurl t_as <<< "$res"
  row "cesub status --all (100 jobs)" "$t_s"
  row "curl POST jobs?action=status (100 ids)" "$t_scurl"
  row "arcstat -a (100 jobs, its own job list)" "$t_as"
  echo "ratio cesub/curl:        $(ratio "$t_s" "$t_scurl")"
  echo "ratio arcstat/cesub:     $(ratio "$t_as" "$t_s")"

  echo; echo "## $label: status of the same 100 jobs, the CE holding $FILLER other jobs of the identity"
  local t0 t_s1 t_sb t_scb t_asb
  fill_ce "$rest" "$token" "$FILLER" "$WORK/filler-$label"
  echo "# $(wc -l < "$WORK/filler-$label") filler jobs made (they wait for an input nobody uploads)"
  settle 300
  t0=$(now); "$CESUB" status --all >/dev/null 2>&1 || true; t_s1=$(echo "$(now) - $t0" | bc -l)
  res=$(timeeach "$N" s_cesub s_curl s_arcstat)
  read -r t_sb t_scb t_asb <<< "$res"
  row "cesub status --all, first run (a listing: learns the count)" "$t_s1"
  row "cesub status --all (100 jobs)" "$t_sb"
  row "curl POST jobs?action=status (100 ids)" "$t_scb"
  row "arcstat -a (100 jobs, its own job list)" "$t_asb"
  echo "ratio cesub/curl:        $(ratio "$t_sb" "$t_scb")"
  echo "ratio arcstat/cesub:     $(ratio "$t_asb" "$t_sb")"
  unfill_ce "$rest" "$token" "$WORK/filler-$label"
  "$CESUB" clean -a >/dev/null 2>&1 || true
  "${arc[@]}" arcclean -j "$jobs" -a -f >/dev/null 2>&1 || true
  "${arc[@]}" sh -c "rm -f $jobs*"
  grep -o '"id":"[^"]*"' "$WORK/curl-answers" 2>/dev/null | cut -d'"' -f4 > "$WORK/curl-ids" || true
  [ -s "$WORK/curl-ids" ] && unfill_ce "$rest" "$token" "$WORK/curl-ids"
  rm -f "$WORK/curl-ids" "$WORK/curl-answers"
}

echo "# bench/arc-rest.sh $(date -u +%FT%TZ) N=$N host=$(hostname) cores=$(nproc) cesub $("$CESUB" version | head -1)"
if [ "${CESUB_BENCH_ONLY:-6}" != 7 ]; then
  # arcsub 6.17 needs an X.509 credential even with a token: a cesub-made proxy (ARC reads it too)
  "$CESUB" proxy init --cert "$CESUB_TESTBED_USERCERT" --key "$CESUB_TESTBED_USERKEY" --validity 2h >/dev/null
  echo "# A-REX 6.17 $(dpkg-query -W -f='${Version}' nordugrid-arc-arex), arcsub $(dpkg-query -W -f='${Version}' nordugrid-arc-client) on the host"
  bench_ce "ARC-6.17" "$CESUB_TESTBED_AREX_URL" "$CESUB_TESTBED_TOKEN_FILE" env
fi
if [ "${CESUB_BENCH_ONLY:-7}" != 6 ]; then
  R=$CESUB_TESTBED_ARC7_ROOT
  # arcsub 7 runs in its chroot with only the token (copied in), its own job list under /tmp there
  install -m 600 "$CESUB_TESTBED_ARC7_TOKEN_FILE" "$R/tmp/cesub-bench-token"
  A7=(chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
      BEARER_TOKEN_FILE=/tmp/cesub-bench-token X509_CERT_DIR=/etc/grid-security/certificates)
  echo "# ARC 7 $(chroot "$R" dpkg-query -W -f='${Version}' nordugrid-arc-arex) ($CESUB_TESTBED_ARC7_SUITE chroot), arcsub $(chroot "$R" dpkg-query -W -f='${Version}' nordugrid-arc-client) in the chroot"
  bench_ce "ARC-7" "$CESUB_TESTBED_ARC7_URL" "$CESUB_TESTBED_ARC7_TOKEN_FILE" "${A7[@]}"
  rm -f "$R/tmp/cesub-bench-token"
fi
