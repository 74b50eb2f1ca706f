"""Randomized hostile calls: clean Python errors, never a crash.

A fixed-seed random sequence of calls to random Engine / SparseVector /
module methods with hostile arguments (None, bools, ints beyond every C
type, NaN and infinities, empty, NUL-holding, surrogate and 100 KB
strings, bytes, mixed lists, dicts, generators that raise midway, objects
whose __str__/__index__/__float__ raise, str subclasses that lie, closed
and collected engines). Every call must return or raise one of the
expected exceptions; anything else (ctypes.ArgumentError, AttributeError,
SystemError, UnicodeError, IndexError, ...) is a binding bug, and the
interpreter must not crash (run it under the ASan build to see memory
errors too).

    PERSONALIZE_FUZZ_ITERATIONS=200000 PERSONALIZE_FUZZ_SEED=7 \\
      python3 bindings/python/tests/run_tests.py

The default size keeps the suite fast. PERSONALIZE_FUZZ_SEED may be a
comma-separated list of seeds.
"""

import contextlib
import ctypes
import datetime as dt
import decimal
import gc
import inspect
import io
import math
import os
import random
import tempfile
import unittest

import personalize
from personalize import CFAlgorithm, ChoiceKind, Engine, PersonalizeError, SparseVector, Timestamp

from support import CATALOGUE, NOW

ITERATIONS = int(os.environ.get("PERSONALIZE_FUZZ_ITERATIONS", "2500"))
SEEDS = [int(s) for s in os.environ.get("PERSONALIZE_FUZZ_SEED", "20240611").split(",") if s.strip()]


class Boom(Exception):
    """Raised by the hostile objects below: the caller's own exception,
    which the binding may let through unchanged."""


def raising_generator(values):
    def gen():
        yield from values
        raise Boom("generator failed midway")

    return gen()


class BadStr:
    def __str__(self):
        raise Boom("__str__")

    __repr__ = __str__


class BadIndex:
    def __index__(self):
        raise Boom("__index__")


class HugeIndex:
    def __index__(self):
        return 2**200


class BadFloat:
    def __float__(self):
        raise Boom("__float__")


class WeirdFloat:
    def __float__(self):
        return "not a float"


class LyingStr(str):
    """A str whose methods lie: the binding must read the characters."""

    def encode(self, *a, **k):
        return 42

    def __contains__(self, x):
        return False

    def __len__(self):
        return 3


class LyingBytes(bytes):
    def __contains__(self, x):
        return False


class BadPath:
    def __fspath__(self):
        raise Boom("__fspath__")


class BadMapping(dict):
    def items(self):
        raise Boom("items")


TEXTS = ["", "\0", "a\0b", "\ud800", "ab\udc80", "x" * 100_000, "x" * 256, "é" * 127 + "x", "genre=jazz",
         "=", "a=", "ns=" + "v" * 1100, "\n", "ann", "jazz1", LyingStr("ok\0x"), LyingStr("bob")]
INTS = [0, 1, -1, 2, 3, 7, 2**31 - 1, 2**31, -(2**31) - 1, 2**32, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1,
        2**64 - 1, 2**64, 2**200, -(2**200), NOW, -NOW, CFAlgorithm.KNN, ChoiceKind.PIN, Timestamp(NOW),
        Timestamp(-1)]
FLOATS = [0.0, -0.0, 0.5, 1.0, -1.0, 1e6, 1e7, -1e300, 1e308, float("nan"), float("inf"), float("-inf"),
          5e-324, decimal.Decimal("nan"), decimal.Decimal("1e1000")]
OTHER = [None, True, False, b"bytes", b"", bytearray(b"x\0"), LyingBytes(b"a\0b"), [], [1], ["a", 1],
         ["genre=jazz", "mood=calm"], [("genre=jazz", 2.0)], [("genre=jazz", float("nan"))], [("x", "y")],
         [("a", 1, 2)], {"genre=jazz": 1.0}, {"genre=jazz": "heavy"}, {1: 2}, {"x=1": 2**2000}, set(), (),
         object(), BadStr(), BadIndex(), HugeIndex(), BadFloat(), WeirdFloat(), BadPath(), BadMapping(a=1),
         dt.datetime.min, dt.datetime.max, dt.datetime(2023, 11, 14, tzinfo=dt.timezone.utc),
         dt.datetime(2023, 11, 14), dt.date(2023, 1, 1), complex(1, 2), "knn", "als", "bogus", "block_item",
         lambda: 0, [["nested"]], iter(["a"]), range(3)]


def hostile(rng, engines):
    """One hostile (or, a third of the time, plausible) value."""
    r = rng.random()
    if r < 0.35:
        return rng.choice(["ann", "bob", "jazz1", "rock1", "folk1", "genre=jazz", "mood=calm", "view",
                           "purchase", "personalization", 1, 2, 3, 0, NOW, 0.5, True, None])
    kind = rng.randrange(7)
    if kind == 0:
        return rng.choice(TEXTS)
    if kind == 1:
        return rng.choice(INTS)
    if kind == 2:
        return rng.choice(FLOATS)
    if kind == 3:
        return raising_generator(rng.choice([["genre=jazz"], [], ["a", "b", "c"], [("x=1", 1.0)]]))
    if kind == 4:
        return [rng.choice(TEXTS + INTS[:4] + [None]) for _ in range(rng.randrange(4))]
    if kind == 5 and engines:
        return rng.choice(engines)
    return rng.choice(OTHER)


def public_methods(cls):
    out = []
    for name, member in inspect.getmembers(cls):
        if name.startswith("_") or name in ("close",):
            continue
        if callable(member):
            out.append(name)
    return sorted(out)


ENGINE_METHODS = public_methods(Engine)
VECTOR_METHODS = public_methods(SparseVector)

# exceptions a call may raise (Boom: the caller's own objects failed)
ALLOWED = (PersonalizeError, TypeError, ValueError, OverflowError, Boom)
# ... except these, which always mean the binding let something slip
FORBIDDEN = (ctypes.ArgumentError, UnicodeError, AttributeError, SystemError, IndexError, AssertionError,
             RecursionError, NameError, UnboundLocalError)


def ordinary(rng, param):
    """A value of the kind the parameter expects (from its annotation)."""
    ann = str(param.annotation) if param is not None else ""
    name = param.name if param is not None else ""
    if param is not None and param.default is not param.empty and rng.random() < 0.3:
        return param.default
    if "Iterable" in ann or "Mapping" in ann:
        return rng.choice([["genre=jazz"], ["mood=calm", "era=1950s"], {"genre=rock": 2.0}, [], ["jazz1", "rock2"]])
    if "SparseVector" in ann:
        return SparseVector().add_feature("genre=jazz")
    if ann.startswith("Union[CF") or ann.startswith("Union[Ratings") or ann.startswith("Union[ChoiceKind"):
        return rng.choice(["knn", "als", "off", "auto", "csv", 1, 2, "block_item", "pin"])
    if "bool" in ann:
        return rng.choice([True, False])
    if ann in ("Time",) or name in ("now", "ts", "expires"):
        return rng.choice([0, NOW, NOW - 86_400_000, NOW + 3_600_000])
    if "float" in ann:
        return rng.choice([0.5, 1.0, 2.0, 0.0])
    if "int" in ann:
        return rng.choice([0, 1, 2, 3, 5, 10, 16, 20])
    if "PathLike" in ann:
        return rng.choice(["s.snap", "r.csv"])
    if "str" in ann or "bytes" in ann:
        if name in ("feature",):
            return rng.choice(["genre=jazz", "mood=calm", "era=1970s"])
        if "yaml" in name:
            return rng.choice(["{}", "rules: []", "segments:\n  - name: fans\n    rule: {interest: genre=jazz}\n"])
        return rng.choice(["ann", "bob", "cy", "jazz1", "rock1", "folk1", "view", "purchase", "personalization"])
    return rng.choice(["ann", "jazz1", 1, 0.5, True, None])


class Fuzzer:
    def __init__(self, seed, tmpdir):
        self.rng = random.Random(seed)
        self.seed = seed
        self.tmp = tmpdir
        self.engines = []
        self.vectors = []
        self.results = []  # kept across engine collection
        self.calls = self.raised = 0
        self.problems = []

    def new_engine(self):
        rng = self.rng
        r = rng.random()
        clock = None
        if r < 0.3:
            clock = rng.choice([lambda: NOW, lambda: float("nan"), lambda: 2**70, lambda: None,
                                lambda: dt.datetime(2023, 11, 14, tzinfo=dt.timezone.utc), BadIndex,
                                lambda: -1])
        try:
            if r < 0.1:
                e = Engine.from_yaml(hostile(rng, []), clock=clock)
            elif r < 0.15:
                e = Engine(hostile(rng, []), clock=clock)
            elif r < 0.2:
                e = Engine.load(hostile(rng, []), clock=clock)
            else:
                e = Engine(clock=clock) if clock else Engine()
        except ALLOWED as exc:
            self.check_exception("Engine()", exc)
            e = Engine()
        for item, features in CATALOGUE.items():
            e.put_item(item, features)
        for user, item in (("ann", "jazz1"), ("bob", "rock1")):
            for ts in (NOW, 0):
                try:  # a hostile clock, or a snapshot saved by an earlier
                    e.track(user, item, "purchase", ts=ts)  # call where the
                    break  # user opted out, may refuse this
                except PersonalizeError:
                    pass
        self.engines.append(e)
        if len(self.engines) > 4:
            self.engines.pop(0)  # collected (or not) while results survive

    def check_exception(self, what, exc):
        if isinstance(exc, FORBIDDEN) or not isinstance(exc, ALLOWED):
            self.problems.append(f"seed {self.seed} call {self.calls}: {what} raised {type(exc).__name__}: {exc!r}"[:500])

    def args_for(self, fn):
        rng = self.rng
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            return [hostile(rng, self.engines) for _ in range(rng.randrange(3))], {}
        params = [p for p in sig.parameters.values() if p.name != "self"]
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        keyword = [p for p in params if p.kind == p.KEYWORD_ONLY]
        n = len(positional)
        if rng.random() < 0.05:
            n = rng.randrange(n + 3)  # wrong arity now and then
        # some calls are mostly ordinary, so that they reach the library
        hostility = rng.choice([0.05, 0.2, 0.6])

        def value(p):
            return hostile(rng, self.engines) if rng.random() < hostility else ordinary(rng, p)

        args = [value(positional[i] if i < len(positional) else None) for i in range(n)]
        kwargs = {p.name: value(p) for p in keyword if rng.random() < 0.4}
        return args, kwargs

    def step(self):
        rng = self.rng
        if not self.engines or rng.random() < 0.01:
            self.new_engine()
        r = rng.random()
        if r < 0.01:
            e = rng.choice(self.engines)
            e.close()  # later calls: EngineClosed
            if rng.random() < 0.7:  # most closed engines are dropped at once
                self.engines.remove(e)
            return
        if r < 0.015:
            self.engines.pop(rng.randrange(len(self.engines)))
            gc.collect()
            return
        if r < 0.03:
            self.vectors = self.vectors[-8:]
            gc.collect()
            return
        if r < 0.82:
            e = rng.choice(self.engines)
            name = rng.choice(ENGINE_METHODS)
            fn = getattr(e, name)
        elif r < 0.95:
            if not self.vectors or rng.random() < 0.2:
                src = rng.choice(self.engines + [None, None])
                try:
                    v = SparseVector(src) if src is not None else SparseVector()
                except ALLOWED as exc:  # a closed engine
                    self.check_exception("SparseVector()", exc)
                    return
                v.add_feature("genre=jazz")
                self.vectors.append(v)
            v = rng.choice(self.vectors)
            name = "SparseVector." + rng.choice(VECTOR_METHODS)
            fn = getattr(v, name.split(".")[1])
        else:
            name = rng.choice(["feature_hash", "experiment_bucket", "strerror"])
            fn = getattr(personalize, name)
        args, kwargs = self.args_for(fn)
        if name in ("save", "import_ratings") and args and rng.random() < 0.5:
            args[0] = os.path.join(self.tmp, rng.choice(["s.snap", "r.csv", "missing/x"]))
        self.calls += 1
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            self.raised += 1
            self.check_exception(name, exc)
            return
        if result is not None and rng.random() < 0.2:
            self.results.append(result)
            del self.results[:-50]

    def run(self, n):
        for _ in range(n):
            self.step()
            if len(self.problems) > 20:
                break
        # results outlive every engine
        self.engines.clear()
        gc.collect()
        repr(self.results)
        for v in self.vectors:
            v.norm()
            v.entries()


class FuzzCalls(unittest.TestCase):
    def test_random_hostile_calls(self):
        for seed in SEEDS:
            with self.subTest(seed=seed), tempfile.TemporaryDirectory() as tmp:
                with open(os.path.join(tmp, "r.csv"), "w", encoding="utf-8") as f:
                    f.write("user,item,value\nann,jazz2,1\nbob,rock2,5\n")
                fz = Fuzzer(seed, tmp)
                # hostile strings are paths too (save("ann")): keep them in tmp
                cwd = os.getcwd()
                os.chdir(tmp)
                try:
                    # clocks that fail write their traceback to stderr
                    with contextlib.redirect_stderr(io.StringIO()):
                        fz.run(ITERATIONS)
                finally:
                    os.chdir(cwd)
                self.assertEqual(fz.problems, [], "\n" + "\n".join(fz.problems))
                self.assertGreater(fz.calls, ITERATIONS // 2)
                # the run must not be all rejections: some calls reached C and succeeded
                self.assertLess(fz.raised, fz.calls)


if __name__ == "__main__":
    unittest.main()
