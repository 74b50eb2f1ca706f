#!/usr/bin/python3
"""Write feature_hash_vectors.tsv from an implementation independent of
libpersonalize: python3-xxhash (Debian package python3-xxhash).

index = low `bits` bits of XXH3_64bits_withSeed(utf8 bytes, seed)
sign  = -1 if bit 63 is set, else +1

Run by maintainers only; `make check` reads the committed TSV.
"""
import sys
import xxhash

FEATURES = [
    "genre=jazz", "genre=rock", "brand=acme", "ctx:device=kiosk",
    "ctx:daypart=evening", "decade=1960s", "year=1994", "42", "0", "-1.5",
    "a", "=", "tag=sci-fi", "diet=vegetarian", "price_band=10-20",
    "genre=Jazz", "genre=jazz ",
    "genre=música", "city=Zürich", "lang=日本語", "title=Amélie",
    "emoji=🎷", "name=Ελληνικά", "cuisine=ราเมน", "artist=Björk",
    "x" * 300,
]
SEEDS = [0, 1, 42, 0xDEADBEEF, 2**64 - 1]
BITS = [16, 20, 24, 28]

out = sys.stdout
out.write("# feature\tseed\tbits\tindex\tsign\n")
out.write("# index = XXH3_64bits_withSeed(utf8, seed) & ((1 << bits) - 1); "
          "sign = -1 if bit 63 set else +1\n")
for f in FEATURES:
    for seed in SEEDS:
        for bits in BITS:
            h = xxhash.xxh3_64_intdigest(f.encode("utf-8"), seed=seed)
            idx = h & ((1 << bits) - 1)
            sign = -1 if h >> 63 else 1
            out.write(f"{f}\t{seed}\t{bits}\t{idx}\t{sign}\n")
