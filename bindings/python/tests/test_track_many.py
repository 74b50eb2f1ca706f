"""Engine.track_many: a batch of events in one pz_track_batch call."""

import collections
import datetime as dt
import math
import os
import tempfile
import unittest

import personalize
from personalize import ConsentError, InvalidArgument, NotFound, OutOfRange, VersionError
from personalize import _lib
from personalize import engine as engine_module

from support import CATALOGUE, DAY, NOW, EngineTest, make_engine

Row = collections.namedtuple("Row", "user item event value ts")

# every shape, every kind of value track() takes
EVENTS = [
    ("ann", "jazz1"),
    ("ann", "jazz2", "purchase"),
    ["bob", "rock1", "click", 2],
    ("bob", "rock2", "rating", 4.5, NOW - DAY),
    Row("cy", "folk1", "view", 1.0, dt.datetime(2023, 11, 1, tzinfo=dt.timezone.utc)),
    ("ann", "new-item", "like", 1.0, 0),
    ("cy", "jazz3", "dislike", 1, NOW - 2 * DAY),
    ("ann", "jazz1", "view", 0.5, personalize.Timestamp(NOW - 3 * DAY)),
]


def state(e, users=("ann", "bob", "cy", "dan"), items=tuple(CATALOGUE) + ("new-item",)):
    """Everything track changes: exports, popularity, counts."""
    exports = {}
    for u in users:
        try:
            exports[u] = e.export(u)
        except NotFound:
            exports[u] = None
    popularity = {}
    for i in items:
        try:
            popularity[i] = e.popularity(i)
        except NotFound:
            popularity[i] = None
    return exports, popularity, e.profile_count(), e.item_count()


def events_of(e, user):
    try:
        return e.event_count(user)
    except NotFound:
        return 0


def message(exc):
    """What follows the status text: the message proper."""
    return exc.message if isinstance(exc, personalize.PersonalizeError) else str(exc)


class CountCalls:
    """Stands in for the library in engine.py, counting pz_track_batch and
    pz_track calls (and the events each batch call was given)."""

    def __init__(self, real):
        self.real = real
        self.batches = []
        self.tracks = 0

    def __getattr__(self, name):
        fn = getattr(self.real, name)
        if name == "pz_track_batch":
            def batch(e, events, n, applied):
                self.batches.append(n)
                return fn(e, events, n, applied)
            return batch
        if name == "pz_track":
            def track(*args):
                self.tracks += 1
                return fn(*args)
            return track
        return fn


class TrackMany(EngineTest):
    def count_calls(self):
        spy = CountCalls(engine_module.lib)
        engine_module.lib = spy
        self.addCleanup(setattr, engine_module, "lib", spy.real)
        return spy

    def test_a_batch_equals_the_same_track_calls(self):
        one = make_engine()
        self.addCleanup(one.close)
        for ev in EVENTS:
            one.track(*ev)
        spy = self.count_calls()
        self.assertEqual(self.e.track_many(EVENTS), len(EVENTS))
        self.assertEqual(spy.batches, [len(EVENTS)])
        self.assertEqual(spy.tracks, 0)
        self.assertEqual(state(self.e), state(one))
        self.assertEqual(self.e.event_count("ann"), 4)
        self.assertEqual(self.e.export("ann")["events"][0]["ts"], NOW)  # ts 0: the engine's clock
        self.assertEqual(self.e.export("cy")["events"][0]["ts"], 1698796800000)  # a datetime

    def test_any_iterable_of_sequences(self):
        gen = (ev for ev in EVENTS)
        self.assertEqual(self.e.track_many(gen), len(EVENTS))
        other = make_engine()
        self.addCleanup(other.close)
        other.track_many([list(ev) for ev in EVENTS])
        self.assertEqual(state(self.e), state(other))
        self.assertEqual(other.track_many([collections.UserList(["dan", "jazz1"])]), 1)
        self.assertEqual(other.event_count("dan"), 1)

    def test_empty_input(self):
        spy = self.count_calls()
        for empty in ([], (), iter([]), (ev for ev in [])):
            self.assertEqual(self.e.track_many(empty), 0)
        self.assertEqual(spy.batches, [])  # nothing to send
        self.assertEqual(self.e.profile_count(), 0)

    def test_a_refused_event_stops_the_batch(self):
        e = self.e
        e.set_consent("dan", "personalization", False)
        cases = [
            (NotFound, ("cy", "jazz1", "bogus-type"), "unknown event type"),
            (OutOfRange, ("cy", "jazz1", "view", 2e9), ""),
            (InvalidArgument, ("cy", "jazz1", "view", math.nan), ""),
            (InvalidArgument, ("cy", "jazz1", "view", 1.0, -5), ""),
            (InvalidArgument, ("", "jazz1"), ""),
            (InvalidArgument, ("x" * 256, "jazz1"), ""),
            (ConsentError, ("dan", "jazz1"), ""),
        ]
        for cls, bad, text in cases:
            with self.subTest(bad=bad[:4]):
                before = events_of(e, "ann")
                events = [("ann", "jazz1"), ("ann", "jazz2"), bad, ("ann", "jazz3"), ("eve", "jazz1")]
                with self.assertRaises(cls) as cm:
                    e.track_many(events)
                self.assertEqual(cm.exception.applied, 2)
                self.assertTrue(cm.exception.message.startswith("event 2: "), cm.exception.message)
                self.assertIn(text, cm.exception.message)
                self.assertEqual(e.event_count("ann"), before + 2)  # jazz3 not recorded
                with self.assertRaises(NotFound):
                    e.event_count("eve")
        # the same status and message as track() for the same event
        with self.assertRaises(NotFound) as single:
            e.track("cy", "jazz1", "bogus-type")
        with self.assertRaises(NotFound) as batch:
            e.track_many([("cy", "jazz1", "bogus-type")])
        self.assertEqual(batch.exception.message, "event 0: " + single.exception.message)
        self.assertEqual(batch.exception.code, single.exception.code)

    def test_bad_python_values_stop_the_batch_at_their_index(self):
        e = self.e
        cases = [
            (TypeError, (None, "jazz1"), "user must be str, not NoneType"),
            (TypeError, ("cy", 42), "item must be str, not int"),
            (TypeError, ("cy", "jazz1", b"view"), "event must be str, not bytes"),
            (TypeError, ("cy", "jazz1", "view", "1"), "value must be a number"),
            (TypeError, ("cy", "jazz1", "view", True), "value must be a number, not bool"),
            (TypeError, ("cy", "jazz1", "view", 1.0, 1.5), "ts must be int"),
            (OutOfRange, ("cy", "jazz1", "view", 1.0, 2**63), "ts"),
            (OutOfRange, ("cy", "jazz1", "view", 10**400), "value is too large"),
            (InvalidArgument, ("cy\ud800", "jazz1"), "user is not encodable as UTF-8"),
            (InvalidArgument, ("cy", "jazz\0" + "1"), "item contains a NUL"),
            (TypeError, ("cy",), "1 fields; an event is (user, item[, event[, value[, ts]]])"),
            (TypeError, ("cy", "jazz1", "view", 1.0, 0, "extra"), "6 fields"),
            (TypeError, "cy", "an event is a tuple (user, item[, event[, value[, ts]]]), not str"),
            (TypeError, {"user": "cy", "item": "jazz1"}, "not dict"),
            (TypeError, 7, "not int"),
        ]
        for n, (cls, bad, text) in enumerate(cases):
            with self.subTest(bad=bad):
                events = [("ann", "jazz1"), ("bob", "jazz2"), ("ann", "rock1"), bad, ("eve", "jazz1")]
                with self.assertRaises(cls) as cm:
                    e.track_many(events)
                self.assertEqual(cm.exception.applied, 3)
                self.assertTrue(message(cm.exception).startswith("event 3: "), message(cm.exception))
                self.assertIn(text, message(cm.exception))
                self.assertEqual(e.event_count("ann"), 2 * (n + 1))
                self.assertEqual(e.event_count("bob"), n + 1)
                with self.assertRaises(NotFound):
                    e.event_count("eve")
                self.assertEqual(e.profile_count(), 2)

    def test_bad_events_argument(self):
        for bad, text in [(None, "not NoneType"), (5, "not int"), ("ann", "not a single str"),
                          (b"ann", "not a single bytes")]:
            with self.subTest(bad=bad):
                with self.assertRaises(TypeError) as cm:
                    self.e.track_many(bad)
                self.assertIn(text, str(cm.exception))
                self.assertEqual(cm.exception.applied, 0)

    def test_an_iterator_that_raises_keeps_what_came_before(self):
        class Boom(Exception):
            pass

        def events():
            yield ("ann", "jazz1")
            yield ("ann", "jazz2")
            raise Boom("midway")

        with self.assertRaises(Boom) as cm:
            self.e.track_many(events())
        self.assertEqual(cm.exception.applied, 2)
        self.assertEqual(self.e.event_count("ann"), 2)

    def test_a_value_whose_conversion_raises_goes_through(self):
        class Boom(Exception):
            pass

        class BadFloat:
            def __float__(self):
                raise Boom("__float__")

        with self.assertRaises(Boom) as cm:
            self.e.track_many([("ann", "jazz1"), ("ann", "jazz2", "view", BadFloat())])
        self.assertEqual(cm.exception.applied, 1)
        self.assertEqual(self.e.event_count("ann"), 1)

    def test_str_subclasses_are_read_for_what_they_hold(self):
        class Liar(str):
            def __eq__(self, other):
                return True

            def __hash__(self):
                return hash("ann")

        self.e.track_many([("ann", "jazz1"), (Liar("bob"), "jazz2"), ("ann", "jazz3"), (Liar("cy"), "jazz1")])
        self.assertEqual(self.e.event_count("ann"), 2)
        self.assertEqual(self.e.event_count("bob"), 1)
        self.assertEqual(self.e.event_count("cy"), 1)

    def test_long_input_goes_in_chunks(self):
        spy = self.count_calls()
        old = engine_module._BATCH_MAX
        engine_module._BATCH_MAX = 3
        self.addCleanup(setattr, engine_module, "_BATCH_MAX", old)
        events = [(f"u{k % 4}", "jazz1", "view", 1.0, NOW - k) for k in range(10)]
        self.assertEqual(self.e.track_many(iter(events)), 10)
        self.assertEqual(spy.batches, [3, 3, 3, 1])
        self.assertEqual(sum(self.e.event_count(f"u{k}") for k in range(4)), 10)
        # a refusal in a later chunk: numbered and counted from the start
        spy.batches.clear()
        events[7] = ("u1", "jazz1", "bogus-type")
        with self.assertRaises(NotFound) as cm:
            self.e.track_many(events)
        self.assertEqual(cm.exception.applied, 7)
        self.assertTrue(cm.exception.message.startswith("event 7: unknown event type"), cm.exception.message)
        self.assertEqual(spy.batches, [3, 3, 3])
        self.assertEqual(sum(self.e.event_count(f"u{k}") for k in range(4)), 17)
        # a bad Python value in a later chunk: the chunk's good events are sent
        spy.batches.clear()
        events[7] = ("u1", None)
        with self.assertRaises(TypeError) as cm:
            self.e.track_many(events)
        self.assertEqual(cm.exception.applied, 7)
        self.assertEqual(str(cm.exception), "event 7: item must be str, not NoneType")
        self.assertEqual(spy.batches, [3, 3, 1])
        self.assertEqual(sum(self.e.event_count(f"u{k}") for k in range(4)), 24)

    def test_event_by_event_filling_gives_the_same(self):
        old = engine_module._EVENT_COLUMNS
        self.assertIsNotNone(old, "the column-wise fill is the one every known ABI uses")
        engine_module._EVENT_COLUMNS = None
        self.addCleanup(setattr, engine_module, "_EVENT_COLUMNS", old)
        self.e.track_many(EVENTS)
        other = make_engine()
        self.addCleanup(other.close)
        for ev in EVENTS:
            other.track(*ev)
        self.assertEqual(state(self.e), state(other))

    def test_closed_engine(self):
        self.e.close()
        with self.assertRaises(personalize.EngineClosed) as cm:
            self.e.track_many([("ann", "jazz1")])
        self.assertEqual(cm.exception.applied, 0)

    def test_a_library_without_pz_track_batch(self):
        # what a 1.1 library gives (test_loading.py loads one for real)
        old = _lib.MISSING
        _lib.MISSING = frozenset({"pz_track_batch"})
        self.addCleanup(setattr, _lib, "MISSING", old)
        with self.assertRaises(VersionError) as cm:
            self.e.track_many([("ann", "jazz1")])
        self.assertIn("needs libpersonalize 1.2 or later", str(cm.exception))
        self.assertEqual(cm.exception.applied, 0)
        self.assertEqual(self.e.profile_count(), 0)

    def test_a_batch_too_large_for_one_journal_record_is_split(self):
        # 124,000 events of two 255-byte ids make a record above the
        # journal's 64 MiB: the library refuses it whole (PZ_ELIMIT), the
        # binding sends it again in halves
        user, item = "u" * 255, "i" * 255
        with tempfile.TemporaryDirectory() as d:
            yaml = f"store: {{journal: {os.path.join(d, 'journal')}, fsync: never}}\n"
            e = personalize.Engine.from_yaml(yaml)
            try:
                spy = self.count_calls()
                self.assertEqual(e.track_many([(user, item)] * 124_000), 124_000)
                self.assertEqual(spy.batches, [124_000, 62_000, 62_000])
            finally:
                e.close()
            with personalize.Engine.from_yaml(yaml) as e:  # the journal replays both halves
                self.assertEqual(e.popularity(item)[1], 124_000)


if __name__ == "__main__":
    unittest.main()
