#!/bin/sh
# run.sh BUILD [bench options] - run the scale benchmark (make bench):
# ingest, memory, recommend latency, hashing, segment evaluation,
# experiment assignment and k-means (about 1.5 minutes on 2 cores).
# Sizes default to the full benchmark (100,000 users x 20,000 items x
# 5,000,000 events); pass options, or set PZ_BENCH_ARGS, for a smaller run:
#   PZ_BENCH_ARGS="--users 10000 --events 500000" make bench
set -eu
build=${1:-build}
[ $# -gt 0 ] && shift
bin=$build/tests/bench
if [ ! -x "$bin" ]; then
  echo "bench: $bin is missing; run 'make $bin' first" >&2
  exit 1
fi
# shellcheck disable=SC2086 # PZ_BENCH_ARGS is a list of words
exec "$bin" ${PZ_BENCH_ARGS:-} "$@"
