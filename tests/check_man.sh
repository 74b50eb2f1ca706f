#!/bin/sh
# Each exported symbol is named in the NAME section of some man3 page, and
# every page passes mandoc's linter.
set -eu
OUT=$1
so=$(ls -v "$OUT"/libpersonalize.so.*.*.* | tail -n 1)
missing=""
for s in $(nm -D --defined-only "$so" | awk '$2 == "T" {print $3}' | sed 's/@.*//' | sort -u); do
  grep -qw -- "$s" man/man3/*.3 2>/dev/null || missing="$missing $s"
done
[ -z "$missing" ] || { echo "no man page names:$missing"; exit 1; }
if command -v mandoc >/dev/null 2>&1; then
  out=$(mandoc -T lint -W warning man/man3/*.3 man/man5/*.5 man/man7/*.7 2>&1 || true)
  [ -z "$out" ] || { echo "$out"; exit 1; }
fi
