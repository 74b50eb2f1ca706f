#!/bin/sh
# run.sh BUILD [bench options] - run the scale benchmark (make bench):
# ingest, memory, recommend latency, hashing, segment evaluation,
# experiment assignment and k-means (about 1.5 minutes on 2 cores), and the
# overrides section: recommend latency without and with 10 business rules
# and 20 choices per user on a 50,000-item catalogue (under a minute;
# "--section overrides" runs it alone, "--section scale" skips it); then,
# when ../shared/data/splits exists, the offline accuracy of the CF models
# on the MovieLens splits beside the peers' figures (examples/pz-eval);
# last, persistence (bench_store: snapshots, journal, threads).
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
"$bin" ${PZ_BENCH_ARGS:-} "$@"

# ---- CF at scale (tests/bench/bench_cf.c) --------------------------------------
# kNN build, ALS seconds per iteration (64 factors, 1 and 2 threads),
# recommend p50/p99 with each model, peak memory; 100,000 users x 50,000
# items x 10,000,000 events by default. Pass smaller sizes in
# PZ_BENCH_CF_ARGS, e.g. PZ_BENCH_CF_ARGS="--users 10000 --events 1000000".
cf_bin=$build/tests/bench_cf
if [ ! -x "$cf_bin" ]; then
  echo "bench: $cf_bin is missing; run 'make $cf_bin' first" >&2
  exit 1
fi
echo
echo "== collaborative filtering at scale (bench_cf) =="
# shellcheck disable=SC2086 # PZ_BENCH_CF_ARGS is a list of words
"$cf_bin" ${PZ_BENCH_CF_ARGS:-}

# ---- persistence (tests/bench/bench_store.c), run last --------------------------
# Snapshot save/load of 100,000 profiles and of a 50,000-item ALS model,
# journal append rates under each fsync policy, recommend throughput on 1, 2
# and 4 threads; about 2 to 3 minutes. PZ_BENCH_STORE_ARGS=--quick for a
# smoke run. A function, because the accuracy section below may end the
# script early.
store_bin=$build/tests/bench_store
if [ ! -x "$store_bin" ]; then
  echo "bench: $store_bin is missing; run 'make $store_bin' first" >&2
  exit 1
fi
run_store() {
  echo
  echo "== persistence: snapshots, journal, threads (bench_store) =="
  # shellcheck disable=SC2086 # PZ_BENCH_STORE_ARGS is a list of words
  "$store_bin" ${PZ_BENCH_STORE_ARGS:-}
}
# ---- binding call overhead (tests/bench/bench_calls.{c,py,lua}), run last -------
# track, recommend k=10 and two cheap calls from C, Python (ctypes) and Lua on
# the same generated data (the data and result checksums must agree), median
# of 5 interleaved rounds in calls/s and as ratios to C, peak RSS per process;
# about a minute on 2 cores. PZ_BENCH_CALLS_SCALE=0.1 for a quick run. The
# library directory is Make's $(OUT), passed in PZ_BENCH_OUT (default lib).
run_bindings() {
  echo
  echo "== binding call overhead: C, Python, Lua (bench_bindings.sh) =="
  sh tests/bench/bench_bindings.sh "$build" "${PZ_BENCH_OUT:-lib}"
}

# ---- serving latency on a real split, against 1.0.0 (bench_serve.sh) ---------
# pz_recommend p50/p99 per test user right after training, for the default
# model, ALS (128 and 64 factors), kNN (K = 100) and popularity, this tree
# and the 1.0.0 release built from git in BUILD/base-15787fd, interleaved
# rounds; about 3 minutes. PZ_BENCH_SERVE_ROUNDS (default 5).
run_serve() {
  echo
  echo "== serving latency on the MovieLens split, this tree and 1.0.0 (bench_serve.sh) =="
  sh tests/bench/bench_serve.sh "$build"
}

# ---- accuracy on the MovieLens splits ----------------------------------------
# Same splits and protocol as the peers (see ../shared/data/README.md): every
# row a positive of weight 1, top-10 without the user's train items, at most
# 2 threads. The script runs from the repository root; CI has ../shared
# beside the repository.
splits=../shared/data/splits
eval_bin=$build/examples/pz-eval
echo
echo "== accuracy on the MovieLens splits (pz-eval, k = 10) =="
if [ ! -d "$splits" ]; then
  echo "skipped: ../shared/data/splits not found"
  run_serve
  run_store
  run_bindings
  exit 0
fi
if [ ! -x "$eval_bin" ]; then
  echo "bench: $eval_bin is missing; run 'make $eval_bin' first" >&2
  exit 1
fi

# The peers' figures, copied from ../shared/data/README.md ("Peer figures on
# these splits" and "Tuned peers"): name|P@10|R@10|nDCG@10|train s, "-" where
# the README gives none. The tuned ALS times are the README's "about".
peers_pos4='implicit ALS f=64 reg=0.05 15 it alpha=1|0.1451|0.1642|0.2087|0.39
implicit item-item cosine kNN K=100|0.1536|0.1529|0.2114|0.11
QMF weighted ALS f=64 lambda=0.05 15 epochs|0.1477|0.1687|0.2116|2.70
most popular|0.1053|0.0904|0.1360|0.00
implicit ALS tuned f=128 reg=50 alpha=10 30 it|0.1896|0.1910|0.2631|1.1
tuned ALS + kNN min-max blend w_ALS=0.75|-|-|0.2664|-'
peers_all='implicit ALS f=64 reg=0.05 15 it alpha=1|0.2497|0.1582|0.2941|0.60
implicit item-item cosine kNN K=100|0.2216|0.1238|0.2509|0.24
QMF weighted ALS f=64 lambda=0.05 15 epochs|0.2577|0.1617|0.3006|3.82
most popular|0.1525|0.0694|0.1787|0.00
implicit ALS tuned f=128 reg=50 alpha=10 30 it|0.3039|0.1799|0.3556|1.7
tuned ALS + kNN min-max blend w_ALS=0.8|-|-|0.3586|-'

# Our models: the library's defaults, and kNN and ALS set up like the
# untuned peers (implicit's alpha=1 is our alpha=0: c = 1 + alpha r).
for split in pos4 all; do
  dir=$splits/ml-latest-small-$split-seed42
  if ! ours=$("$eval_bin" --json --quiet --train "$dir/train.tsv" \
      --test "$dir/test.tsv" --model default \
      --model knn:neighbours=100,weighting=none \
      --model als:factors=64,regularization=0.05,iterations=15,alpha=0,threads=2 \
      --model popular); then
    echo "bench: pz-eval failed on $dir" >&2
    exit 1
  fi
  if [ "$split" = pos4 ]; then peers=$peers_pos4; else peers=$peers_all; fi
  echo
  echo "ml-latest-small-$split-seed42"
  printf '%s\n%s\n' "$ours" "$peers" | awk -F'|' '
    function num(key) {
      if (!match($0, "\"" key "\":[-0-9.eE+]+")) return "-"
      return substr($0, RSTART + length(key) + 3, RLENGTH - length(key) - 3)
    }
    function str(key) {
      if (!match($0, "\"" key "\":\"[^\"]*\"")) return "?"
      return substr($0, RSTART + length(key) + 4, RLENGTH - length(key) - 5)
    }
    function f4(x) { return x == "-" ? x : sprintf("%.4f", x) }
    BEGIN {
      fmt = "%-5s %-66s %7s %7s %7s %7s %8s\n"
      printf fmt, "who", "model", "P@10", "R@10", "nDCG@10", "MAP@10", "train s"
    }
    /^\{/ {
      printf fmt, "ours", str("model"), f4(num("precision")), f4(num("recall")),
        f4(num("ndcg")), f4(num("map")), sprintf("%.2f", num("train_s"))
      next
    }
    NF == 5 { printf fmt, "peer", $1, $2, $3, $4, "-", $5 }'
done

run_serve
run_store
run_bindings
