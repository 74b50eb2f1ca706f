"""Closing, garbage collection and threads."""

import gc
import threading
import time
import unittest
import weakref

import personalize
from personalize import EngineClosed

from support import NOW, make_engine, stalling_clock


class Closing(unittest.TestCase):
    def test_use_after_close_raises(self):
        e = make_engine()
        e.track("ann", "jazz1")
        e.close()
        self.assertTrue(e.closed)
        calls = [
            lambda: e.track("ann", "jazz1"),
            lambda: e.recommend("ann", 3),
            lambda: e.export("ann"),
            lambda: e.item_count(),
            lambda: e.now(),
            lambda: e.save("/tmp/never-written.pz"),
            lambda: e.vector(),
            lambda: e.rules(),
            lambda: e.segments_of("ann"),
        ]
        for call in calls:
            with self.assertRaises(EngineClosed) as cm:
                call()
            self.assertIn("closed", str(cm.exception))
            self.assertIsInstance(cm.exception, ValueError)

    def test_use_after_with_exit(self):
        with make_engine() as e:
            e.track("ann", "jazz1")
        with self.assertRaises(EngineClosed):
            e.recommend("ann", 1)
        with self.assertRaises(EngineClosed):
            with e:
                pass

    def test_double_close(self):
        e = make_engine()
        e.close()
        e.close()
        with make_engine() as e2:
            e2.close()  # closing inside the with block, then __exit__ again
        self.assertTrue(e2.closed)

    def test_failed_open_leaves_a_safe_object(self):
        with self.assertRaises(personalize.ConfigError):
            personalize.Engine.from_yaml("nonsense: 1")
        gc.collect()  # __del__ of the half-built object must not crash

    def test_results_outlive_a_collected_engine(self):
        e = make_engine()
        e.track("ann", "jazz1", "purchase")
        e.block("ann", item="rock1")
        recs = e.recommend("ann", 3)
        sims = e.similar_items("jazz1", 2)
        choices = e.choices("ann")
        export = e.export("ann")
        interests = e.interests("ann", 3)
        vec = e.vector().add_feature("genre=jazz")
        ref = weakref.ref(e)
        del e
        gc.collect()
        self.assertIsNone(ref())
        # plain Python copies: still readable and intact
        self.assertEqual(len(recs), 3)
        self.assertTrue(recs[0].reason.text.startswith("matches your interest"))
        self.assertEqual(len(sims), 2)
        self.assertEqual(choices[0].target, "rock1")
        self.assertEqual(export["user"], "ann")
        self.assertEqual(interests[0][0], "genre=jazz")
        self.assertEqual(len(vec), 1)  # a vector may outlive its engine
        self.assertAlmostEqual(vec.norm(), 1.0)

    def test_engine_collected_without_close(self):
        for _ in range(20):
            e = make_engine()
            e.track("ann", "jazz1")
        del e
        gc.collect()


class Threads(unittest.TestCase):
    def test_close_waits_for_a_call_in_flight(self):
        clock, entered, release = stalling_clock()
        e = personalize.Engine(clock=clock)
        results = {}

        def slow():
            try:
                results["now"] = e.now()  # blocks inside the C call
            except BaseException as exc:  # noqa: BLE001
                results["now"] = exc

        t = threading.Thread(target=slow, name="slow")
        t.start()
        self.assertTrue(entered.wait(10))
        # other calls still run while one is in flight: no global lock
        self.assertEqual(e.item_count(), 0)
        closer = threading.Thread(target=e.close)
        closer.start()
        closer.join(0.3)
        self.assertTrue(closer.is_alive(), "close() returned while a call was in flight")
        with self.assertRaises(EngineClosed):  # closing: no new calls
            e.item_count()
        release.set()
        t.join(10)
        closer.join(10)
        self.assertFalse(closer.is_alive())
        self.assertEqual(results["now"], NOW)
        self.assertTrue(e.closed)

    def test_close_from_inside_a_call_is_refused(self):
        box = {}

        def clock():
            if "e" in box and "err" not in box:
                try:
                    box["e"].close()
                except RuntimeError as exc:
                    box["err"] = exc
            return NOW

        import contextlib
        import io
        with contextlib.redirect_stderr(io.StringIO()):
            e = personalize.Engine(clock=clock)
            box["e"] = e
            e.now()
        self.assertIsInstance(box.get("err"), RuntimeError)
        self.assertFalse(e.closed)
        e.close()

    def test_close_while_threads_hammer(self):
        e = make_engine()
        errors, counts = [], []
        start = threading.Barrier(9)

        def work(n):
            done = 0
            start.wait()
            try:
                while True:
                    user = f"u{n}"
                    e.track(user, "jazz1" if n % 2 else "rock1")
                    e.recommend(user, 3)
                    e.export(user)
                    e.segments_of(user)
                    done += 1
            except EngineClosed:
                counts.append(done)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        start.wait()
        time.sleep(0.3)
        e.close()
        for t in threads:
            t.join(30)
        self.assertEqual(errors, [])
        self.assertEqual(len(counts), 8)
        self.assertTrue(all(c > 0 for c in counts), counts)

    def test_shared_vector_between_threads(self):
        v = personalize.SparseVector()
        w = personalize.SparseVector().add_feature("a=b")

        def work():
            for i in range(300):
                v.add_feature(f"f={i % 50}")
                v.dot(w)
                w.dot(v)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(len(v), 50)


if __name__ == "__main__":
    unittest.main()
