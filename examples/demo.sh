#!/bin/sh
# demo.sh BUILD - show the synthetic data generator, then the quickstart.
# Run by `make demo`; BUILD is the build directory holding examples/.
set -eu

build=${1:-build}
gen=$build/examples/pz-gen
quick=$build/examples/quickstart
data=$build/demo-data

for prog in "$gen" "$quick"; do
  if [ ! -x "$prog" ]; then
    echo "demo: $prog is missing; run 'make all' first" >&2
    exit 1
  fi
done

users=1000 items=500 events=20000 seed=42

echo "== libpersonalize demo =="
echo
echo "-- 1. synthetic data: $gen --out $data"
"$gen" --users "$users" --items "$items" --events "$events" \
  --features-per-item 8 --seed "$seed" --out "$data"
echo
echo "first lines of $data/items.tsv:"
head -n 4 "$data/items.tsv"
echo
echo "first lines of $data/events.tsv:"
head -n 6 "$data/events.tsv"
echo
echo "events by type:"
# skip the header, count the third column
tail -n +2 "$data/events.tsv" | cut -f 3 | sort | uniq -c | sort -rn

echo
echo "-- 2. recommendations on the same data (seed $seed): $quick"
echo
"$quick" --users "$users" --items "$items" --events "$events" --seed "$seed"
echo
echo "== demo done: read examples/quickstart.c to see how each step is written =="
