# bench/lib.sh — helpers the bench scripts share (sourced; they set WORK first).
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
# ratio A B -> A/B with two decimals
ratio() { echo "scale=2; $1 / $2" | bc -l | sed 's/^\./0./'; }
# rss DIR CMD... -> peak RSS in MB of one run of CMD in DIR (/usr/bin/time; a failing run aborts)
rss() {
  local dir=$1; shift
  ( cd "$dir" && /usr/bin/time -f "%M" -o "$WORK/rss" "$@" > "$WORK/last.out" 2>&1 ) || { echo "FAILED: $*" >&2; tail -5 "$WORK/last.out" >&2; exit 1; }
  echo "scale=1; $(tail -1 "$WORK/rss") / 1024" | bc -l
}
# timein DIR N CMD... -> timeit in DIR
timein() { local dir=$1; shift; ( cd "$dir" && timeit "$@" ); }
