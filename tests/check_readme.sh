#!/bin/sh
# The README's quick starts, tested as written. Each is a fenced block
# right after a marker line
#   <!-- quickstart LANG FILE REGEX -->
# The block must equal FILE (the example the language's own suite also
# runs), and the block itself is built and run here; its first line of
# output must match REGEX. Under the sanitizers the Python and Lua blocks
# are compared only: their suites run the same files with the runtimes
# preloaded.
# usage: tests/check_readme.sh BUILD OUT CC CXX SANFLAGS
set -u
BUILD=$1 OUT=$2 CC=$3 CXX=$4 SANFLAGS=${5:-}
dir=$BUILD/tests/readme
rm -rf "$dir" && mkdir -p "$dir"
passed=0 failed=0
ok() { echo "[       OK ] readme: $1"; passed=$((passed + 1)); }
bad() { echo "[  FAILED  ] readme: $1"; failed=$((failed + 1)); }
LINK="$OUT/libpersonalize.a $(pkg-config --libs yaml-0.1) -lpthread -lm $SANFLAGS"

markers=$(grep -n '^<!-- quickstart [a-z+]* [^ ]* .* -->$' README.md)
[ -n "$markers" ] || { bad "no quickstart markers in README.md"; }
seen=""
printf '%s\n' "$markers" | { while IFS= read -r m; do
  [ -n "$m" ] || continue
  line=${m%%:*}
  set -- $(printf '%s\n' "${m#*:}" | sed 's/^<!-- quickstart \([^ ]*\) \([^ ]*\) .*/\1 \2/')
  lang=$1 file=$2
  regex=$(printf '%s\n' "${m#*:}" | sed 's/^<!-- quickstart [^ ]* [^ ]* \(.*\) -->$/\1/')
  case $lang in c) ext=c ;; cpp) ext=cpp ;; python) ext=py ;; lua) ext=lua ;; *) ext=txt ;; esac
  src=$dir/quickstart_$lang.$ext
  # the fence opens on the next line; the block runs to the closing fence
  sed -n "$((line + 1)),\$p" README.md | awk 'NR == 1 { if ($0 !~ /^```/) exit 1; next }
    /^```$/ { exit 0 } { print }' > "$src" || { bad "$lang: no fenced block after line $line"; continue; }
  n=$(wc -l < "$src")
  if [ "$n" -ge 15 ] || [ "$n" -eq 0 ]; then bad "$lang quick start has $n lines (1 to 14 allowed)"; continue; fi
  if cmp -s "$src" "$file"; then ok "$lang quick start ($n lines) is $file"; else
    diff "$file" "$src"; bad "$lang quick start differs from $file"; fi
  run=""
  case $lang in
    c) $CC -std=c11 -Wall -Wextra -Werror -Iinclude -o "$dir/qs_c" "$src" $LINK > "$dir/build_c.out" 2>&1 &&
         run="$dir/qs_c" || { cat "$dir/build_c.out"; bad "c quick start builds"; continue; } ;;
    cpp) $CXX -std=c++17 -Wall -Wextra -Werror -Iinclude -Iexamples/cpp -o "$dir/qs_cpp" "$src" $LINK > "$dir/build_cpp.out" 2>&1 &&
         run="$dir/qs_cpp" || { cat "$dir/build_cpp.out"; bad "cpp quick start builds"; continue; } ;;
    python) [ -z "$SANFLAGS" ] && run="env PYTHONPATH=bindings/python PERSONALIZE_LIBRARY=$OUT/libpersonalize.so.1 python3 $src" ;;
    lua) [ -z "$SANFLAGS" ] && run="env LUA_CPATH=$BUILD/lua/?.so LD_LIBRARY_PATH=$OUT lua5.4 $src" ;;
    *) bad "unknown language $lang"; continue ;;
  esac
  [ -n "$run" ] || { echo "[     SKIP ] readme: running the $lang block (its suite runs $file)"; continue; }
  if $run > "$dir/run_$lang.out" 2> "$dir/run_$lang.err" && [ ! -s "$dir/run_$lang.err" ] &&
     head -n 1 "$dir/run_$lang.out" | grep -Eq -- "$regex"; then
    ok "$lang quick start runs as written and prints /$regex/"
  else
    cat "$dir/run_$lang.out" "$dir/run_$lang.err"; bad "$lang quick start runs and prints /$regex/"
  fi
  seen="$seen $lang"
done
for want in c cpp python lua; do
  case " $seen " in *" $want "*) ;; *) [ -n "$SANFLAGS" ] && { [ $want = python ] || [ $want = lua ]; } ||
    bad "no runnable $want quick start in README.md" ;; esac
done
echo "readme: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
}
