#!/bin/sh
# Check the Python binding: unittest suite, both examples, pip install.
# usage (from the repository root): sh bindings/python/check.sh BUILD OUT CC CXX SANFLAGS
#   OUT holds libpersonalize.so.1; SANFLAGS is empty for a plain build and
#   "-fsanitize=address,undefined ..." when OUT holds a sanitizer build.
# Prints one line per check and ends with "python: N passed, M failed"
# (N counts unittest tests plus the other checks). Exit status 1 on failure.
set -u
BUILD=$1 OUT=$2 CC=$3 CXX=$4 SANFLAGS=${5:-}
: "$CXX"
passed=0 failed=0
log=$BUILD/python
rm -rf "$log" && mkdir -p "$log" && log=$(cd "$log" && pwd)
LIB=$(cd "$OUT" && pwd)/libpersonalize.so.1
PY=${PYTHON:-python3}

export PERSONALIZE_LIBRARY="$LIB"
export PYTHONPATH="$(pwd)/bindings/python${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1

if [ -n "$SANFLAGS" ]; then
  # python3 itself is not instrumented, so the sanitizer runtimes must be
  # loaded first (ASan insists on being the first DSO). Leak detection is off
  # because CPython does not free everything at exit, which LeakSanitizer
  # would report as leaks that are not the library's. Errors stop the
  # process (halt_on_error / -fno-sanitize-recover) and are logged; the log
  # is also searched below, so a report fails the check even if a test
  # harness swallowed the exit status.
  asan=$($CC -print-file-name=libasan.so)
  ubsan=$($CC -print-file-name=libubsan.so)
  for f in "$asan" "$ubsan"; do
    case $f in /*) ;; *) echo "python: cannot find the sanitizer runtime $f for $CC"; echo "python: 0 passed, 1 failed"; exit 1;; esac
  done
  export LD_PRELOAD="$asan $ubsan"
  export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:log_path=$log/asan"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$log/ubsan"
fi

ok() { echo "[       OK ] $1"; passed=$((passed + 1)); }
ko() { echo "[  FAILED  ] $1"; failed=$((failed + 1)); }

check() { # name command...
  name=$1; shift
  if "$@" > "$log/check.out" 2>&1; then ok "$name"; else cat "$log/check.out"; ko "$name"; fi
}

sanitizer_reports() { # prints and counts ASan/UBSan logs; 0 if none
  n=0
  for f in "$log"/asan* "$log"/ubsan*; do
    [ -s "$f" ] || continue
    cat "$f"; n=$((n + 1))
  done
  return $n
}

# 1. the unittest suite (its runner prints the counts as its last line)
if [ -n "$SANFLAGS" ]; then
  # prove the runtime really is in the process, so a clean run means something
  check "sanitizer runtime is loaded into python" \
    "$PY" -c "import personalize,sys; sys.exit(0 if 'libasan' in open('/proc/self/maps').read() else 1)"
fi
timeout 300 "$PY" bindings/python/tests/run_tests.py > "$log/unittest.out" 2>&1
rc=$?
cat "$log/unittest.out"
counts=$(sed -n 's/^unittest: \([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' "$log/unittest.out" | tail -n 1)
if [ -n "$counts" ]; then
  set -- $counts
  passed=$((passed + $1)); failed=$((failed + $2))
  [ "$3" -gt 0 ] && echo "[  SKIPPED ] $3 unittest test(s) skipped"
  if [ "$rc" -ne 0 ] && [ "$2" -eq 0 ]; then ko "unittest runner exited with status $rc"; fi
else
  ko "unittest suite did not complete (status $rc)"
fi

# 2. the examples, with their output checked
quickstart() {
  o=$log/quickstart.out
  [ "$(grep -vc '^$' examples/python/quickstart.py)" -le 14 ] &&
  "$PY" examples/python/quickstart.py > "$o" &&
  [ "$(wc -l < "$o")" -eq 2 ] &&
  grep -q '^kind-of-blue .*matches your interest in genre=jazz$' "$o" &&
  ! grep -q paranoid "$o" || { cat "$o"; return 1; }
}
check "examples/python/quickstart.py (at most 14 lines) runs and ranks as expected" quickstart

shop() {
  o=$log/shop.out
  "$PY" examples/python/shop.py > "$o" &&
  grep -q '^libpersonalize 1\.[0-9]*\.[0-9]*: 7 items, 4 shoppers$' "$o" &&
  grep -q '^  1\. yoga-mat .*pinned by you' "$o" &&
  grep -q 'less of brand=acme, as you asked' "$o" &&
  grep -q 'boosted (rule summer-sale)' "$o" &&
  ! sed -n '/after blocking/,/^ann.s choices/p' "$o" | grep -q '^  [0-9]\. road-shoes' &&
  grep -q '^dan withdrew consent; tracking refused' "$o" &&
  grep -q '^export of ann: 3 events, 2 attributes, 3 choices' "$o" &&
  grep -q '^ann erased: nothing left to export$' "$o" &&
  grep -q '^shoppers left: 3$' "$o" || { cat "$o"; return 1; }
}
check "examples/python/shop.py runs: overrides, reasons, export, erase" shop

# 3. pip install into a fresh venv, offline, then use the installed package.
# An offline build with --no-build-isolation needs setuptools and a wheel
# builder (the wheel package, or setuptools >= 70.1) in the interpreter; a
# python without them (e.g. a bare pyenv build) is passed over for the
# system's python3 (Debian: python3-venv python3-setuptools python3-wheel).
can_build() {
  env -u LD_PRELOAD "$1" -c '
import ensurepip, setuptools, venv
try:
    import wheel
except ImportError:
    import setuptools.command.bdist_wheel' > /dev/null 2>&1
}
BUILDPY=
for p in "$PY" /usr/bin/python3; do
  if command -v "$p" > /dev/null 2>&1 && can_build "$p"; then BUILDPY=$p; break; fi
done
pip_install() {
  v=$log/venv
  # pip itself runs without the sanitizer runtimes (it does not load the
  # library); the import below runs with them
  env -u LD_PRELOAD "$BUILDPY" -m venv --system-site-packages "$v" || return 1
  # build from a copy so the source tree gets no build/ or egg-info litter
  mkdir -p "$log/src" && cp -R bindings/python/. "$log/src/" &&
  rm -rf "$log/src/tests" "$log/src/build" "$log/src"/*.egg-info &&
  env -u LD_PRELOAD "$v/bin/pip" install --no-index --no-build-isolation \
    --disable-pip-version-check -q "$log/src" &&
  (cd "$log" && PYTHONPATH= "$v/bin/python" -c '
import os, personalize
assert os.path.dirname(personalize.__file__).startswith(os.path.abspath("venv")), personalize.__file__
assert os.path.exists(os.path.join(os.path.dirname(personalize.__file__), "py.typed"))
with personalize.Engine() as e:
    e.put_item("a", ["x=1"]); e.track("u", "a")
    assert e.recommend("u", 1, include_seen=True)[0].item == "a"
print("installed", personalize.__version__, "from", personalize.__file__)
')
}
if [ -z "$BUILDPY" ]; then
  echo "SKIP: pip install check: no python3 with venv, pip, setuptools and wheel (Debian: python3-venv python3-setuptools python3-wheel)"
elif pip_install > "$log/pip.out" 2>&1; then
  ok "pip install ./bindings/python into a venv (offline, $BUILDPY) and import"
else
  cat "$log/pip.out"; ko "pip install ./bindings/python into a venv (offline, $BUILDPY) and import"
fi

if [ -n "$SANFLAGS" ]; then
  if sanitizer_reports; then ok "no AddressSanitizer/UBSan report"
  else ko "AddressSanitizer/UBSan reported errors (above)"; fi
fi

echo "python: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
