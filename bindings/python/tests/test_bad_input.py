"""Bad input from Python raises; it never crashes, truncates or wraps."""

import math
import unittest

import personalize
from personalize import InvalidArgument, OutOfRange

from support import EngineTest

BAD_TEXT = {
    "empty": "",
    "overlong": "x" * 256,
    "lone surrogate": "ab\udc80",
    "nul": "ab\0cd",
}


class Identifiers(EngineTest):
    def calls(self, bad):
        e = self.e
        return {
            "track user": lambda: e.track(bad, "jazz1"),
            "track item": lambda: e.track("ann", bad),
            "track event": lambda: e.track("ann", "jazz1", bad),
            "track_many user": lambda: e.track_many([(bad, "jazz1")]),
            "track_many item": lambda: e.track_many([("ann", bad)]),
            "track_many event": lambda: e.track_many([("ann", "jazz1", bad)]),
            "put_item": lambda: e.put_item(bad, ["genre=jazz"]),
            "put_item feature": lambda: e.put_item("new", [bad] if bad != "x" * 256 else ["x" * 2000]),
            "set_attribute user": lambda: e.set_attribute(bad, "a", 1),
            "set_attribute name": lambda: e.set_attribute("ann", bad, 1),
            "recommend": lambda: e.recommend(bad, 3),
            "recommend exclude": lambda: e.recommend("ann", 3, exclude=[bad]),
            "export": lambda: e.export(bad),
            "erase": lambda: e.erase(bad),
            "block item": lambda: e.block("ann", item=bad),
            "pin": lambda: e.pin(bad, "jazz1"),
            "segments_of": lambda: e.segments_of(bad),
            "similar_items": lambda: e.similar_items(bad, 3),
            "consent": lambda: e.set_consent("ann", bad, True),
        }

    def test_bad_text_raises_invalid_argument(self):
        for label, bad in BAD_TEXT.items():
            for name, call in self.calls(bad).items():
                with self.subTest(text=label, call=name):
                    with self.assertRaises(InvalidArgument):
                        call()
        # nothing was created along the way
        self.assertEqual(self.e.profile_count(), 0)
        self.assertEqual(self.e.item_count(), 6)

    def test_nul_is_not_truncated(self):
        # "ann\0x" must not silently become "ann"
        self.e.track("ann", "jazz1")
        with self.assertRaises(InvalidArgument):
            self.e.erase("ann\0x")
        self.assertEqual(self.e.event_count("ann"), 1)

    def test_longest_id_is_accepted(self):
        uid = "é" * 127 + "x"  # 255 bytes
        self.e.track(uid, "jazz1")
        self.assertEqual(self.e.export(uid)["user"], uid)
        self.assertEqual(self.e.recommend(uid, 1)[0].item, "jazz2")  # jazz1 is seen
        with self.assertRaises(InvalidArgument):
            self.e.track(uid + "x", "jazz1")  # 256 bytes

    def test_wrong_types_raise_type_error(self):
        e = self.e
        for bad in (None, b"ann", 42, 1.5, ["ann"], object()):
            with self.subTest(value=bad):
                with self.assertRaises(TypeError):
                    e.track(bad, "jazz1")
                with self.assertRaises(TypeError):
                    e.track_many([(bad, "jazz1")])
                with self.assertRaises(TypeError):
                    e.recommend(bad, 3)
                with self.assertRaises(TypeError):
                    e.export(bad)
        with self.assertRaises(TypeError):
            e.put_item("x", "genre=jazz")  # a bare str is not a feature list
        with self.assertRaises(TypeError):
            e.put_item("x", [1, 2])
        with self.assertRaises(TypeError):
            e.put_item("x", 5)
        with self.assertRaises(TypeError):
            e.recommend("ann", 3, exclude="jazz1")
        with self.assertRaises(TypeError):
            e.recommend("ann", "3")
        with self.assertRaises(TypeError):
            e.recommend("ann", 3.0)
        with self.assertRaises(TypeError):
            e.recommend("ann", True)
        with self.assertRaises(TypeError):
            e.track("ann", "jazz1", "view", "1")
        with self.assertRaises(TypeError):
            e.track("ann", "jazz1", "view", None)
        with self.assertRaises(TypeError):
            e.set_attribute("ann", "a", None)
        with self.assertRaises(TypeError):
            e.set_attribute("ann", "a", [1])
        with self.assertRaises(TypeError):
            e.set_consent("ann", "analytics", "yes")
        with self.assertRaises(TypeError):
            e.recommend("ann", 3, include_seen="no")
        with self.assertRaises(TypeError):
            e.load_rules(None)
        with self.assertRaises(TypeError):
            personalize.Engine(config=42)
        with self.assertRaises(TypeError):
            personalize.Engine.from_yaml(None)
        self.assertEqual(e.profile_count(), 0)

    def test_bytes_config_yaml_is_accepted_and_checked(self):
        with personalize.Engine.from_yaml(b"events: {view: 1}") as e:
            e.track("u", "i")
        with self.assertRaises(personalize.ConfigError):
            personalize.Engine.from_yaml(b"events: {view: \xff\xfe}")
        with self.assertRaises(personalize.ConfigError):
            personalize.Engine.from_yaml(b"events: {view: 1}\0junk: 1")


class Numbers(EngineTest):
    def test_nan_and_infinity(self):
        e = self.e
        for bad in (math.nan, math.inf, -math.inf):
            with self.subTest(value=bad):
                with self.assertRaises(InvalidArgument):
                    e.track("ann", "jazz1", "view", bad)
                with self.assertRaises(InvalidArgument):
                    e.track_many([("ann", "jazz1", "view", bad)])
                with self.assertRaises(InvalidArgument):
                    e.set_attribute("ann", "x", bad)
                with self.assertRaises(InvalidArgument):
                    e.put_item("new", {"genre=jazz": bad})
                with self.assertRaises(InvalidArgument):
                    e.adjust("ann", "genre=jazz", bad)
                with self.assertRaises(ValueError):
                    e.recommend("ann", 3, diversity=bad)
                with self.assertRaises(ValueError):
                    e.recommend("ann", 3, context={"genre=jazz": bad})
        self.assertEqual(e.profile_count(), 0)

    def test_out_of_range_reals(self):
        e = self.e
        with self.assertRaises(OutOfRange):
            e.track("ann", "jazz1", "view", 1e10)
        with self.assertRaises(OutOfRange):
            e.track("ann", "jazz1", "view", 10 ** 400)  # too big for a double
        with self.assertRaises(OutOfRange):
            e.track_many([("ann", "jazz1", "view", 1e10)])
        with self.assertRaises(OutOfRange):
            e.track_many([("ann", "jazz1", "view", 10 ** 400)])
        with self.assertRaises(OutOfRange):
            e.recommend("ann", 3, diversity=1.5)
        with self.assertRaises(InvalidArgument):
            e.recommend("ann", 3, diversity=-0.5)  # -1 in C would mean "config"
        with self.assertRaises(OutOfRange):
            e.put_item("new", {"genre=jazz": 1e7})

    def test_k_is_never_truncated(self):
        e = self.e
        e.track("ann", "jazz1")
        for k, exc in ((-1, InvalidArgument), (0, InvalidArgument), (2 ** 64, OutOfRange),
                       (2 ** 64 + 3, OutOfRange), (2 ** 63, OutOfRange), (10 ** 30, OutOfRange),
                       (1001, OutOfRange)):
            with self.subTest(k=k):
                with self.assertRaises(exc):
                    e.recommend("ann", k)
                with self.assertRaises((exc, OutOfRange)):
                    e.similar_items("jazz1", k)
        with self.assertRaises(InvalidArgument):
            e.interests("ann", -1)
        with self.assertRaises(InvalidArgument):
            e.interests("ann", 0)
        with self.assertRaises(OutOfRange):
            e.interests("ann", 2 ** 64 + 1)
        with self.assertRaises(InvalidArgument):
            e.recommend("ann", 3, offset=-1)
        with self.assertRaises(OutOfRange):
            e.recommend("ann", 3, offset=2 ** 64 - 1)  # offset + k overflows

    def test_times(self):
        e = self.e
        with self.assertRaises(InvalidArgument):
            e.track("ann", "jazz1", ts=-1)
        with self.assertRaises(OutOfRange):
            e.track("ann", "jazz1", ts=2 ** 63)
        with self.assertRaises(OutOfRange):
            e.track("ann", "jazz1", ts=2 ** 63 - 1)  # far future: a unit mistake
        with self.assertRaises(OutOfRange):
            e.track("ann", "jazz1", ts=-(2 ** 64))
        for ts, exc in ((-1, InvalidArgument), (2 ** 63, OutOfRange), (2 ** 63 - 1, OutOfRange),
                        (-(2 ** 64), OutOfRange)):
            with self.assertRaises(exc):
                e.track_many([("ann", "jazz1", "view", 1.0, ts)])
        with self.assertRaises(InvalidArgument):
            e.recommend("ann", 3, now=-5)
        with self.assertRaises(OutOfRange):
            e.block("ann", item="jazz1", expires=1)  # already past
        with self.assertRaises(InvalidArgument):
            e.block("ann", item="jazz1", expires=-1)
        with self.assertRaises(OutOfRange):
            e.pin("ann", "jazz1", position=2 ** 31)
        with self.assertRaises(InvalidArgument):
            e.pin("ann", "jazz1", position=-1)
        with self.assertRaises(OutOfRange):
            e.pin("ann", "jazz1", position=5000)  # beyond ranking.max_k
        self.assertEqual(e.profile_count(), 0)

    def test_options_and_flags(self):
        e = self.e
        with self.assertRaises(InvalidArgument):
            e.set_consent("ann", "analytics", 2)
        with self.assertRaises(InvalidArgument):
            e.opt_out("ann", -1)
        with self.assertRaises(InvalidArgument):
            e.train_clusters(0)
        with self.assertRaises(OutOfRange):
            e.train_clusters(2 ** 32)
        with self.assertRaises(InvalidArgument):
            e.train(neighbours=-3)
        with self.assertRaises(OutOfRange):
            e.train(seed=2 ** 64)
        with self.assertRaises(OutOfRange):
            e.train(alpha=-1)  # -1 means "config" in C; refused here
        with self.assertRaises(InvalidArgument):
            e.clear_choice("ann", "sideways", "x")
        with self.assertRaises(OutOfRange):
            e.clear_choice("ann", 2 ** 40, "x")
        with self.assertRaises(InvalidArgument):
            e.clear_choice("ann", 9, "x")
        with self.assertRaises(OutOfRange):
            e.cluster_size(2 ** 31)
        with self.assertRaises(InvalidArgument):
            personalize.experiment_bucket("u", -1)
        with self.assertRaises(InvalidArgument):
            personalize.experiment_bucket("", 1)

    def test_many_exclusions(self):
        # big lists go through whole (no truncation to a C int)
        e = self.e
        e.track("ann", "jazz1")
        got = e.recommend("ann", 10, exclude=(f"x{i}" for i in range(20000)))
        self.assertEqual(len(got), 5)


class Rules(EngineTest):
    def test_hostile_yaml(self):
        for doc in ("rules: [", "a: &x [1]\nb: *x", "rules:\n  - {name: \"\\0\", kind: filter}",
                    "\xff", "rules: " + "[" * 200 + "]" * 200):
            with self.subTest(doc=doc[:20]):
                with self.assertRaises((personalize.ConfigError, InvalidArgument)):
                    self.e.load_rules(doc)
                with self.assertRaises((personalize.ConfigError, InvalidArgument)):
                    self.e.load_segments(doc)
        self.assertEqual(self.e.rules(), [])

    def test_surrogate_yaml(self):
        with self.assertRaises(InvalidArgument):
            self.e.load_rules("rules: []\n# \udc80")


if __name__ == "__main__":
    unittest.main()
