"""Normal use of each Engine method."""

import dataclasses
import datetime as dt
import os
import tempfile
import unittest

import personalize
from personalize import (ChoiceKind, ReasonCode, RecsFlag, RuleKind, Timestamp)

from support import DAY, NOW, EngineTest, fixed_clock, make_engine


class Opening(unittest.TestCase):
    def test_defaults(self):
        with personalize.Engine() as e:
            self.assertFalse(e.closed)
            self.assertEqual(e.item_count(), 0)
            self.assertEqual(e.profile_count(), 0)
        self.assertTrue(e.closed)

    def test_config_path_and_yaml_text(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "p.yaml")
            with open(p, "w") as f:
                f.write("events:\n  view: 1\n  buy: 7\n")
            with personalize.Engine(p) as e:
                e.track("u", "i", "buy")
                with self.assertRaises(personalize.NotFound):
                    e.track("u", "i", "purchase")
        with personalize.Engine.from_yaml("events: {view: 1, buy: 7}") as e:
            e.track("u", "i", "buy")
            self.assertEqual(e.event_count("u"), 1)

    def test_bad_config_gives_position(self):
        with self.assertRaises(personalize.ConfigError) as cm:
            personalize.Engine.from_yaml("decay:\n  half_lfe: 3d\n")
        self.assertIn("<string>:2:3", cm.exception.message)
        self.assertIn("half_lfe", str(cm.exception))
        self.assertEqual(cm.exception.code, -9)

    def test_missing_config_file(self):
        with self.assertRaises(personalize.PersonalizeIOError) as cm:
            personalize.Engine("/nonexistent/personalize.yaml")
        self.assertIsInstance(cm.exception, OSError)

    def test_yaml_text_passed_as_path_is_refused(self):
        with self.assertRaises(personalize.InvalidArgument):
            personalize.Engine("events:\n  view: 1\n")

    def test_clock(self):
        with personalize.Engine(clock=fixed_clock) as e:
            self.assertEqual(e.now(), NOW)
        with personalize.Engine(clock=lambda: dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)) as e:
            self.assertEqual(e.now(), 1577836800000)

    def test_failing_clock_does_not_crash(self):
        calls = []

        def clock():
            calls.append(1)
            if len(calls) > 1:
                raise RuntimeError("clock broke")
            return NOW

        import contextlib
        import io
        err = io.StringIO()
        with personalize.Engine(clock=clock) as e, contextlib.redirect_stderr(err):
            first = e.now()
            second = e.now()  # raises inside the callback: last good value
        self.assertEqual(second, first)
        self.assertIn("clock broke", err.getvalue())


class Catalogue(EngineTest):
    def test_put_count_remove(self):
        self.assertEqual(self.e.item_count(), 6)
        self.e.put_item("weighted", {"genre=jazz": 2.0, "mood=calm": 0.5})
        self.e.put_item("pairs", [("genre=jazz", 1.0)])
        self.e.put_item("bare")
        self.assertEqual(self.e.item_count(), 9)
        self.e.remove_item("bare")
        self.assertEqual(self.e.item_count(), 8)
        with self.assertRaises(personalize.NotFound):
            self.e.remove_item("bare")

    def test_iterables_and_generators(self):
        self.e.put_item("gen", (f for f in ["genre=jazz", "era=1950s"]))
        recs = self.e.similar_items("jazz3", 10)
        self.assertIn("gen", [r.item for r in recs])

    def test_popularity(self):
        self.e.track("u", "jazz1", "purchase", ts=NOW)
        score, events = self.e.popularity("jazz1")
        self.assertEqual(events, 1)
        self.assertAlmostEqual(score, 5.0, places=3)
        self.assertEqual(self.e.popularity("rock1"), (0.0, 0))


class Profiles(EngineTest):
    def test_track_and_interests(self):
        self.e.track("ann", "jazz1", "purchase")
        self.e.track("ann", "jazz2", "view", 2.0, ts=NOW - DAY)
        self.assertEqual(self.e.event_count("ann"), 2)
        self.assertEqual(self.e.profile_count(), 1)
        top = self.e.interests("ann", 2)
        self.assertEqual(top[0][0], "genre=jazz")
        self.assertGreater(top[0][1], top[1][1])
        self.assertEqual(len(self.e.interests("ann", 1)), 1)

    def test_track_with_datetime(self):
        self.e.track("ann", "jazz1", ts=dt.datetime(2023, 11, 1, tzinfo=dt.timezone.utc))
        events = self.e.export("ann")["events"]
        self.assertEqual(events[0]["ts"], 1698796800000)

    def test_attributes_dispatch_on_type(self):
        e = self.e
        e.set_attribute("ann", "name", "Ann")
        e.set_attribute("ann", "age", 31)
        e.set_attribute("ann", "score", 0.25)
        e.set_attribute("ann", "vip", True)
        e.set_attribute("ann", "since", Timestamp(1234))
        e.set_attribute("ann", "born", dt.datetime(1990, 1, 1, tzinfo=dt.timezone.utc))
        self.assertEqual(e.get_attribute("ann", "name"), "Ann")
        self.assertEqual(e.get_attribute("ann", "age"), 31.0)
        self.assertEqual(e.get_attribute("ann", "score"), 0.25)
        self.assertIs(e.get_attribute("ann", "vip"), True)
        since = e.get_attribute("ann", "since")
        self.assertIsInstance(since, Timestamp)
        self.assertEqual(since, 1234)
        self.assertEqual(e.get_attribute("ann", "born").to_datetime(),
                         dt.datetime(1990, 1, 1, tzinfo=dt.timezone.utc))
        attrs = e.export("ann")["attributes"]
        self.assertEqual(attrs["vip"], {"type": "bool", "value": True})
        self.assertEqual(attrs["since"]["type"], "timestamp")
        e.set_attribute("ann", "age", "thirty")  # replaces whatever type
        self.assertEqual(e.get_attribute("ann", "age"), "thirty")
        e.remove_attribute("ann", "age")
        with self.assertRaises(personalize.NotFound):
            e.get_attribute("ann", "age")
        with self.assertRaises(KeyError):  # NotFound is a KeyError too
            e.get_attribute("nobody", "age")

    def test_long_string_attribute_round_trips(self):
        value = "é" * 2000  # 4000 bytes: beyond the first buffer
        self.e.set_attribute("ann", "bio", value)
        self.assertEqual(self.e.get_attribute("ann", "bio"), value)

    def test_consent(self):
        self.assertTrue(self.e.consent("ann", "personalization"))
        self.assertFalse(self.e.consent("ann", "ads_sharing"))
        self.e.track("ann", "jazz1")
        self.e.set_consent("ann", "personalization", False)
        self.assertFalse(self.e.consent("ann", "personalization"))
        self.assertEqual(self.e.event_count("ann"), 0)
        with self.assertRaises(personalize.ConsentError) as cm:
            self.e.track("ann", "jazz1")
        self.assertEqual(cm.exception.code, -13)
        with self.assertRaises(personalize.NotFound):
            self.e.consent("ann", "telepathy")

    def test_export_erase(self):
        self.e.track("ann", "jazz1", "purchase")
        self.e.set_attribute("ann", "city", "Zürich")
        self.e.block("ann", item="rock1")
        doc = self.e.export("ann")
        self.assertEqual(doc["format"], "libpersonalize-export")
        self.assertEqual(doc["user"], "ann")
        self.assertEqual(doc["attributes"]["city"]["value"], "Zürich")
        self.assertEqual([ev["item"] for ev in doc["events"]], ["jazz1"])
        self.assertEqual(doc["choices"][0]["kind"], "block_item")
        self.e.erase("ann")
        with self.assertRaises(personalize.NotFound):
            self.e.export("ann")
        with self.assertRaises(personalize.NotFound):
            self.e.erase("ann")

    def test_merge(self):
        self.e.track("anon", "jazz1")
        self.e.track("ann", "rock1")
        self.e.merge("anon", "ann")
        self.assertEqual(self.e.event_count("ann"), 2)
        with self.assertRaises(personalize.NotFound):
            self.e.event_count("anon")
        with self.assertRaises(personalize.InvalidArgument):
            self.e.merge("ann", "ann")


class Ranking(EngineTest):
    def test_recommend_follows_interests_with_reasons(self):
        self.e.track("ann", "jazz1", "purchase")
        recs = self.e.recommend("ann", 3)
        self.assertEqual(len(recs), 3)
        self.assertNotIn("jazz1", [r.item for r in recs])  # seen
        top = recs[0]
        self.assertIn(top.item, ("jazz2", "jazz3"))
        self.assertEqual(top.reason.code, ReasonCode.CONTENT)
        self.assertIn("genre=jazz", top.reason.text)
        c = top.reason.contributions
        self.assertAlmostEqual(top.score, c.content + c.popularity + c.segment + c.cf, places=9)
        scores = [r.score for r in recs]
        self.assertEqual(scores, sorted(scores, reverse=True))

    def test_recommend_options(self):
        e = self.e
        e.track("ann", "jazz1", "purchase")
        self.assertIn("jazz1", [r.item for r in e.recommend("ann", 6, include_seen=True)])
        whole = [r.item for r in e.recommend("ann", 4)]
        self.assertEqual([r.item for r in e.recommend("ann", 2, offset=2)], whole[2:4])
        self.assertNotIn(whole[0], [r.item for r in e.recommend("ann", 5, exclude=[whole[0]])])
        self.assertEqual([r.item for r in e.recommend("ann", 5, restrict_to={"rock2"})], ["rock2"])
        self.assertEqual(e.recommend("ann", 5, restrict_to=[]), [])
        ctx = e.recommend("ann", 1, context={"genre=folk": 50.0}, diversity=0)
        self.assertEqual(ctx[0].item, "folk1")
        self.assertTrue(ctx[0].reason.flags & RecsFlag.CONTEXT)
        self.assertEqual(e.recommend("ann", 1, context=["genre=folk"])[0].item, "folk1")
        terse = e.recommend("ann", 2, terse=True)
        self.assertEqual([r.reason.text for r in terse], ["", ""])
        self.assertEqual(len(e.recommend("ann", 3, diversity=1.0)), 3)

    def test_newcomer_gets_popularity(self):
        self.e.track("x", "rock2", "purchase")
        recs = self.e.recommend("newcomer", 1)
        self.assertEqual(recs[0].item, "rock2")
        self.assertEqual(recs[0].reason.code, ReasonCode.POPULAR)

    def test_similar_items(self):
        recs = self.e.similar_items("jazz1", 2)
        self.assertEqual(len(recs), 2)
        self.assertTrue(all(r.item.startswith("jazz") or r.item == "folk1" for r in recs))
        with self.assertRaises(personalize.NotFound):
            self.e.similar_items("nope", 2)


class Overrides(EngineTest):
    def setUp(self):
        super().setUp()
        self.e.track("ann", "jazz1", "purchase")

    def items(self, **kw):
        return [r.item for r in self.e.recommend("ann", 5, **kw)]

    def test_block_item_and_feature(self):
        self.e.block("ann", item="jazz2")
        self.assertNotIn("jazz2", self.items())
        self.e.block("ann", feature="genre=rock")
        self.assertFalse(any(i.startswith("rock") for i in self.items()))
        with self.assertRaises(TypeError):
            self.e.block("ann")
        with self.assertRaises(TypeError):
            self.e.block("ann", item="jazz2", feature="genre=rock")

    def test_pin_more_less_require(self):
        e = self.e
        e.pin("ann", "rock2", 0)
        recs = e.recommend("ann", 3)
        self.assertEqual(recs[0].item, "rock2")
        self.assertEqual(recs[0].reason.code, ReasonCode.PINNED)
        self.assertTrue(recs[0].reason.flags & RecsFlag.PINNED)
        e.clear_choice("ann", ChoiceKind.PIN, "rock2")
        e.less("ann", "genre=jazz")
        moved = [r for r in e.recommend("ann", 5) if r.item.startswith("jazz")]
        self.assertTrue(moved and all(r.reason.flags & RecsFlag.LESS for r in moved))
        self.assertAlmostEqual(moved[0].reason.person_factor, 0.5)
        e.more("ann", "genre=folk")
        folk = [r for r in e.recommend("ann", 5) if r.item == "folk1"][0]
        self.assertTrue(folk.reason.flags & RecsFlag.MORE)
        e.adjust("ann", "genre=folk", 2.0)
        folk = [r for r in e.recommend("ann", 5) if r.item == "folk1"][0]
        self.assertAlmostEqual(folk.reason.person_factor, 2.0)
        e.require("ann", "mood=upbeat")
        self.assertEqual(sorted(self.items()), ["jazz2", "rock1"])

    def test_choices_list_and_clear(self):
        e = self.e
        e.block("ann", item="rock1", expires=NOW + DAY)
        e.pin("ann", "folk1")
        e.more("ann", "genre=jazz")
        e.opt_out("ann")
        got = e.choices("ann")
        self.assertEqual([c.kind for c in got],
                         [ChoiceKind.BLOCK_ITEM, ChoiceKind.PIN, ChoiceKind.ADJUST, ChoiceKind.OPT_OUT])
        self.assertEqual(got[0].expires, NOW + DAY)
        self.assertEqual(got[0].created, NOW)
        self.assertIsNone(got[1].position)
        self.assertEqual(got[2].factor, 1.5)
        self.assertEqual(got[3].target, "")
        self.assertEqual(len(e.choices("ann", now=NOW + 2 * DAY)), 3)  # block expired
        e.clear_choice("ann", "block_item", "rock1")
        with self.assertRaises(personalize.NotFound):
            e.clear_choice("ann", "block_item", "rock1")
        e.clear_choices("ann")
        self.assertEqual([c.kind for c in e.choices("ann")], [ChoiceKind.OPT_OUT])

    def test_opt_out(self):
        self.assertFalse(self.e.opted_out("ann"))
        self.e.opt_out("ann")
        self.assertTrue(self.e.opted_out("ann"))
        recs = self.e.recommend("ann", 2)
        self.assertTrue(all(r.reason.flags & RecsFlag.NOT_PERSONALIZED for r in recs))
        self.e.opt_out("ann", False)
        self.assertFalse(self.e.opted_out("ann"))

    def test_not_interested(self):
        self.e.not_interested("ann", "jazz2")
        self.assertNotIn("jazz2", self.items())
        self.assertEqual(self.e.export("ann")["events"][-1]["type"], "dislike")

    def test_business_rules(self):
        e = self.e
        e.load_rules("rules:\n"
                     "  - {name: no-rock, kind: filter, match: {features: [genre=rock]}}\n"
                     "  - {name: folk-up, kind: boost, factor: 3, match: {items: [folk1]}}\n")
        self.assertEqual(e.rules(), [("no-rock", RuleKind.FILTER), ("folk-up", RuleKind.BOOST)])
        recs = e.recommend("ann", 5)
        self.assertFalse(any(r.item.startswith("rock") for r in recs))
        folk = [r for r in recs if r.item == "folk1"][0]
        self.assertEqual(folk.reason.rule, "folk-up")
        self.assertAlmostEqual(folk.reason.rules_factor, 3.0)
        with self.assertRaises(personalize.ConfigError):
            e.load_rules("rules:\n  - {name: x, kind: sideways}\n")
        self.assertEqual(len(e.rules()), 2)  # kept
        e.load_rules("")
        self.assertEqual(e.rules(), [])


SEGMENTS = """
segments:
  - name: adults
    rule: {attr: age, gte: 18}
  - name: jazz_fans
    rule: {count: purchase, gte: 1}
experiments:
  - name: layout
    seed: 7
    variants: [{name: a, weight: 1}, {name: b, weight: 1}]
  - name: nobody
    seed: 8
    coverage: 0
    variants: [{name: a, weight: 1}]
"""


class Segments(EngineTest):
    def test_segments(self):
        e = self.e
        e.load_segments(SEGMENTS)
        e.set_attribute("ann", "age", 40)
        e.track("ann", "jazz1", "purchase")
        e.set_attribute("bob", "age", 12)
        self.assertEqual(e.segments_of("ann"), ["adults", "jazz_fans"])
        self.assertEqual(e.segments_of("bob"), [])
        self.assertTrue(e.in_segment("ann", "adults"))
        self.assertFalse(e.in_segment("bob", "adults"))
        self.assertEqual(e.segment_members("adults"), ["ann"])
        self.assertEqual(e.segment_counts(), {"adults": 1, "jazz_fans": 1})
        e.refresh_segments()
        with self.assertRaises(personalize.NotFound):
            e.in_segment("ann", "martians")
        with self.assertRaises(personalize.ConfigError) as cm:
            e.load_segments("segments:\n  - {name: x, rule: {attr: a, gte_: 1}}\n")
        self.assertIn("segments:", cm.exception.message)

    def test_experiments(self):
        e = self.e
        e.load_segments(SEGMENTS)
        variants = {e.assign("layout", f"user{i}") for i in range(50)}
        self.assertEqual(variants, {"a", "b"})
        self.assertEqual(e.assign("layout", "user1"), e.assign("layout", "user1"))
        self.assertIsNone(e.assign("nobody", "user1"))
        u = personalize.experiment_bucket("user1", 7)
        self.assertTrue(0 <= u < 1)
        self.assertEqual(e.assign("layout", "user1"), "a" if u < 0.5 else "b")
        with self.assertRaises(personalize.NotFound):
            e.assign("nope", "user1")


class Clusters(EngineTest):
    def test_train_and_describe(self):
        e = self.e
        for i in range(6):
            e.track(f"j{i}", "jazz1", "purchase")
            e.track(f"r{i}", "rock2", "purchase")
        e.train_clusters(2, seed=1)
        self.assertEqual(e.cluster_count(), 2)
        cj, cr = e.cluster_of("j0"), e.cluster_of("r0")
        self.assertNotEqual(cj, cr)
        self.assertIsNone(e.cluster_of("nobody"))
        self.assertEqual(e.cluster_size(cj), 6)
        feats = [f for f, _ in e.describe_cluster(cj, 3)]
        self.assertIn("genre=jazz", feats)
        self.assertIsNone(e.cluster_name(cj))
        e.set_cluster_name(cj, "jazzers")
        self.assertEqual(e.cluster_name(cj), "jazzers")
        e.set_cluster_name(cj, None)
        self.assertIsNone(e.cluster_name(cj))
        with self.assertRaises(personalize.NotFound):
            e.cluster_size(99)
        with self.assertRaises(personalize.OutOfRange):
            e.train_clusters(1000)


class CollaborativeFiltering(EngineTest):
    def fill(self):
        for i in range(8):
            self.e.track(f"u{i}", "jazz1", "purchase")
            self.e.track(f"u{i}", "rock2", "purchase")
        self.e.track("ann", "jazz1", "purchase")

    def test_knn(self):
        self.assertIsNone(self.e.cf_stats())
        self.fill()
        self.e.train("knn")
        st = self.e.cf_stats()
        self.assertEqual(st.algorithm, personalize.CFAlgorithm.KNN)
        self.assertEqual(st.users, 9)
        self.assertEqual(st.trained_at_ms, NOW)
        self.assertEqual(self.e.similar_items("jazz1", 1)[0].item, "rock2")
        recs = self.e.recommend("ann", 6)
        rock = [r for r in recs if r.item == "rock2"][0]
        self.assertGreater(rock.reason.contributions.cf, 0)
        if rock.reason.code == ReasonCode.CF:
            self.assertEqual(rock.reason.because[0].item, "jazz1")
            self.assertGreater(rock.reason.because[0].share, 0)
        with self.assertRaises(personalize.NotFound):
            self.e.cf_loss()

    def test_als_loss(self):
        self.fill()
        self.e.train(personalize.CFAlgorithm.ALS, factors=4, iterations=3, seed=1, threads=1)
        loss = self.e.cf_loss()
        self.assertEqual(len(loss), 3)
        self.assertEqual(self.e.cf_stats().iterations, 3)

    def test_train_without_data(self):
        with self.assertRaises(personalize.NotFound):
            self.e.train("knn")
        with self.assertRaises(personalize.InvalidArgument):
            self.e.train("sideways")

    def test_import_ratings(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "r.csv")
            with open(p, "w") as f:
                f.write("u1,jazz1,5\nu1,jazz2,4\nu2,rock1,1\n")
            rows = self.e.import_ratings(p, format="csv", event="rating", now=NOW)
            self.assertEqual(rows, 3)
            self.assertEqual(self.e.event_count("u1"), 2)
            bad = os.path.join(d, "bad.csv")
            with open(bad, "w") as f:
                f.write("this is not\ta ratings file at all\n")
            with self.assertRaises(personalize.FormatError):
                self.e.import_ratings(bad, format="csv")
            with self.assertRaises(personalize.PersonalizeIOError):
                self.e.import_ratings(os.path.join(d, "missing.csv"))


def read_one_by_one(r):
    """A pz_recs list read as the binding read it before 1.1: the single
    accessors, item by item, and the dataclasses' own __init__."""
    from personalize import Because, Contributions, Reason, Recommendation
    from personalize._lib import lib

    def text(b):
        return b.decode("utf-8", "surrogateescape")

    out = []
    for i in range(lib.pz_recs_count(r)):
        because = []
        for j in range(3):
            b = lib.pz_recs_because(r, i, j)
            if b is None:
                break
            because.append(Because(text(b), lib.pz_recs_because_share(r, i, j)))
        code = lib.pz_recs_reason_code(r, i)
        rule = lib.pz_recs_rule(r, i)
        reason = Reason(
            code=ReasonCode(code) if code in ReasonCode._value2member_map_ else code,
            text=text(lib.pz_recs_reason(r, i)),
            flags=RecsFlag(lib.pz_recs_flags(r, i)),
            person_factor=lib.pz_recs_factor(r, i, 1),
            rules_factor=lib.pz_recs_factor(r, i, 2),
            rule=None if rule is None else text(rule),
            contributions=Contributions(*(lib.pz_recs_contribution(r, i, s) for s in (1, 2, 3, 4))),
            because=tuple(because),
        )
        out.append(Recommendation(text(lib.pz_recs_item(r, i)), lib.pz_recs_score(r, i), reason))
    return out


class BulkReading(EngineTest):
    """recommend() and similar_items() read each list with one
    pz_recs_entries call; the results are those of the single accessors."""

    def setUp(self):
        super().setUp()
        e = self.e
        for i in range(6):
            e.track(f"u{i}", "jazz1", "purchase")
            e.track(f"u{i}", "rock1", "purchase")
            e.track(f"u{i}", "rock2" if i % 2 else "folk1", "purchase")
        e.track("ann", "jazz1", "purchase")
        e.track("ann", "rock1", "view")
        e.train("knn")
        e.load_rules("rules:\n"
                     "  - {name: rock-up, kind: boost, factor: 2, match: {features: [genre=rock]}}\n"
                     "  - {name: calm-down, kind: bury, factor: 0.5, match: {features: [mood=calm]}}\n"
                     "  - {name: pick, kind: pin, item: jazz3, position: 2}\n")
        e.more("ann", "mood=upbeat")
        e.less("ann", "era=1970s")

    def fresh_list(self, user, k, similar=False):
        from ctypes import byref
        from personalize._lib import lib, recs_p
        r = recs_p()
        with self.e._h as h:
            if similar:
                rc = lib.pz_similar_items(byref(r), h, user.encode(), k)
            else:
                rc = lib.pz_recommend(byref(r), h, user.encode(), k, None)
        self.assertEqual(rc, 0)
        self.addCleanup(lib.pz_recs_free, r)
        return r

    def assert_same(self, got, want):
        self.assertEqual(got, want)
        for g, w in zip(got, want):  # equal, and alike in every other way
            for a, b in [(g, w), (g.reason, w.reason), (g.reason.contributions, w.reason.contributions)]:
                self.assertIs(type(a), type(b))
                self.assertEqual(list(vars(a).items()), list(vars(b).items()))
                self.assertEqual(hash(a), hash(b))
                self.assertEqual(repr(a), repr(b))
            self.assertIs(type(g.reason.code), type(w.reason.code))
            self.assertIs(type(g.reason.flags), type(w.reason.flags))
            for gb, wb in zip(g.reason.because, w.reason.because):
                self.assertEqual(vars(gb), vars(wb))
            with self.assertRaises(dataclasses.FrozenInstanceError):
                g.reason.text = "changed"

    def test_recommend_equals_the_single_accessors(self):
        got = self.e.recommend("ann", 6)
        want = read_one_by_one(self.fresh_list("ann", 6))
        self.assert_same(got, want)
        # the list exercises every field, or the comparison proves little
        self.assertTrue(any(len(r.reason.because) >= 2 for r in got))
        self.assertTrue(any(r.reason.rule == "pick" and r.reason.code == ReasonCode.EDITORIAL for r in got))
        flags = RecsFlag(0)
        for r in got:
            flags |= r.reason.flags
        for f in (RecsFlag.MORE, RecsFlag.LESS, RecsFlag.BOOSTED, RecsFlag.BURIED, RecsFlag.EDITORIAL):
            self.assertTrue(flags & f, f)
        self.assertTrue(any(r.reason.person_factor != 1 for r in got))
        self.assertTrue(any(r.reason.rules_factor != 1 for r in got))
        self.assertTrue(all(r.reason.text for r in got))

    def test_similar_items_and_terse_equal_the_single_accessors(self):
        self.assert_same(self.e.similar_items("jazz1", 4), read_one_by_one(self.fresh_list("jazz1", 4, similar=True)))
        terse = self.e.recommend("ann", 6, terse=True)
        self.assertTrue(terse and all(r.reason.text == "" and r.reason.because == () for r in terse))
        self.assertEqual([r.item for r in terse], [r.item for r in self.e.recommend("ann", 6)])

    def test_empty_list(self):
        self.assertEqual(self.e.recommend("ann", 5, restrict_to=[]), [])


class Persistence(EngineTest):
    def test_save_and_load(self):
        self.e.track("ann", "jazz1", "purchase")
        self.e.set_attribute("ann", "age", 40)
        self.e.block("ann", item="rock1")
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "snap.pz")
            self.e.save(p)
            with personalize.Engine.load(p, clock=fixed_clock) as e2:
                self.assertEqual(e2.item_count(), 6)
                self.assertEqual(e2.get_attribute("ann", "age"), 40.0)
                self.assertEqual(e2.export("ann")["choices"], self.e.export("ann")["choices"])
                e2.sync()  # no journal: nothing to do
            with personalize.Engine.load(p) as e3:
                self.assertEqual(e3.event_count("ann"), 1)
            with self.assertRaises(personalize.ConfigError):
                personalize.Engine.load(p, yaml="hashing: {seed: 5}")
            junk = os.path.join(d, "junk.pz")
            with open(junk, "wb") as f:
                f.write(b"not a snapshot at all" * 10)
            with self.assertRaises(personalize.FormatError):
                personalize.Engine.load(junk)
            with self.assertRaises(personalize.PersonalizeIOError):
                personalize.Engine.load(os.path.join(d, "missing.pz"))
            with self.assertRaises(personalize.PersonalizeIOError):
                self.e.save(os.path.join(d, "no", "such", "dir", "x.pz"))
        with self.assertRaises(personalize.InvalidArgument):
            self.e.save()  # no store.snapshot configured


class SparseVectors(unittest.TestCase):
    def test_vector_operations(self):
        with make_engine() as e:
            a = e.vector().add_feature("genre=jazz", 2.0).add_feature("mood=calm")
            b = personalize.SparseVector().add_feature("genre=jazz")
        self.assertEqual(len(a), 2)
        self.assertAlmostEqual(a.dot(b), 2.0)
        self.assertAlmostEqual(a.norm(), 5 ** 0.5)
        self.assertAlmostEqual(a.cosine(b), 2 / 5 ** 0.5)
        idx, sign = personalize.feature_hash("genre=jazz")
        entries = a.entries()
        self.assertEqual(dict(entries)[idx], 2.0 * sign)
        self.assertEqual(sorted(i for i, _ in entries), [i for i, _ in entries])
        self.assertEqual(a.top(1), [max(entries, key=lambda p: (p[1], -p[0]))])
        self.assertEqual(len(a.top(10)), 2)
        a.add(b, -2.0)
        self.assertEqual(len(a), 1)
        a.scale(0)
        self.assertEqual(len(a), 0)
        with self.assertRaises(personalize.OutOfRange):
            personalize.feature_hash("genre=jazz", bits=40)


class Errors(unittest.TestCase):
    def test_hierarchy(self):
        cases = {
            personalize.InternalError: (RuntimeError, -1),
            personalize.OutOfMemory: (MemoryError, -2),
            personalize.InvalidArgument: (ValueError, -3),
            personalize.NotFound: (KeyError, -4),
            personalize.OutOfRange: (ValueError, -7),
            personalize.ConfigError: (ValueError, -9),
            personalize.PersonalizeIOError: (OSError, -10),
            personalize.FormatError: (ValueError, -11),
            personalize.CorruptError: (ValueError, -12),
            personalize.TypeMismatch: (TypeError, -14),
        }
        for cls, (base, code) in cases.items():
            exc = cls("detail")
            self.assertIsInstance(exc, personalize.PersonalizeError)
            self.assertIsInstance(exc, base)
            self.assertEqual(exc.code, code)
            self.assertEqual(exc.status, personalize.strerror(code))
        self.assertTrue(issubclass(personalize.EngineClosed, personalize.InvalidArgument))
        self.assertEqual(personalize.strerror(-2), "out of memory")
        self.assertEqual(personalize.strerror(12345), "unknown status code")

    def test_message_comes_from_errmsg(self):
        with make_engine() as e:
            with self.assertRaises(personalize.NotFound) as cm:
                e.track("ann", "jazz1", "vew")
        self.assertIn("vew", cm.exception.message)
        self.assertEqual(cm.exception.code, -4)
        self.assertIn("vew", str(cm.exception))

    def test_type_mismatch(self):
        with make_engine() as e:
            e.set_attribute("ann", "age", 3)
            # the binding asks for the stored type first, so a mismatch can
            # only come from the C getters; check the class maps anyway
            from personalize import errors
            self.assertIsInstance(errors.error_for(-14, "x"), TypeError)


if __name__ == "__main__":
    unittest.main()
