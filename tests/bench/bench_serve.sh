#!/bin/sh
# bench_serve.sh BUILD - pz_recommend latency on a real split, this tree
# against the 1.0.0 release (or PZ_BENCH_BASE) built from git in a scratch
# directory, in one run.
#
# Each round runs examples/pz-eval of both builds, one process each, the
# order alternating, on the same split and models: the library's default
# (kNN + ALS + content + popularity), ALS only with 128 and 64 factors,
# kNN only with K = 100, and popularity only. pz-eval trains each model,
# then asks one pz_recommend (k = 10, reasons and because-items on) per
# test user and reports the p50 and p99 of those calls; this tree is also
# run with --terse (codes and contributions, no reason texts). A figure is
# the median over the rounds; "ratio" is 1.0.0 / this tree (above 1:
# faster now). Then the lists themselves: tests/bench/dump_lists.c, built
# against both static libraries, prints every train user's top 10 (items,
# scores, reason codes, because-items) under the default, ALS-only,
# kNN-only and popularity-only configurations, and the two are compared
# row by row (popularity decays with each process's own clock, so scores
# that involve it differ by about 1e-8).
#
# Environment: PZ_BENCH_SPLIT (default
# ../shared/data/splits/ml-latest-small-pos4-seed42: a directory with
# train.tsv and test.tsv in pz-eval's format), PZ_BENCH_SERVE_ROUNDS
# (default 5), PZ_BENCH_BASE (default 15787fd, the 1.0.0 commit; the base
# is skipped with a message when git or the commit is not there).
set -eu
if [ $# -ne 1 ]; then
  echo "usage: sh tests/bench/bench_serve.sh BUILD" >&2
  exit 2
fi
build=$1
split=${PZ_BENCH_SPLIT:-../shared/data/splits/ml-latest-small-pos4-seed42}
rounds=${PZ_BENCH_SERVE_ROUNDS:-5}
base=${PZ_BENCH_BASE:-15787fd}
new_bin=$build/examples/pz-eval
if [ ! -f "$split/train.tsv" ] || [ ! -f "$split/test.tsv" ]; then
  echo "skipped: $split/train.tsv and test.tsv not found"
  exit 0
fi
if [ ! -x "$new_bin" ]; then
  echo "bench_serve: $new_bin is missing; run 'make $new_bin' first" >&2
  exit 1
fi

# the base, built once into BUILD/base-COMMIT from `git archive`
base_dir=$build/base-$base
base_bin=$base_dir/build/examples/pz-eval
if [ ! -x "$base_bin" ]; then
  if git rev-parse --verify -q "$base^{commit}" >/dev/null 2>&1; then
    rm -rf "$base_dir" && mkdir -p "$base_dir"
    git archive "$base" | tar -x -C "$base_dir"
    if ! make -C "$base_dir" build/examples/pz-eval >"$base_dir.log" 2>&1; then
      echo "bench_serve: building $base failed; see $base_dir.log" >&2
      base_bin=
    fi
  else
    echo "note: commit $base not found (no git history): no base figures"
    base_bin=
  fi
fi

models="--model default --model als:factors=128 --model als:factors=64
        --model knn:neighbours=100 --model popular"
out=$build/bench_serve.out
: >"$out"
r=1
while [ "$r" -le "$rounds" ]; do
  # shellcheck disable=SC2086 # $models is a list of words
  for who in $([ $((r % 2)) = 1 ] && echo "base new terse" || echo "terse new base"); do
    case $who in
      base) [ -n "$base_bin" ] || continue; bin=$base_bin; extra= ;;
      new) bin=$new_bin; extra= ;;
      terse) bin=$new_bin; extra=--terse ;;
    esac
    "$bin" --json --quiet $extra --train "$split/train.tsv" \
      --test "$split/test.tsv" $models | sed "s/^/$who /" >>"$out"
  done
  r=$((r + 1))
done

# the lists themselves: every train user's top 10 from both builds
# (tests/bench/dump_lists.c, compiled against each static library) under
# four configurations, compared item by item
dump_new=$build/tests/dump_lists
dump_base=
cc_dump() {
  ${CC:-cc} -std=c11 -O2 -D_POSIX_C_SOURCE=200809L -I"$1/include" -o "$2" \
    tests/bench/dump_lists.c "$1/lib/libpersonalize.a" \
    $(pkg-config --libs yaml-0.1 2>/dev/null || echo -lyaml) -lpthread -lm
}
mkdir -p "$build/tests"
cc_dump . "$dump_new"
if [ -n "$base_bin" ] && cc_dump "$base_dir" "$base_dir/dump_lists" 2>/dev/null; then
  dump_base=$base_dir/dump_lists
fi
compare_lists() { # NAME CONFIG
  "$dump_new" "$2" "$split/train.tsv" >"$build/lists-new-$1.txt"
  "$dump_base" "$2" "$split/train.tsv" >"$build/lists-base-$1.txt"
  paste -d '|' "$build/lists-base-$1.txt" "$build/lists-new-$1.txt" | awk -F'|' -v name="$1" '
    { split($1, a, " "); split($2, b, " "); n++
      if (a[1] != b[1] || a[3] != b[3]) moved++
      if (a[5] != b[5]) codes++
      ba = ""; bb = ""
      for (j = 6; j in a; j++) { sub(/:.*/, "", a[j]); ba = ba " " a[j] }
      for (j = 6; j in b; j++) { sub(/:.*/, "", b[j]); bb = bb " " b[j] }
      if (ba != bb) because++
      d = a[4] - b[4]; if (d < 0) d = -d
      m = a[4] < 0 ? -a[4] : a[4]
      if (m > 0 && d / m > rel) rel = d / m }
    END { printf "lists vs 1.0.0, %-10s %d rows: %d with another item, %d another reason, %d other because-items; largest relative score difference %.1e\n",
            name, n, moved, codes, because, rel }'
}
echo "split: $split ($rounds rounds, medians; k = 10; one thread)"
echo "machine: $(uname -m), $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)"
echo "command: sh tests/bench/bench_serve.sh $build (pz-eval per test user, right after training)"
awk '
  function num(key) {
    if (!match($0, "\"" key "\":[-0-9.eE+]+")) return -1
    return substr($0, RSTART + length(key) + 3, RLENGTH - length(key) - 3) + 0
  }
  function str(key) {
    if (!match($0, "\"" key "\":\"[^\"]*\"")) return "?"
    return substr($0, RSTART + length(key) + 4, RLENGTH - length(key) - 5)
  }
  function median(key,   n, i, j, t, a) {
    n = cnt[key]
    if (!n) return -1
    for (i = 1; i <= n; i++) a[i] = v[key, i]
    for (i = 2; i <= n; i++)
      for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  function f(x) { return x < 0 ? "-" : sprintf("%.1f", x) }
  function ratio(a, b) { return a < 0 || b <= 0 ? "-" : sprintf("%.2fx", a / b) }
  {
    who = $1; m = str("model")
    if (!(m in seen)) { seen[m] = 1; order[++nm] = m }
    k = who SUBSEP m SUBSEP "p50"; v[k, ++cnt[k]] = num("rec_p50_us")
    k = who SUBSEP m SUBSEP "p99"; v[k, ++cnt[k]] = num("rec_p99_us")
    k = who SUBSEP m SUBSEP "ndcg"; v[k, ++cnt[k]] = num("ndcg")
  }
  END {
    fmt = "%-20s %10s %10s %10s %10s %8s %8s %10s %10s %8s\n"
    printf fmt, "model", "1.0.0 p50", "p99", "now p50", "p99", "ratio50",
      "ratio99", "terse p50", "p99", "nDCG=?"
    for (j = 1; j <= nm; j++) {
      m = order[j]
      b50 = median("base" SUBSEP m SUBSEP "p50"); b99 = median("base" SUBSEP m SUBSEP "p99")
      n50 = median("new" SUBSEP m SUBSEP "p50"); n99 = median("new" SUBSEP m SUBSEP "p99")
      t50 = median("terse" SUBSEP m SUBSEP "p50"); t99 = median("terse" SUBSEP m SUBSEP "p99")
      bn = median("base" SUBSEP m SUBSEP "ndcg"); nn = median("new" SUBSEP m SUBSEP "ndcg")
      same = bn < 0 ? "-" : (sprintf("%.6f", bn) == sprintf("%.6f", nn) ? "same" : sprintf("%.4f/%.4f", bn, nn))
      printf fmt, m, f(b50), f(b99), f(n50), f(n99), ratio(b50, n50),
        ratio(b99, n99), f(t50), f(t99), same
    }
    print "(µs; ratio = 1.0.0 / now; nDCG=? compares the lists'"'"' nDCG@10 with 1.0.0)"
  }' "$out"
if [ -n "$dump_base" ]; then
  plain="ranking: {content_weight: 0, popularity_weight: 0, segment_weight: 0}"
  compare_lists default ""
  compare_lists als "cf: {algorithm: als}
$plain"
  compare_lists knn "cf: {algorithm: knn, neighbours: 100}
$plain"
  compare_lists popular "cf: {algorithm: off}
ranking: {content_weight: 0, cf_weight: 0, segment_weight: 0}"
fi
