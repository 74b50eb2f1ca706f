#!/usr/bin/python3
"""Write experiment_vectors.tsv from an implementation independent of
libpersonalize: python3-xxhash (Debian package python3-xxhash) and Python
floats (IEEE-754 doubles, as C's).

  h = XXH3_64bits_withSeed(UTF-8 bytes of the user id, seed)
  u = (h >> 11) * 2**-53
  variant i owns [lo_i, hi_i): lo_i = S_i / W, hi_i = lo_i + coverage * (w_i / W)
  (S_i the sum of the weights before i, left to right; W the total);
  the first range holding u wins, else no variant (-1).

Three reference experiments, all with the row's seed:
  A: weights [1, 1],          coverage 1
  B: weights [1, 1],          coverage 0.5
  C: weights [50, 30, 20],    coverage 0.8
Run by maintainers only; `make check` reads the committed TSV.
"""
import sys
import xxhash

IDS = [
    "u1", "user-0", "user-1", "user-42", "alice", "bob@example.com", "0", "a",
    "12345678901234567890", "loyalty:0042-7731", "anon-6f1c2e", "x" * 255,
    "user-é", "Zoë", "Åsa", "Jürgen", "François", "日本語ユーザー", "用户123",
    "Ελένη", "Владимир", "محمد", "🎮player", "kiosk-München-3", "ราเมน",
]
IDS += [f"user{i}" for i in range(100)]
SEEDS = [0, 1, 42, 2**32 + 7, 2**64 - 1]
EXPERIMENTS = {"A": ([1, 1], 1.0), "B": ([1, 1], 0.5), "C": ([50, 30, 20], 0.8)}


def variant(u, weights, coverage):
    total = 0.0
    for w in weights:
        total += w
    before = 0.0
    for i, w in enumerate(weights):
        lo = before / total
        hi = lo + coverage * (w / total)
        if lo <= u < hi:
            return i
        before += w
    return -1


out = sys.stdout
out.write("# id\tseed\thash\tbucket\tA\tB\tC\n")
out.write("# hash = XXH3_64bits_withSeed(utf8(id), seed) in hex; bucket = "
          "(hash >> 11) * 2^-53 (%.17g); A: weights [1,1] coverage 1; "
          "B: [1,1] coverage 0.5; C: [50,30,20] coverage 0.8; -1 = none\n")
for i in IDS:
    for seed in SEEDS:
        h = xxhash.xxh3_64_intdigest(i.encode("utf-8"), seed=seed)
        u = (h >> 11) * 2.0 ** -53
        v = [variant(u, *EXPERIMENTS[k]) for k in "ABC"]
        out.write(f"{i}\t{seed}\t{h:016x}\t{u:.17g}\t{v[0]}\t{v[1]}\t{v[2]}\n")
