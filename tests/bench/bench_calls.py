"""tests/bench/bench_calls.py - the Python side of the binding call-overhead
benchmark (tests/bench/bench_bindings.sh runs it beside bench_calls.c and
bench_calls.lua and prints the combined table).

    PYTHONPATH=bindings/python PERSONALIZE_LIBRARY=$OUT/libpersonalize.so.1 \
      python3 tests/bench/bench_calls.py [--items N] [--users N] [--events N]
        [--recs N] [--cheap N] [--rounds N]

The same data, the same rounds and the same timed loops as bench_calls.c
(see its header): a 32-bit xorshift generator (seed 2463534242) draws the
catalogue and the events; the data checksum and the result checksum must
equal the C program's. Each round opens a fresh personalize.Engine()
(default configuration), puts the catalogue untimed, then times track,
recommend (k=10, now = the data's end; the binding copies every field
into Recommendation objects), item_count and event_count; then, on a
second fresh engine, track_many of the same events (tuples zipped from the
same lists as the track loop reads, in one call; its rate is in events per
second). The bound methods are looked up once before each loop, as a
careful caller would.
Rates are calls per second of process CPU time (time.process_time, the
measure stock Lua has too) and of wall time (time.perf_counter). Prints
"key value" lines for the driver; peak RSS is resource.getrusage's
ru_maxrss (KiB).
"""

import itertools
import resource
import sys
import time

from personalize import Engine

FEATURES = 8
VALUES = 50
K = 10
SEED = 2463534242
T0 = 1767225600000  # 2026-01-01T00:00:00Z, in ms
MASK = 0xFFFFFFFF
FNV_INIT = 2166136261
FNV_PRIME = 16777619
EVENT_TYPES = ("view", "click", "purchase")


class Rng:
    """xorshift32, as next_u32() in bench_calls.c."""

    def __init__(self, seed):
        self.x = seed

    def next(self):
        x = self.x
        x ^= (x << 13) & MASK
        x ^= x >> 17
        x ^= (x << 5) & MASK
        self.x = x
        return x


def fnv_str(h, s):
    for b in s.encode("utf-8"):
        h = ((h ^ b) * FNV_PRIME) & MASK
    return (h * FNV_PRIME) & MASK  # the terminating NUL


def fnv_u32(h, v):
    return ((h ^ (v & MASK)) * FNV_PRIME) & MASK


def generate(items, users, events, recs):
    rng = Rng(SEED)
    h = FNV_INIT
    item_ids, feats = [], []
    for i in range(items):
        iid = "i%d" % i
        item_ids.append(iid)
        h = fnv_str(h, iid)
        fs = []
        for j in range(FEATURES):
            f = "f%d=v%d" % (j, rng.next() % VALUES)
            fs.append(f)
            h = fnv_str(h, f)
        feats.append(fs)
    user_ids = []
    for u in range(users):
        uid = "u%d" % u
        user_ids.append(uid)
        h = fnv_str(h, uid)
    ev_user, ev_item, ev_type, ev_ts = [], [], [], []
    for e in range(events):
        u = rng.next() % users
        it = rng.next() % items
        r = rng.next() % 100
        t = 0 if r < 70 else 1 if r < 95 else 2
        ev_user.append(user_ids[u])
        ev_item.append(item_ids[it])
        ev_type.append(EVENT_TYPES[t])
        ev_ts.append(T0 + 1000 * e)
        h = fnv_u32(fnv_u32(fnv_u32(h, u), it), t)
    rec_user = []
    for _ in range(recs):
        u = rng.next() % users
        rec_user.append(user_ids[u])
        h = fnv_u32(h, u)
    return {
        "item_ids": item_ids, "feats": feats, "user_ids": user_ids,
        "events": (ev_user, ev_item, ev_type, ev_ts), "rec_user": rec_user,
        "checksum": h,
    }


def fold_recs(h, recs):
    for r in recs:
        h = fnv_str(h, r.item)
        h = fnv_u32(h, int(r.score * 1e6))  # truncation, as the C cast
        h = fnv_u32(h, int(r.reason.code))
    return h


def run_round(d, events, recs, cheap, verify):
    cpu, wall = {}, {}
    pc, pt = time.process_time, time.perf_counter
    t_end = T0 + 1000 * events
    engine = Engine()
    try:
        for iid, fs in zip(d["item_ids"], d["feats"]):
            engine.put_item(iid, fs)

        track = engine.track
        ev_user, ev_item, ev_type, ev_ts = d["events"]
        c0, w0 = pc(), pt()
        for u, i, ev, ts in zip(ev_user, ev_item, ev_type, ev_ts):
            track(u, i, ev, 1.0, ts)
        cpu["track"], wall["track"] = events / (pc() - c0), events / (pt() - w0)

        recommend = engine.recommend
        rec_user = d["rec_user"]
        c0, w0 = pc(), pt()
        for u in rec_user:
            recommend(u, K, now=t_end)
        cpu["recommend"], wall["recommend"] = recs / (pc() - c0), recs / (pt() - w0)

        item_count = engine.item_count
        acc = 0
        c0, w0 = pc(), pt()
        for _ in range(cheap):
            acc += item_count()
        cpu["item_count"], wall["item_count"] = cheap / (pc() - c0), cheap / (pt() - w0)

        event_count = engine.event_count
        passes = cheap // recs
        c0, w0 = pc(), pt()
        for _ in range(passes):
            for u in rec_user:
                acc += event_count(u)
        n = passes * recs
        cpu["event_count"], wall["event_count"] = n / (pc() - c0), n / (pt() - w0)

        result = None
        if verify:  # untimed
            h = FNV_INIT
            for u in rec_user:
                h = fold_recs(h, engine.recommend(u, K, now=t_end))
            for u in d["user_ids"]:
                h = fnv_u32(h, engine.event_count(u))
            result = fnv_u32(h, engine.item_count())
    finally:
        engine.close()

    engine = Engine()  # track_many: the same events on a fresh engine
    try:
        for iid, fs in zip(d["item_ids"], d["feats"]):
            engine.put_item(iid, fs)
        track_many = engine.track_many
        c0, w0 = pc(), pt()
        n = track_many(zip(ev_user, ev_item, ev_type, itertools.repeat(1.0), ev_ts))
        cpu["track_many"], wall["track_many"] = n / (pc() - c0), n / (pt() - w0)
        assert n == events, n
    finally:
        engine.close()
    return cpu, wall, result


def main(argv):
    sizes = {"items": 5000, "users": 2000, "events": 200000, "recs": 2000,
             "cheap": 1000000, "rounds": 5}
    args = list(argv)
    while args:
        a = args.pop(0)
        key = a[2:] if a.startswith("--") else None
        if key not in sizes or not args:
            sys.stderr.write("usage: bench_calls.py [--items N] [--users N] [--events N] "
                             "[--recs N] [--cheap N] [--rounds N]\n")
            return 2
        sizes[key] = int(args.pop(0))
    items, users, events = sizes["items"], sizes["users"], sizes["events"]
    recs, rounds = sizes["recs"], sizes["rounds"]
    cheap = max(sizes["cheap"], recs)
    cheap -= cheap % recs

    d = generate(items, users, events, recs)
    ops = ("track", "recommend", "item_count", "event_count", "track_many")
    rates = []
    result = None
    for r in range(rounds):
        sys.stderr.write("bench_calls.py: round %d/%d...\n" % (r + 1, rounds))
        cpu, wall, res = run_round(d, events, recs, cheap, r + 1 == rounds)
        rates.append((cpu, wall))
        if res is not None:
            result = res
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    out = ["lang python",
           "data_checksum %08x" % d["checksum"],
           "result_checksum %08x" % result,
           "sizes items=%d features=%d users=%d events=%d recs=%d cheap=%d"
           % (items, FEATURES, users, events, recs, cheap)]
    for op in ops:
        for cpu, wall in rates:
            out.append("rate %s %.6g %.6g" % (op, cpu[op], wall[op]))
    out.append("maxrss_kib %d" % rss)
    out.append("version python %s" % sys.version.split()[0])
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
