#!/bin/sh
# Every exported symbol has its own man/man3/<symbol>.3 (a page, or a link
# to the page that documents it) whose NAME section names it, and every
# page passes mandoc's linter without a warning. Lists whatever is missing.
set -eu
OUT=$1
so=$(ls -v "$OUT"/libpersonalize.so.*.*.* | tail -n 1)
missing=""
for s in $(nm -D --defined-only "$so" | awk '$2 == "T" {print $3}' | sed 's/@.*//' | sort -u); do
  page=man/man3/$s.3
  [ -f "$page" ] && sed -n '/^\.SH NAME/,/^\.SH /p' "$page" | grep -qw -- "$s" ||
    missing="$missing $s"
done
[ -z "$missing" ] || { echo "no man page (man/man3/NAME.3 naming it) for:$missing"; exit 1; }
if command -v mandoc >/dev/null 2>&1; then
  out=$(mandoc -T lint -W warning man/man3/*.3 man/man5/*.5 man/man7/*.7 2>&1 || true)
  [ -z "$out" ] || { echo "$out"; exit 1; }
else
  echo "mandoc is missing: run make deps"; exit 1
fi
echo "$(ls man/man3/*.3 | wc -l) man3 pages, all symbols covered, mandoc -T lint clean"
