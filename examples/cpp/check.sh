#!/bin/sh
# shellcheck disable=SC2086  # $CXXFLAGS, $SANFLAGS, $LIBS are word lists
# Build and run the C++ example (shop.cpp with its wrapper personalize.hpp)
# and the C and C++ quick starts of the README, and check that their output
# shows what each promises. One line per check; ends with
# "cpp: N passed, M failed"; exits non-zero on any failure.
# usage (from the repository root, after make built $OUT/libpersonalize.a
# and libpersonalize.so.1):
#   sh examples/cpp/check.sh BUILD OUT CC CXX [SANFLAGS]
set -u
BUILD=$1 OUT=$2 CC=$3 CXX=$4 SANFLAGS=${5:-}
dir=$BUILD/tests/cpp
rm -rf "$dir" # no stale binary or output may pass a check
mkdir -p "$dir"
passed=0 failed=0
LIBS="$(pkg-config --libs yaml-0.1) -lpthread -lm"
CXXFLAGS="-std=c++17 -Wall -Wextra -Wpedantic -Werror -Iinclude"
CFLAGS="-std=c11 -Wall -Wextra -Werror -Iinclude"

check() { # name command...
  name=$1; shift
  if "$@" > "$dir/check.out" 2>&1; then
    echo "[       OK ] $name"; passed=$((passed + 1))
  else
    cat "$dir/check.out"; echo "[  FAILED  ] $name"; failed=$((failed + 1))
  fi
}

# The lines of one section of shop's output: after "== NAME ==" up to the
# next empty line.
section() { # name [file]
  awk -v h="== $1 ==" '$0 == h { f = 1; next } f && $0 == "" { exit } f' \
    "${2:-$dir/shop.out}"
}
# The item ids of a section, one a line.
items() { section "$@" | awk '{ print $2 }'; }

# Run a program; stdout to $2, stderr to $2.err; fails on a non-zero status
# or anything on stderr (a sanitizer report).
run() { # program out [env...]
  prog=$1 out=$2; shift 2
  env "$@" "$prog" > "$out" 2> "$out.err"
  rc=$?
  cat "$out.err"
  [ "$rc" -eq 0 ] && [ ! -s "$out.err" ]
}

# ---- builds -----------------------------------------------------------
check "shop.cpp builds against the static library (-Wpedantic -Werror)" \
  $CXX $CXXFLAGS $SANFLAGS -o "$dir/shop" examples/cpp/shop.cpp \
  "$OUT/libpersonalize.a" $LIBS
check "shop.cpp builds against the shared library (-lpersonalize)" \
  $CXX $CXXFLAGS $SANFLAGS -o "$dir/shop-shared" examples/cpp/shop.cpp \
  -L"$OUT" -lpersonalize
check "quickstart.cpp builds against the static library" \
  $CXX $CXXFLAGS $SANFLAGS -o "$dir/quickstart-cpp" examples/cpp/quickstart.cpp \
  "$OUT/libpersonalize.a" $LIBS
check "examples/c/quickstart.c builds as C11 against the static library" \
  $CC $CFLAGS $SANFLAGS -o "$dir/quickstart-c" examples/c/quickstart.c \
  "$OUT/libpersonalize.a" $LIBS

# ---- shop -------------------------------------------------------------
check "shop (static) runs cleanly: status 0, nothing on stderr" \
  run "$dir/shop" "$dir/shop.out"
shared_uses_out() {
  LD_LIBRARY_PATH=$OUT ldd "$dir/shop-shared" > "$dir/shop-shared.ldd" &&
    grep -F "libpersonalize.so.1 => $OUT/libpersonalize.so.1" \
      "$dir/shop-shared.ldd"
}
check "shop (shared) loads libpersonalize.so.1 from $OUT" shared_uses_out
same_output() {
  run "$dir/shop-shared" "$dir/shop-shared.out" "LD_LIBRARY_PATH=$OUT" &&
    diff "$dir/shop.out" "$dir/shop-shared.out"
}
check "shop (shared) runs and prints exactly what the static build prints" \
  same_output

reasons() { # five items, each with a reason code and text, content first
  s=$(section "alice: recommendations") &&
    [ "$(printf '%s\n' "$s" | grep -c .)" -eq 5 ] &&
    ! printf '%s\n' "$s" |
      grep -Ev '^  [1-5]\. [a-z-]+ +[0-9]+\.[0-9]{3}  [A-Z]+ +[a-z].+$' &&
    printf '%s\n' "$s" |
      grep -q '^  1\. .* CONTENT  matches your interest in sport=running$'
}
check "recommendations come with reasons (alice: matches your interest in ...)" \
  reasons
block_beats_model() {
  top=$(items "alice: recommendations" | head -n 1) &&
    [ -n "$top" ] &&
    grep -qx "alice blocks $top (the model's first pick) and pins daypack at the first slot" \
      "$dir/shop.out" &&
    [ "$(items "alice: after her block and pin" | grep -c .)" -eq 5 ] &&
    ! items "alice: after her block and pin" | grep -qx "$top" &&
    ! items "alice: top 5 after load" | grep -qx "$top"
}
check "a person's block beats the model: her top item is gone" block_beats_model
pin_at_slot_1() {
  section "alice: after her block and pin" | head -n 1 |
    grep -Eq '^  1\. daypack +[0-9.]+  PINNED +pinned by you$' &&
    ! items "alice: recommendations" | grep -qx daypack &&
    section "alice: top 5 after load" | head -n 1 |
      grep -q '^  1\. daypack .* pinned by you$'
}
check "a person's pin beats the model: daypack at slot 1, pinned by you" \
  pin_at_slot_1
cold_start() {
  grep -qx 'ivan is in: runners' "$dir/shop.out" &&
    [ "$(section "ivan (new, says he runs): recommendations" |
      grep -c ' SEGMENT  popular in your segment runners$')" -eq 5 ]
}
check "cold start: a runner with no events gets what runners buy" cold_start
cf() {
  grep -qx 'cf model: 8 users, 16 items, 34 interactions' "$dir/shop.out" &&
    [ "$(section "similar to road-shoe" | grep -c '  CF  ')" -eq 5 ] &&
    ! items "similar to road-shoe" | grep -qx road-shoe &&
    section "jon (bought bike-helmet, energy-gels): recommendations" |
      grep -Eq '  CF +because you interacted with (energy-gels|bike-helmet)$' &&
    grep -Eq '^  [a-z-]+ because of: (energy-gels|bike-helmet)' "$dir/shop.out"
}
check "collaborative filtering: a model, similar items, 'because you interacted with'" cf
round_trip() {
  for u in alice jon; do
    section "$u: top 5 before save" > "$dir/$u.before" &&
      section "$u: top 5 after load" > "$dir/$u.after" &&
      [ "$(grep -c . "$dir/$u.before")" -eq 5 ] &&
      diff "$dir/$u.before" "$dir/$u.after" || return 1
  done
  grep -qx 'saved to a snapshot and loaded it again: 16 items, 10 customers' \
    "$dir/shop.out"
}
check "save + load: the same top 5 (items, scores, reasons) after the round trip" \
  round_trip
erased() {
  grep -q '^export of erin before erase: {.*"user":"erin".*"events":\[{"item":"road-shoe","type":"purchase"' \
    "$dir/shop.out" &&
    grep -qx 'export of erin after erase: (none)' "$dir/shop.out" &&
    grep -qx 'customers: 10 before erase, 9 after' "$dir/shop.out" &&
    [ "$(section "erin after erase: recommendations" |
      grep -c '  POPULAR  popular$')" -eq 3 ]
}
check "erase: the export before holds erin's events, the export after is empty" \
  erased
errors() {
  grep -qx 'misspelt event type: caught pz::Error code -4 (not found): unknown event type "purchse"' \
    "$dir/shop.out" &&
    grep -qx 'k = 0: caught pz::Error code -3 (invalid argument): .*' "$dir/shop.out" &&
    grep -qx 'unknown item: caught pz::Error code -4 (not found): .*kayak.*' "$dir/shop.out" &&
    grep -qx 'embedded NUL: caught pz::Error code -3 (invalid argument): .*NUL.*' \
      "$dir/shop.out" &&
    grep -qx 'bad config: caught pz::Error code -9 (configuration error): <string>:1:[0-9]*: .*"cf_weigth".*' \
      "$dir/shop.out" &&
    grep -qx 'after the errors alice still has 4 events: nothing was recorded' \
      "$dir/shop.out"
}
check "errors: pz::Error caught with its code and message; nothing recorded" errors

# ---- quick starts -------------------------------------------------------
quickstart() { # source program expected-first-line
  [ "$(wc -l < "$1")" -le 14 ] ||
    { echo "$1: $(wc -l < "$1") lines, more than 14"; return 1; }
  run "$2" "$2.out" || return 1
  head -n 1 "$2.out" | grep -qxF "$3" || { cat "$2.out"; return 1; }
}
check "C++ quick start: at most 14 lines, runs, prints a-love-supreme first" \
  quickstart examples/cpp/quickstart.cpp "$dir/quickstart-cpp" \
  'a-love-supreme  0.5  matches your interest in genre=jazz'
check "C quick start: at most 14 lines, runs, prints a-love-supreme first" \
  quickstart examples/c/quickstart.c "$dir/quickstart-c" \
  'a-love-supreme  0.500  matches your interest in genre=jazz'

echo "cpp: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
