#!/bin/sh
# Run the whole suite: cmocka unit binaries, then the build checks (symbols,
# headers alone as C11 and C++, examples). Ends with "N passed, N failed".
# usage: tests/run.sh BUILD OUT CC CXX
set -u
BUILD=$1 OUT=$2 CC=$3 CXX=$4 SANFLAGS=${5:-}
passed=0 failed=0
log=$BUILD/tests/log
mkdir -p "$log"

for t in "$BUILD"/tests/test_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  "$t" > "$log/$name.out" 2>&1
  rc=$?
  cat "$log/$name.out"
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$log/$name.out" | tail -n 1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' "$log/$name.out" | tail -n 1)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
  if [ "$rc" -ne 0 ] && [ -z "$f" ]; then
    echo "[  FAILED  ] $name exited with status $rc"
    failed=$((failed + 1))
  fi
done

check() { # name command...
  name=$1; shift
  if "$@" > "$log/check.out" 2>&1; then
    echo "[       OK ] $name"; passed=$((passed + 1))
  else
    cat "$log/check.out"; echo "[  FAILED  ] $name"; failed=$((failed + 1))
  fi
}

check "exports only pz_ symbols, exactly the version script" \
  sh tests/check_symbols.sh "$OUT"
for h in include/personalize.h include/personalize/*.h; do
  check "$h compiles alone as C11" sh -c \
    "printf '#include \"%s\"\nint main(void){return 0;}\n' '$h' | $CC -std=c11 -Wall -Wextra -pedantic -Werror -Iinclude -x c -fsyntax-only -"
  check "$h compiles alone as C++" sh -c \
    "printf '#include \"%s\"\nint main(){return 0;}\n' '$h' | $CXX -std=c++11 -Wall -Wextra -pedantic -Werror -Iinclude -x c++ -fsyntax-only -"
done
check "config fuzz corpus replays cleanly" "$BUILD/tests/replay_config" tests/fuzz/corpus/config/*
check "segment fuzz corpus replays cleanly" timeout 300 "$BUILD/tests/replay_segments" tests/fuzz/corpus/segments/*
check "snapshot fuzz corpus replays cleanly" timeout 300 "$BUILD/tests/replay_snapshot" tests/fuzz/corpus/snapshot/*
check "journal fuzz corpus replays cleanly" timeout 300 "$BUILD/tests/replay_journal" tests/fuzz/corpus/journal/*
check "quickstart example runs" "$BUILD/examples/quickstart" --users 200 --items 300 --events 5000
segments_example() { # 4 non-empty segments, 5 clusters, segment popularity
  o=$BUILD/tests/segments.out
  "$BUILD/examples/segments" > "$o" &&
  [ "$(grep -Ec '^  [a-z_]+ +[1-9][0-9]*$' "$o")" -eq 4 ] &&
  [ "$(grep -Ec '^  [0-9]: +[1-9][0-9]* users: [a-z_]+=' "$o")" -eq 5 ] &&
  grep -q '^  1\. .*(popular in your segment budget_young)$' "$o" ||
    { cat "$o"; return 1; }
}
check "segments example runs and prints sane audiences" segments_example
cf_example() { # a model, 2 similar-item lists, 3 top-5s; the newcomer's all CF
  o=$BUILD/tests/cf_movies.out
  "$BUILD/examples/cf_movies" "$@" > "$o" &&
  grep -q '^model: item-kNN + implicit ALS, [1-9][0-9]* users x [1-9][0-9]* items' "$o" &&
  [ "$(grep -c '^similar to ' "$o")" -eq 2 ] &&
  [ "$(grep -Ec '^  [1-5]\. ' "$o")" -eq 25 ] &&
  [ "$(sed -n '/^gets, with no retraining:$/,$p' "$o" |
       grep -c '^       because you interacted with [^;]*; CF shares: ')" -eq 5 ] ||
    { cat "$o"; return 1; }
}
check "cf_movies example runs (MovieLens if present, else synthetic)" cf_example
check "cf_movies example runs on synthetic ratings" cf_example --synthetic
kiosk_step() { # the item lines of step $1 of the kiosk example
  sed -n "/^== $1\./,/^\$/p" "$BUILD/tests/kiosk_overrides.out" | grep -E '^  [1-5]\. '
}
kiosk_example() { # each rule and each choice visibly at work, steps 0 to 7
  o=$BUILD/tests/kiosk_overrides.out
  "$BUILD/examples/kiosk_overrides" > "$o" &&
  [ "$(grep -Ec '^  [1-5]\. ' "$o")" -eq 40 ] &&
  # minors (no stated age) see no alcohol; the card's age lets it through
  [ "$(for s in 0 1 2 3 4 5; do kiosk_step $s; done | grep -c ' alcohol ')" -eq 0 ] &&
  kiosk_step 6 | grep -q ' alcohol ' &&
  [ "$(for s in 0 1 2 3 4 5 6; do kiosk_step $s; done |
       grep -Ec '^  3\. house-[a-z-]+ .* PROMOTED +promoted \(rule house_brand\)')" -eq 7 ] &&
  # a blocked category never shows again while personalized
  kiosk_step 1 | grep -q ' dessert ' &&
  [ "$(for s in 2 3 4 5 6; do kiosk_step $s; done | grep -c ' dessert ')" -eq 0 ] &&
  # the person's pin takes slot 0 from the editorial pin, which moves down
  kiosk_step 0 | head -n 1 | grep -Eq '^  1\. pumpkin-soup .* EDITORIAL +featured \(rule soup_of_the_day\)' &&
  [ "$(for s in 3 4 5 6; do kiosk_step $s | head -n 2; done |
       grep -Ec '^  (1\. flat-white .* PINNED +pinned by you|2\. pumpkin-soup .* EDITORIAL )')" -eq 8 ] &&
  ! kiosk_step 3 | grep -q 'more of ' &&
  kiosk_step 4 | grep -Eq '^  [45]\. .* CONTENT +.*; more of diet=vegetarian, as you asked' &&
  # "not interested": gone from then on
  kiosk_step 4 | grep -q '^  [1-5]\. tofu-poke ' &&
  [ "$(for s in 5 6; do kiosk_step $s; done | grep -c '^  [1-5]\. tofu-poke ')" -eq 0 ] &&
  # the merge: both persons' choices, the newer one on a shared target
  sed -n '/^choices of card-4411/,/^$/p' "$o" > "$o.choices" &&
  grep -Eq '^  PIN +flat-white +at slot 0 ' "$o.choices" &&
  grep -Eq '^  ADJUST +diet=vegetarian +x1\.50 ' "$o.choices" &&
  grep -Eq '^  BLOCK_ITEM +mulled-wine +7 days ago$' "$o.choices" &&
  # opted out: rules and popularity only, and it says so
  [ "$(kiosk_step 7 | grep -c '; personalization is off, as you asked$')" -eq 5 ] &&
  ! kiosk_step 7 | grep -q ' PINNED ' ||
    { cat "$o"; return 1; }
}
check "kiosk_overrides example: rules and a person's choices at each step" kiosk_example
pz_eval_example() { # a small generated split, as TSV and as CSV: the same figures
  d=$BUILD/tests/pz_eval
  rm -rf "$d" && mkdir -p "$d" &&
  awk 'BEGIN { srand(7); print "user\titem\tvalue" > "'"$d"'/train.tsv";
               print "user\titem\tvalue" > "'"$d"'/test.tsv";
               for (u = 0; u < 60; u++) for (k = 0; k < 12; k++) {
                 i = int(rand() * 40) + (u % 3) * 20;
                 f = k < 9 ? "train" : "test";
                 printf "u%d\ti%d\t1\n", u, i > "'"$d"'/" f ".tsv" } }' &&
  tr '\t' ',' < "$d/train.tsv" > "$d/train.csv" &&
  tr '\t' ',' < "$d/test.tsv" > "$d/test.csv" &&
  "$BUILD/examples/pz-eval" --json --quiet --train "$d/train.tsv" --test "$d/test.tsv" \
    --model default --model popular > "$d/tsv.out" 2> "$d/warn" &&
  "$BUILD/examples/pz-eval" --json --quiet --train "$d/train.csv" --test "$d/test.csv" \
    > "$d/csv.out" 2>> "$d/warn" &&
  [ "$(wc -l < "$d/tsv.out")" -eq 2 ] &&
  grep -Eq '^\{"model":"default","k":10,"precision":0\.[0-9]+' "$d/tsv.out" &&
  # the same default figures from CSV (timings aside)
  [ "$(head -n 1 "$d/tsv.out" | sed 's/"import_s".*//')" = \
    "$(head -n 1 "$d/csv.out" | sed 's/"import_s".*//')" ] &&
  ! "$BUILD/examples/pz-eval" --train "$d/none.tsv" --test "$d/test.tsv" 2> "$d/err" &&
  grep -q 'cannot open' "$d/err" ||
    { cat "$d"/*.out "$d/err" 2>/dev/null; return 1; }
}
check "pz-eval scores a generated split, the same from TSV and CSV" pz_eval_example
check "every exported symbol has a man page" sh tests/check_man.sh "$OUT"
check "modules include only what DESIGN section 2 lets them use" sh tests/check_layers.sh
check "man pages list PZ_EFORK (engine functions) and PZ_EIO (journaled writes)" python3 tests/check_man_errors.py

# suites with their own runners (bindings, the C++ example, install): each
# prints its tests and ends with "NAME: N passed, M failed"
suite() { # name command...
  name=$1; shift
  "$@" > "$log/suite-$name.out" 2>&1
  rc=$?
  cat "$log/suite-$name.out"
  line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed\$" "$log/suite-$name.out" | tail -n 1)
  p=$(printf '%s\n' "$line" | sed -n 's/^[^:]*: \([0-9]*\) passed.*/\1/p')
  f=$(printf '%s\n' "$line" | sed -n 's/.* \([0-9]*\) failed$/\1/p')
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
  if [ -z "$line" ] || { [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; }; then
    echo "[  FAILED  ] $name suite exited with status $rc"
    failed=$((failed + 1))
  fi
}
for s in python:bindings/python/check.sh lua:bindings/lua/check.sh \
         cpp:examples/cpp/check.sh readme:tests/check_readme.sh \
         install:tests/check_install.sh; do
  script=${s#*:}
  suite "${s%%:*}" sh "$script" "$BUILD" "$OUT" "$CC" "$CXX" "$SANFLAGS"  # a missing one fails
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
