# bench/lib.sh — helpers the bench scripts share (sourced; they set WORK first).
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# timeit N cmd... -> median seconds (a failing run aborts: a benchmark of failures is meaningless)
timeit() {
  local n=$1; shift; local f=$WORK/times; : > "$f"
  for _ in $(seq "$n"); do timeonce "$f" "$@"; done
  median < "$f"
}
# timeonce FILE cmd...: runs cmd once and appends its seconds to FILE (a failing run aborts)
timeonce() {
  local f=$1 t0; shift; t0=$(now)
  "$@" > "$WORK/last.out" 2>&1 || { echo "FAILED: $*" >&2; tail -5 "$WORK/last.out" >&2; exit 1; }
  echo "$(now) - $t0" | bc -l >> "$f"
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
# timeeach N F1 F2 ...: runs F1 F2 … in turn, N rounds (A B C A B C …: a drift in the machine's
# speed falls on every command alike), and prints each one's median seconds on one line, in order
timeeach() {
  local n=$1 f; shift
  for f in "$@"; do : > "$WORK/times.$f"; done
  for _ in $(seq "$n"); do
    for f in "$@"; do timeonce "$WORK/times.$f" "$f"; done
  done
  echo $(for f in "$@"; do median < "$WORK/times.$f"; done)
}
# busy_pct: how busy the machine's CPUs were over the last 2 s, in percent (from /proc/stat)
busy_pct() {
  local a b
  a=($(head -1 /proc/stat)); sleep 2; b=($(head -1 /proc/stat))
  local idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}
# settle MAX: waits until the machine (the CEs run on it) is at most 15% busy over 2 s, or MAX
# seconds; prints how long it waited and how busy it was
settle() {
  local max=$1 t0 b; t0=$(date +%s)
  while b=$(busy_pct); [ "$b" -gt 15 ] && [ $(( $(date +%s) - t0 )) -lt "$max" ]; do :; done
  echo "# waited $(( $(date +%s) - t0 )) s for the CE to settle (CPUs ${b}% busy)"
}
