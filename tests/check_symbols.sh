#!/bin/sh
# The shared object exports exactly the names in lib/libpersonalize.map,
# every one pz_*, every one declared in a public header.
set -eu
OUT=$1
so=$(ls -v "$OUT"/libpersonalize.so.*.*.* | tail -n 1)
exported=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//' | sort -u)
mapped=$(sed -n 's/^ *\(pz_[a-z0-9_]*\);$/\1/p' lib/libpersonalize.map | sort -u)
declared=$(grep -h '^PZ_API ' include/personalize/*.h | grep -o 'pz_[a-z0-9_]*(' | sed 's/($//' | sort -u)
bad=$(printf '%s\n' "$exported" | grep -v '^pz_' || true)
[ -z "$bad" ] || { echo "exported outside pz_: $bad"; exit 1; }
if [ "$exported" != "$mapped" ]; then
  echo "exports differ from the map (< exported only, > map only):"
  printf '%s\n' "$exported" > /tmp/pz_exp.$$; printf '%s\n' "$mapped" > /tmp/pz_map.$$
  diff /tmp/pz_exp.$$ /tmp/pz_map.$$ || true; rm -f /tmp/pz_exp.$$ /tmp/pz_map.$$; exit 1
fi
[ "$exported" = "$declared" ] || { echo "exports differ from the headers"; exit 1; }
readelf -d "$so" | grep -q "SONAME.*libpersonalize.so.1\]" || { echo "wrong soname"; exit 1; }
echo "$(printf '%s\n' "$exported" | wc -l) symbols"
