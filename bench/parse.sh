#!/bin/bash
# bench/parse.sh [BASE] — job description parsing: `cesub describe` of a 60,000-job xRSL and of a large
# HTCondor submit file (both generated, real-shaped: internal/jobgen via bench/genjobs), then the Go benchmarks
# of the parsers. No testbed needed.
#
# For each input and output (--to json, --to adl), PARSE_RUNS runs (default 3) under /usr/bin/time: median wall
# time, input MB/s (input size / wall time), median CPU (user+sys), the largest peak RSS and peak RSS / input size.
# Given BASE (a git ref, e.g. main), the same rows for a cesub built from BASE in the same run, and a check that
# both binaries print the same bytes; the Go benchmarks then run on BASE's parsers too (with this tree's
# benchmark files and generator copied in).
# Sizes: PARSE_JOBS xRSL jobs (default 60000), PARSE_PROCS submit-file procs (default 20000).
set -euo pipefail
export GOTOOLCHAIN=go1.27.3   # the approved toolchain go.mod needs
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BASE=${1:-}
RUNS=${PARSE_RUNS:-3}
JOBS=${PARSE_JOBS:-60000}
PROCS=${PARSE_PROCS:-20000}
WORK=$(mktemp -d /tmp/cesub-parse.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
. "$ROOT/bench/lib.sh"

( cd "$ROOT" && CGO_ENABLED=0 go build -o "$WORK/cesub" ./cmd/cesub && go build -o "$WORK/genjobs" ./bench/genjobs )
bins=(cesub)
if [ -n "$BASE" ]; then
  mkdir -p "$WORK/base"
  git -C "$ROOT" archive "$BASE" | tar -x -C "$WORK/base"
  # this tree's benchmark files and generator, so that both trees run the same benchmarks
  mkdir -p "$WORK/base/internal/jobgen"
  cp "$ROOT/internal/jobgen/jobgen.go" "$WORK/base/internal/jobgen/"
  cp "$ROOT/pkg/jobdesc/xrsl/bench_test.go" "$WORK/base/pkg/jobdesc/xrsl/"
  cp "$ROOT/pkg/jobdesc/submitfile/bench_test.go" "$WORK/base/pkg/jobdesc/submitfile/"
  # (the rate per CPU second needs jobgen.CPU, in the copied generator)
  ( cd "$WORK/base" && CGO_ENABLED=0 go build -o "$WORK/cesub-base" ./cmd/cesub )
  bins=(cesub-base cesub)
fi
"$WORK/genjobs" xrsl "$JOBS" "$WORK/jobs.xrsl"
"$WORK/genjobs" submit "$PROCS" "$WORK/procs.sub"

mb() { echo "scale=2; $(stat -c %s "$1") / 1000000" | bc -l | sed 's/^\./0./'; }
# measure BIN FILE TO -> one row: median wall, MB/s, median cpu (user+sys), largest peak RSS, RSS/input
measure() {
  local bin=$1 file=$2 to=$3 size t cpu rss
  size=$(mb "$file")
  : > "$WORK/runs"
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %U %S %M" -o "$WORK/t" "$WORK/$bin" describe --to "$to" "$file" > /dev/null 2> "$WORK/err" ||
      { echo "FAILED: $bin describe --to $to $file" >&2; tail -5 "$WORK/err" >&2; exit 1; }
    awk '{print $1, $2+$3, $4}' "$WORK/t" >> "$WORK/runs"
  done
  t=$(awk '{print $1}' "$WORK/runs" | median)
  cpu=$(awk '{print $2}' "$WORK/runs" | median)
  rss=$(echo "scale=1; $(awk '{print $3}' "$WORK/runs" | sort -n | tail -1) / 1024" | bc -l)
  printf '%-11s %-10s %-5s %6s MB %7.2f s %6.1f MB/s %6.2f s cpu %7.1f MB RSS %5.1fx input\n' "$bin" "$(basename "$file")" "$to" \
    "$size" "$t" "$(echo "$size / $t" | bc -l)" "$cpu" "$rss" "$(echo "$rss / $size" | bc -l)"
}

echo "## cesub describe (median of $RUNS; load average $(cut -d' ' -f1-3 /proc/loadavg))"
for file in "$WORK/jobs.xrsl" "$WORK/procs.sub"; do
  for to in json adl; do
    for bin in "${bins[@]}"; do measure "$bin" "$file" "$to"; done
    if [ -n "$BASE" ]; then
      "$WORK/cesub-base" describe --to "$to" "$file" > "$WORK/a" 2> "$WORK/a.err"
      "$WORK/cesub" describe --to "$to" "$file" > "$WORK/b" 2> "$WORK/b.err"
      if cmp -s "$WORK/a" "$WORK/b" && cmp -s "$WORK/a.err" "$WORK/b.err"; then echo "  same output as $BASE"; else echo "  OUTPUT DIFFERS from $BASE"; fi
    fi
  done
done

echo "## Go benchmarks (-benchtime 5x): MB/s of input by the wall clock and per CPU second (the latter holds on a busy machine)"
gobench() {
  ( cd "$1" && go test -run '^$' -bench 'RealShaped' -benchtime 5x -benchmem ./pkg/jobdesc/xrsl/ ./pkg/jobdesc/submitfile/ ) |
    awk -v who="$2" '/^pkg:/ {n = split($2, p, "/"); pkg = p[n]}
      /^Benchmark/ {delete v; for (i = 3; i < NF; i += 2) v[$(i+1)] = $i
        printf "%-5s %-10s %-28s %8.1f ms/op %7s MB/s %7s MB/cpu-s %11s B/op %9s allocs/op\n", who, pkg, $1, v["ns/op"]/1e6, v["MB/s"], v["MB/cpu-s"], v["B/op"], v["allocs/op"]}'
}
[ -n "$BASE" ] && gobench "$WORK/base" base
gobench "$ROOT" this
