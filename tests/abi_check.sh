#!/bin/sh
# Compare the built library with the committed ABI baseline (libabigail).
# Passes when nothing changed, or when the only change is functions added
# under a version node newer than PERSONALIZE_1.0. Fails on any removed or
# changed function or variable, on a changed public type (abidiff calls a
# member inserted into an options struct "an ABI change", exit bit 4, not
# "incompatible", bit 8, so the verdict is taken from its report, not its
# status alone), on new symbols in the 1.0 node, and on abidiff errors.
# A deliberate, compatible change (a field appended to a versioned options
# struct) is accepted by regenerating the baseline: `make abi-baseline`.
# usage: tests/abi_check.sh SO BASELINE SUPPRESSIONS [--self-test]
set -u
so=$1 base=$2 suppr=$3
tmp=${TMPDIR:-/tmp}/pz-abi.$$
mkdir -p "$tmp" && trap 'rm -rf "$tmp"' EXIT

verdict() { # old new -> prints the report, returns 0 if compatible
  abidiff --drop-private-types --suppressions "$suppr" \
    --headers-dir2 include/personalize "$1" "$2" > "$tmp/report" 2>&1
  rc=$?
  cat "$tmp/report"
  if [ $((rc & 3)) -ne 0 ]; then echo "abi-check: abidiff failed ($rc)"; return 1; fi
  if [ $((rc & 8)) -ne 0 ]; then echo "abi-check: incompatible change"; return 1; fi
  [ "$rc" -eq 0 ] && return 0
  if ! grep -Eq '^Functions changes summary: 0 Removed, 0 Changed( \([0-9]+ filtered out\))?, [0-9]+ Added' "$tmp/report" ||
     ! grep -Eq '^Variables changes summary: 0 Removed, 0 Changed( \([0-9]+ filtered out\))?, 0 Added' "$tmp/report"; then
    echo "abi-check: existing functions, variables or public types changed"; return 1
  fi
  if grep -q '@@PERSONALIZE_1\.0}' "$tmp/report"; then
    echo "abi-check: new functions must go into a new version node, not PERSONALIZE_1.0"; return 1
  fi
  echo "abi-check: only additions under a new version node (compatible)"
  return 0
}

if [ "${4:-}" = --self-test ]; then
  # the guard must reject a removed function: take the baseline, drop one
  # function's symbol from a copy, and compare the copy as the new library
  sed "/<elf-symbol name='pz_svec_norm'/d" "$base" > "$tmp/doctored.abi"
  cmp -s "$base" "$tmp/doctored.abi" && { echo "self-test: could not doctor the baseline"; exit 1; }
  if verdict "$base" "$tmp/doctored.abi" > "$tmp/self.out" 2>&1; then
    cat "$tmp/self.out"; echo "self-test: a removed function was not caught"; exit 1
  fi
  echo "abi-check self-test: a removed function is caught"
  exit 0
fi
verdict "$base" "$so" || exit 1
echo "abi-check: $(basename "$so") is compatible with $(basename "$base")"
