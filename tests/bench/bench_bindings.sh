#!/bin/sh
# bench_bindings.sh BUILD OUT - what a call costs from Python and from Lua
# compared with C, for the same work on the same data.
#
# Runs tests/bench/bench_calls.c ($BUILD/tests/bench_calls, linked with
# $OUT/libpersonalize.a), bench_calls.py (the ctypes package in
# bindings/python on $OUT/libpersonalize.so.1) and bench_calls.lua (the
# module $BUILD/lua/personalize.so on the same shared library). The three
# generate the same catalogue and events with the same xorshift32
# generator; each prints a data checksum and a result checksum (the top-10
# of every recommend user, event counts, item count), which must agree, or
# this script fails. Rounds interleave the languages (one process per
# language per round, the order rotating) so that a busy spell of a shared
# machine does not land on one language only; each figure is the median of
# the rounds. Rates are calls per second of process CPU time (the one fine
# clock stock Lua 5.4 has is os.clock(), so all three use that measure);
# wall-time rates are printed below as a cross-check.
#
# Environment: PZ_BENCH_CALLS_SCALE (default 1) scales the users (2,000;
# events stay 100 per user, so each user has a profile and recommend works
# on histories of the same length), the recommend calls and the cheap calls
# (e.g. 0.1 for a quick run; the 5,000-item catalogue stays);
# PZ_BENCH_CALLS_ROUNDS (default 5);
# PYTHON (default python3), LUA (default lua5.4).
set -eu
if [ $# -ne 2 ]; then
  echo "usage: sh tests/bench/bench_bindings.sh BUILD OUT" >&2
  exit 2
fi
build=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
python=${PYTHON:-python3}
lua=${LUA:-lua5.4}
scale=${PZ_BENCH_CALLS_SCALE:-1}
rounds=${PZ_BENCH_CALLS_ROUNDS:-5}

c_bin=$build/tests/bench_calls
lua_mod=$build/lua/personalize.so
so=$out/libpersonalize.so.1
for f in "$c_bin" "$lua_mod" "$so"; do
  if [ ! -e "$f" ]; then
    echo "bench_bindings: $f is missing; run 'make $f' first" >&2
    exit 1
  fi
done
# a C program older than the library it was linked with measures the old
# code (one built before pz_track_batch printed "inf" for track_many)
for f in "$c_bin"; do
  if [ "$out/libpersonalize.a" -nt "$f" ]; then
    echo "bench_bindings: $f is older than $out/libpersonalize.a; run" \
      "'make $f' (make bench does) first" >&2
    exit 1
  fi
done
for p in "$python" "$lua"; do
  if ! command -v "$p" >/dev/null 2>&1; then
    echo "bench_bindings: $p not found" >&2
    exit 1
  fi
done
case $rounds in '' | *[!0-9]* | 0)
  echo "bench_bindings: PZ_BENCH_CALLS_ROUNDS must be a whole number >= 1" >&2
  exit 2 ;;
esac
sizes=$(awk -v s="$scale" 'BEGIN {
  if (s !~ /^[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$/ || s <= 0 || s > 10) exit 1
  us = int(2000 * s + 0.5); rc = int(2000 * s + 0.5); ch = int(1000000 * s + 0.5)
  if (us < 1) us = 1; if (rc < 1) rc = 1; if (ch < rc) ch = rc
  printf "--items 5000 --users %d --events %d --recs %d --cheap %d", us, 100 * us, rc, ch
}') || {
  echo "bench_bindings: PZ_BENCH_CALLS_SCALE must be a number in (0, 10]" >&2
  exit 2
}

abs() { (cd "$(dirname "$1")" && printf '%s/%s' "$(pwd)" "$(basename "$1")"); }
so_abs=$(abs "$so")
out_abs=$(cd "$out" && pwd)
lua_dir=$(cd "$build/lua" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pz-bench-calls.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

run_c() {
  # shellcheck disable=SC2086 # $sizes is a list of words
  "$c_bin" $sizes --rounds 1 --kv
}
run_python() {
  # shellcheck disable=SC2086
  PYTHONPATH="$root/bindings/python" PERSONALIZE_LIBRARY="$so_abs" \
    "$python" "$here/bench_calls.py" $sizes --rounds 1
}
run_lua() {
  # shellcheck disable=SC2086
  LUA_CPATH="$lua_dir/?.so" LD_LIBRARY_PATH="$out_abs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    "$lua" "$here/bench_calls.lua" $sizes --rounds 1
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
r=1
while [ "$r" -le "$rounds" ]; do
  case $(((r - 1) % 3)) in
    0) order="c python lua" ;;
    1) order="python lua c" ;;
    *) order="lua c python" ;;
  esac
  echo "bench_bindings: round $r/$rounds ($order)..." >&2
  for lang in $order; do
    if ! "run_$lang" >"$tmp/$lang.$r" 2>"$tmp/$lang.$r.err"; then
      echo "bench_bindings: the $lang run failed (round $r):" >&2
      cat "$tmp/$lang.$r.err" >&2
      exit 1
    fi
  done
  r=$((r + 1))
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# Every process must have generated the same data and got the same results.
for key in data_checksum result_checksum sizes; do
  n=$(for f in "$tmp"/c.* "$tmp"/python.* "$tmp"/lua.*; do
        case $f in *.err) continue ;; esac
        grep "^$key " "$f" || echo "$key (missing in $(basename "$f"))"
      done | sort -u | wc -l)
  if [ "$n" -ne 1 ]; then
    echo "bench_bindings: FAILED: the languages disagree on $key:" >&2
    for f in "$tmp"/c.* "$tmp"/python.* "$tmp"/lua.*; do
      case $f in *.err) continue ;; esac
      printf '  %-10s %s\n' "$(basename "$f")" "$(grep "^$key " "$f" || echo missing)" >&2
    done
    exit 1
  fi
done

model=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
pyver=$(sed -n 's/^version python //p' "$tmp/python.1")
luaver=$(sed -n 's/^version lua //p' "$tmp/lua.1")
checks=$(sed -n 's/^data_checksum //p' "$tmp/c.1")/$(sed -n 's/^result_checksum //p' "$tmp/c.1")
datasz=$(sed -n 's/^sizes //p' "$tmp/c.1")

echo
echo "libpersonalize binding call overhead (tests/bench/bench_bindings.sh)"
echo "machine: nproc $(nproc), ${model:-unknown CPU}, Linux $(uname -r); Python $pyver, $luaver;" \
  "load average $load_before before, $load_after after"
echo "data:    $datasz (xorshift32, seed 2463534242; identical in C, Python and Lua:" \
  "data/result checksums $checks agree in all $((rounds * 3)) processes)"

for f in "$tmp"/c.* "$tmp"/python.* "$tmp"/lua.*; do
  case $f in *.err) continue ;; esac
  lang=${f##*/}
  lang=${lang%%.*}
  sed -n "s/^rate /$lang /p; s/^maxrss_kib /$lang rss /p" "$f"
done | awk -v rounds="$rounds" '
  function med(key,   n, i, j, t, v) {
    n = split(vals[key], v, " ")
    for (i = 2; i <= n; i++) { t = v[i] + 0; for (j = i - 1; j >= 1 && v[j] + 0 > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
    m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    spread_of[key] = m > 0 ? (v[n] - v[1]) / m * 100 : 0
    return m
  }
  # (max - min) / median of the rounds, in %, after med(key)
  function spread(key) { return sprintf("%.0f", spread_of[key]) }
  function rate(x) {
    if (x >= 1e6) return sprintf("%.2f M/s", x / 1e6)
    if (x >= 1e3) return sprintf("%.1f k/s", x / 1e3)
    return sprintf("%.0f /s", x)
  }
  function ns(x) { return x >= 1e5 ? sprintf("%.0f us", x / 1e3) : sprintf("%.0f ns", x) }
  $2 == "rss" { if ($3 > rss[$1]) rss[$1] = $3; next }
  { vals[$1 " " $2 " cpu"] = vals[$1 " " $2 " cpu"] " " $3
    vals[$1 " " $2 " wall"] = vals[$1 " " $2 " wall"] " " $4 }
  END {
    split("track recommend item_count event_count track_many", op, " ")
    label["track"] = "track"
    label["track_many"] = "track_many, per event"
    label["recommend"] = "recommend k=10"
    label["item_count"] = "cheap call: item_count()"
    label["event_count"] = "cheap call: event_count(user)"
    fmt = "| %-30s | %-11s | %-11s | %-11s | %-8s | %-8s |\n"
    line = "|--------------------------------|-------------|-------------|-------------|----------|----------|\n"
    printf "\ncalls per second of process CPU time, median of %d rounds; Python/C and Lua/C\n", rounds
    printf "are the time per call over C'"'"'s (C calls/s / their calls/s; 3.00 = 3 times as long)\n\n"
    printf fmt, "", "C", "Python", "Lua", "Python/C", "Lua/C"
    printf "%s", line
    for (i = 1; i <= 5; i++) {
      o = op[i]
      c = med("c " o " cpu"); p = med("python " o " cpu"); l = med("lua " o " cpu")
      sp[o] = spread("c " o " cpu") "/" spread("python " o " cpu") "/" spread("lua " o " cpu") " %"
      printf fmt, label[o], rate(c), rate(p), rate(l), sprintf("%.2f", c / p), sprintf("%.2f", c / l)
      cn[o] = 1e9 / c; pn[o] = 1e9 / p; ln[o] = 1e9 / l
      cw[o] = med("c " o " wall"); pw[o] = med("python " o " wall"); lw[o] = med("lua " o " wall")
    }
    printf fmt, "peak RSS (ru_maxrss), max", sprintf("%.1f MiB", rss["c"] / 1024), \
      sprintf("%.1f MiB", rss["python"] / 1024), sprintf("%.1f MiB", rss["lua"] / 1024), \
      sprintf("%.2f", rss["python"] / rss["c"]), sprintf("%.2f", rss["lua"] / rss["c"])

    printf "\ntime per call (CPU, medians) and what the binding adds to it; the spread of the rounds\n"
    printf "((max - min) / median of the CPU rates: a difference below it is noise); wall-time rates\n"
    printf "(median) as a cross-check (Lua reads wall time in whole ms, from the engine clock)\n\n"
    fmt2 = "| %-30s | %-9s | %-9s | %-9s | %-9s | %-9s | %-15s | %-11s | %-11s | %-11s |\n"
    printf fmt2, "", "C", "Python", "Lua", "Python-C", "Lua-C", "spread C/Py/Lua", "C wall", "Python wall", "Lua wall"
    printf "|--------------------------------|-----------|-----------|-----------|-----------|-----------|-----------------|-------------|-------------|-------------|\n"
    for (i = 1; i <= 5; i++) {
      o = op[i]
      printf fmt2, label[o], ns(cn[o]), ns(pn[o]), ns(ln[o]), ns(pn[o] - cn[o]), ns(ln[o] - cn[o]), \
        sp[o], rate(cw[o]), rate(pw[o]), rate(lw[o])
    }
  }'
echo
echo "C: static libpersonalize.a, direct calls; Python (ctypes) and Lua (C module) call" \
  "libpersonalize.so.1. Each round is one process per language on a fresh engine" \
  "(default config); timed loops only (catalogue put untimed). recommend: each" \
  "binding copies every field of the 10 results (item, score, reason text/code, rule," \
  "flags, contributions, factors, because) into its own objects; C reads the same" \
  "fields in place. track_many: the events of track again, on a second fresh engine," \
  "one pz_track_batch call per 1,000,000 events (C fills the pz_event array; Python" \
  "passes tuples zipped from the lists; Lua builds the table of events, timed), rated" \
  "in events per second." \
  "Peak RSS: the whole process (interpreter, library, data, two engines in turn); Lua" \
  "reads VmHWM, the counter behind ru_maxrss."
