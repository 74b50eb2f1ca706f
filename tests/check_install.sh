#!/bin/sh
# make install into a temporary DESTDIR: the files land where they should,
# an example builds out of tree with only `pkg-config --cflags --libs
# libpersonalize` and runs, the Lua module and the Python package load from
# there, and make uninstall removes exactly what install wrote.
# usage: tests/check_install.sh BUILD OUT CC CXX SANFLAGS
# Ends with "install: N passed, M failed". Sub-makes inherit BUILD, OUT,
# OPT and SAN from the calling make through MAKEFLAGS.
set -u
BUILD=$1 OUT=$2 CC=$3 SANFLAGS=${5:-}
passed=0 failed=0
root=$(mktemp -d "${TMPDIR:-/tmp}/pz-install.XXXXXX")
trap 'rm -rf "$root"' EXIT
dest=$root/dest prefix=/usr/local
lib=$dest$prefix/lib
ok() { echo "[       OK ] install: $1"; passed=$((passed + 1)); }
bad() { echo "[  FAILED  ] install: $1"; failed=$((failed + 1)); }
t() { name=$1; shift; if "$@" > "$root/out" 2>&1; then ok "$name"; else cat "$root/out"; bad "$name"; fi; }

# files that are not ours and must survive uninstall
mkdir -p "$dest$prefix/include" "$lib/pkgconfig" "$dest$prefix/share/man/man3"
echo keep > "$dest$prefix/include/other.h"
echo keep > "$lib/libother.so.1"
echo keep > "$dest$prefix/share/man/man3/other.3"

t "make install PREFIX=$prefix DESTDIR=..." \
  make --no-print-directory install PREFIX=$prefix DESTDIR="$dest"

so=$(ls "$lib"/libpersonalize.so.*.*.* 2>/dev/null | head -n 1)
soname=$(readelf -d "$so" 2>/dev/null | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')
links() {
  [ -f "$so" ] && [ ! -L "$so" ] &&
  [ "$(readlink "$lib/$soname")" = "$(basename "$so")" ] &&
  [ "$(readlink "$lib/libpersonalize.so")" = "$soname" ] &&
  [ "$soname" = "libpersonalize.so.$(basename "$so" | cut -d. -f3)" ]
}
t "real name, soname and linker-name links ($(basename "$so"), $soname)" links
headers() {
  for h in include/personalize.h include/personalize/*.h; do
    cmp "$h" "$dest$prefix/$h" || return 1
  done
}
t "headers installed" headers
t "libpersonalize.pc installed" grep -q "^Version: " "$lib/pkgconfig/libpersonalize.pc"
mans() {
  for m in man/man3/*.3 man/man5/*.5 man/man7/*.7; do
    cmp "$m" "$dest$prefix/share/$m" || return 1
  done
}
t "man pages installed" mans
t "Lua module installed" test -f "$lib/lua/5.4/personalize.so"
pydir=$(find "$dest" -type d -name personalize -path '*-packages/*' | head -n 1)
t "Python package installed (${pydir#$dest})" test -f "$pydir/__init__.py"

# an out-of-tree build: a copy of the quickstart example, nothing but
# pkg-config (PKG_CONFIG_SYSROOT_DIR maps the .pc's paths into DESTDIR)
# (and -lm, which synth.h itself uses)
src=$root/src
mkdir -p "$src" && cp examples/quickstart.c examples/synth.h "$src/"
pc() { PKG_CONFIG_PATH="$lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$dest" pkg-config "$@"; }
outoftree() {
  flags=$(pc --cflags --libs libpersonalize) &&
  echo "pkg-config --cflags --libs libpersonalize: $flags" &&
  (cd "$src" && $CC -std=c11 -Wall -Wextra -Werror -o quickstart quickstart.c $flags -lm $SANFLAGS) &&
  LD_LIBRARY_PATH=$lib "$src/quickstart" --users 50 --items 80 --events 800 > "$src/run.out" &&
  grep -q "^libpersonalize $(pc --modversion libpersonalize) quickstart" "$src/run.out" &&
  LD_LIBRARY_PATH=$lib ldd "$src/quickstart" | grep -q "libpersonalize.so.1 => $lib/"
}
t "an example builds out of tree with pkg-config and runs against the installed library" outoftree

# the bindings, loaded from DESTDIR (they need an uninstrumented host:
# under the sanitizers their own suites cover them with preloaded runtimes)
if [ -z "$SANFLAGS" ]; then
  t "lua5.4 loads the installed module" env LUA_CPATH="$lib/lua/5.4/?.so" LD_LIBRARY_PATH="$lib" \
    lua5.4 -e 'local p = require "personalize"; assert(p.version:match("^1%."), p.version); print(p.version)'
  t "python3 imports the installed package (library found by soname)" env -u PERSONALIZE_LIBRARY \
    PYTHONPATH="$pydir/.." LD_LIBRARY_PATH="$lib" python3 -c \
    'import personalize, sys; e = personalize.Engine(); e.close(); print(personalize.__version__); assert personalize.__file__.startswith(sys.argv[1])' "$dest"
else
  echo "[     SKIP ] install: bindings from DESTDIR (covered by their suites under the sanitizers)"
fi

t "make uninstall" make --no-print-directory uninstall PREFIX=$prefix DESTDIR="$dest"
leftover() {
  left=$(cd "$dest" && find . \( -type f -o -type l \) | sort)
  want=$(printf '%s\n' ./usr/local/include/other.h ./usr/local/lib/libother.so.1 \
    ./usr/local/share/man/man3/other.3)
  [ "$left" = "$want" ] || { echo "left after uninstall:"; echo "$left"; return 1; }
}
t "uninstall removes exactly what install wrote (foreign files stay)" leftover
emptied() { # the directories install made are gone when nothing else is in them
  for d in "$lib/lua" "$dest$prefix/share/man/man5" "$dest$prefix/share/man/man7" \
           "$dest$prefix/include/personalize"; do
    [ ! -d "$d" ] || { echo "left after uninstall: $d"; return 1; }
  done
  [ -d "$dest$prefix/share/man/man3" ] && [ -d "$dest$prefix/include" ]
}
t "uninstall removes the directories it made, when empty" emptied

echo "install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
