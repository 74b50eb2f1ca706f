#!/bin/sh
# check.sh - test the Lua binding: the unit tests, the quick start and the
# kiosk example, with Lua 5.4 (the module make built) and, when their
# headers and interpreters are installed, Lua 5.1 and LuaJIT (a module
# built here from the same sources).
#
#   sh bindings/lua/check.sh BUILD OUT CC CXX SANFLAGS
#
# Run from the repository root after make built $BUILD/lua/personalize.so;
# OUT holds libpersonalize.so.1. With SANFLAGS (the sanitizer build) the
# interpreters are not instrumented, so the runtimes are preloaded, leak
# detection stays on (lua_close frees everything) and any report fails.
# Prints one line per result and ends with "lua: N passed, M failed".
BUILD=${1:?usage: check.sh BUILD OUT CC CXX SANFLAGS}
OUT=${2:?usage: check.sh BUILD OUT CC CXX SANFLAGS}
CC=${3:-cc}
SAN=${5:-}
HERE=bindings/lua
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pzlua.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT INT TERM
PASSED=0
FAILED=0

pass() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
fail() { FAILED=$((FAILED + 1)); echo "not ok - $1"; }

finish() {
  echo "lua: $PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
  exit $?
}

PRELOAD=
if [ -n "$SAN" ]; then
  for rt in libasan.so libubsan.so; do
    case "$SAN" in *address*) ;; *) [ "$rt" = libasan.so ] && continue ;; esac
    p=$($CC -print-file-name=$rt 2>/dev/null)
    if [ ! -f "$p" ]; then
      fail "sanitizer runtime $rt not found by $CC"
      finish
    fi
    PRELOAD="$PRELOAD $p"
  done
  PRELOAD=${PRELOAD# }
fi

# run NAME CPATH LUA ARGS...: stdout to $TMP/NAME.out, stderr to .err.
# A sanitizer report fails the run even when the exit status is 0.
run() {
  name=$1 cpath=$2 lua=$3
  shift 3
  LUA_CPATH="$cpath" LUA_PATH="$HERE/tests/?.lua" \
    LD_LIBRARY_PATH="$OUT${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    LD_PRELOAD="$PRELOAD" \
    ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=23" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    "$lua" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
  rc=$?
  if grep -q 'Sanitizer\|runtime error:' "$TMP/$name.err"; then
    sed 's/^/# /' "$TMP/$name.err" | head -40
    return 99
  fi
  return $rc
}

# The unit tests: one result line per test, plus one if the run crashed.
unit() {
  tag=$1 cpath=$2 lua=$3
  shift 3
  run "unit-$tag" "$cpath" "$lua" "$HERE/tests/run.lua" "$@"
  rc=$?
  while IFS= read -r line; do
    case "$line" in
    "ok - "*) PASSED=$((PASSED + 1)); echo "ok - $tag: ${line#ok - }" ;;
    "not ok - "*) FAILED=$((FAILED + 1)); echo "not ok - $tag: ${line#not ok - }" ;;
    "  "*|"	"*) echo "#   $line" ;;
    esac
  done <"$TMP/unit-$tag.out"
  if [ $rc -ne 0 ] && ! grep -q '^not ok' "$TMP/unit-$tag.out"; then
    fail "$tag: test run exited with $rc"
    sed 's/^/# /' "$TMP/unit-$tag.err" | head -20
  fi
}

# quickstart.lua prints a reasoned list, the effect of a block and a
# failure as nil, msg, code.
quickstart() {
  tag=$1 cpath=$2 lua=$3
  if run "qs-$tag" "$cpath" "$lua" examples/lua/quickstart.lua &&
    grep -q '^1	blue-train	matches your interest in genre=jazz$' "$TMP/qs-$tag.out" &&
    grep -q '^1	item left$' "$TMP/qs-$tag.out" &&
    grep -q '^nil	ERANGE	' "$TMP/qs-$tag.out" &&
    [ "$(wc -l <examples/lua/quickstart.lua)" -le 14 ]; then
    pass "$tag: examples/lua/quickstart.lua"
  else
    fail "$tag: examples/lua/quickstart.lua"
    sed 's/^/# /' "$TMP/qs-$tag.out" "$TMP/qs-$tag.err" | head -20
  fi
}

# kiosk.lua: the screens must show what the visitor asked for.
kiosk() {
  tag=$1 cpath=$2 lua=$3
  if ! run "kiosk-$tag" "$cpath" "$lua" examples/lua/kiosk.lua; then
    fail "$tag: examples/lua/kiosk.lua runs"
    sed 's/^/# /' "$TMP/kiosk-$tag.out" "$TMP/kiosk-$tag.err" | head -20
    return
  fi
  pass "$tag: examples/lua/kiosk.lua runs"
  # An awk pass over the screens; prints the first broken promise.
  why=$(awk '
    /^== / { screen = substr($2, 1, 1) + 0 }
    /^== 2\. .*"not for me" on / { gone = $(NF - 1) }
    /^  [0-9]\. / {
      n[screen]++; list[screen] = list[screen] " " $2
      if (gone != "" && $2 == gone) { print "dismissed " gone " shown again"; exit }
      if (screen >= 3 && $3 != "veg") { print $2 " shown after vegetarian only"; exit }
      if (screen == 1 && index($0, "matches your interest") == 0) { print "screen 1 lacks interest reasons"; exit }
      if (screen == 4 && index($0, "more of cuisine=mexican, as you asked")) more = 1
    }
    /^  choices of card-4411: / {
      carried = index($0, "require diet=vegetarian") && index($0, "block_item " gone)
    }
    /^== 4\. logs in: visitor-17 merged into card-4411 ==$/ { merged = 1 }
    END {
      if (gone == "") print "no not-for-me screen"
      else if (!merged) print "no merge screen"
      else if (!carried) print "choices not carried over by the merge"
      else if (!more) print "the card holder'"'"'s own choice not in a reason"
      else if (n[1] != 4 || n[3] != 4 || n[4] != 4) print "short screens"
      else if (list[1] == list[2] || list[2] == list[3] || list[3] == list[4]) print "a step left the screen unchanged"
    }' "$TMP/kiosk-$tag.out")
  if [ -z "$why" ]; then
    pass "$tag: kiosk screens follow the visitor's choices and login"
  else
    fail "$tag: kiosk screens: $why"
    sed 's/^/# /' "$TMP/kiosk-$tag.out"
  fi
  run "kiosk2-$tag" "$cpath" "$lua" examples/lua/kiosk.lua
  if cmp -s "$TMP/kiosk-$tag.out" "$TMP/kiosk2-$tag.out"; then
    pass "$tag: kiosk output is deterministic"
  else
    fail "$tag: kiosk output is deterministic"
  fi
}

all_checks() {
  tag=$1 cpath=$2 lua=$3
  shift 3
  unit "$tag" "$cpath" "$lua" "$@"
  quickstart "$tag" "$cpath" "$lua"
  kiosk "$tag" "$cpath" "$lua"
}

TESTS="$HERE/tests/test_api.lua $HERE/tests/test_misuse.lua $HERE/tests/test_lifetime.lua
  $HERE/tests/fuzz_calls.lua"

if [ ! -f "$BUILD/lua/personalize.so" ]; then
  fail "lua5.4: $BUILD/lua/personalize.so not built"
  finish
fi
# shellcheck disable=SC2086
all_checks lua5.4 "$BUILD/lua/?.so" lua5.4 $TESTS "$HERE/tests/test_close54.lua"

# Lua 5.1 and LuaJIT: the same sources with the compatibility macros.
for v in lua5.1:lua5.1 luajit:luajit; do
  pc=${v%%:*} lua=${v#*:}
  command -v "$lua" >/dev/null 2>&1 || continue
  cflags=$(pkg-config --cflags "$pc" 2>/dev/null) || continue
  dir="$BUILD/lua-$pc"
  mkdir -p "$dir"
  # shellcheck disable=SC2086
  if ! $CC -std=c11 -O1 -g -fPIC -shared -fvisibility=hidden -Wall -Wextra \
    -Iinclude $cflags $SAN -o "$dir/personalize.so" $HERE/*.c \
    -L"$OUT" -lpersonalize 2>"$TMP/cc-$pc.err"; then
    fail "$pc: module builds"
    sed 's/^/# /' "$TMP/cc-$pc.err" | head -20
    continue
  fi
  # shellcheck disable=SC2086
  all_checks "$pc" "$dir/?.so" "$lua" $TESTS
done

finish
