"""Regressions of the binding's review: each test is a hole that was open."""

import copy
import ctypes
import datetime as dt
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import unittest

import personalize
from personalize import EngineClosed, InvalidArgument, OutOfRange, SparseVector
from personalize import _convert as cv
from personalize import engine as engine_module

from support import NOW, EngineTest, make_engine, stalling_clock


class LyingStr(str):
    """A str subclass whose methods lie about its characters."""

    def encode(self, *a, **k):
        return 42

    def __contains__(self, x):
        return False


class StrSubclasses(EngineTest):
    def test_a_lying_encode_is_not_used(self):
        # was: ctypes.ArgumentError ("wrong type") out of every text argument
        self.e.track(LyingStr("ann"), LyingStr("jazz1"))
        self.assertEqual(self.e.event_count("ann"), 1)
        self.assertEqual(personalize.feature_hash(LyingStr("genre=jazz")), personalize.feature_hash("genre=jazz"))

    def test_a_hidden_nul_is_still_refused(self):
        # was: "b\0c" stored as item "b" (C stops at the NUL)
        with self.assertRaises(InvalidArgument):
            self.e.put_item(LyingStr("b\0c"), [])
        with self.assertRaises(InvalidArgument):
            self.e.put_item("b", [LyingStr("genre=x\0y")])
        self.assertEqual(self.e.item_count(), 6)

    def test_paths(self):
        with tempfile.TemporaryDirectory() as tmp:
            # a str subclass path uses its characters
            self.e.save(LyingStr(os.path.join(tmp, "a.snap")))
            self.assertTrue(os.path.exists(os.path.join(tmp, "a.snap")))
            # a surrogate escape (an undecodable file name byte) reaches the
            # library as that byte; the library wants UTF-8 paths
            with self.assertRaises(InvalidArgument) as cm:
                self.e.save(os.path.join(tmp, "b\udcff.snap"))
            self.assertIn("UTF-8", cm.exception.message)
        # was: a bare UnicodeEncodeError
        with self.assertRaises(InvalidArgument):
            self.e.save("/tmp/\ud800.snap")

        class B(bytes):
            def __contains__(self, x):
                return False

        with self.assertRaises(InvalidArgument):
            self.e.save(B(b"/tmp/x\0y"))

    def test_yaml_buffers(self):
        self.e.load_rules(memoryview(b"rules: []"))
        with self.assertRaises(TypeError):  # not contiguous
            self.e.load_rules(memoryview(b"rules: []  ")[::2])


class Times(EngineTest):
    def test_datetimes_out_of_local_range(self):
        # was: ValueError "year 0 is out of range" from datetime.astimezone
        with self.assertRaises(OutOfRange):
            self.e.track("ann", "jazz1", ts=dt.datetime.min)
        with self.assertRaises(OutOfRange):
            self.e.set_attribute("ann", "t", dt.datetime.min)
        with self.assertRaises(OutOfRange):  # the library's own check
            self.e.track("ann", "jazz1", ts=dt.datetime.max)

    def test_c_type_bounds_come_from_ctypes(self):
        self.assertEqual(cv.SIZE, (0, 2 ** (8 * ctypes.sizeof(ctypes.c_size_t)) - 1))
        self.assertEqual(cv.INT32, (-(2 ** (8 * ctypes.sizeof(ctypes.c_int) - 1)), 2 ** (8 * ctypes.sizeof(ctypes.c_int) - 1) - 1))
        with self.assertRaises(OutOfRange):
            self.e.recommend("ann", 3, offset=cv.SIZE[1] + 1)


class Copies(unittest.TestCase):
    def test_vector_copy_is_refused(self):
        # was: copy.copy() shared the pz_svec; both copies freed it (crash)
        v = SparseVector().add_feature("genre=jazz")
        for f in (copy.copy, copy.deepcopy, pickle.dumps):
            with self.subTest(f=f.__name__):
                with self.assertRaises(TypeError):
                    f(v)
        self.assertEqual(len(v), 1)
        del v

    def test_engine_copy_is_refused(self):
        with make_engine() as e:
            for f in (copy.copy, copy.deepcopy, pickle.dumps):
                with self.subTest(f=f.__name__):
                    with self.assertRaises(TypeError):
                        f(e)
            self.assertEqual(e.item_count(), 6)

    def test_objects_made_without_init(self):
        # was: AttributeError ('_h', '_lock')
        e = personalize.Engine.__new__(personalize.Engine)
        self.assertTrue(e.closed)
        with self.assertRaises(EngineClosed):
            e.item_count()
        e.close()
        del e
        v = SparseVector.__new__(SparseVector)
        with self.assertRaises(InvalidArgument):
            v.norm()
        self.assertEqual(len(v), 0)
        del v

    def test_unknown_enum_values_stay_ints(self):
        self.assertIs(engine_module._maybe_enum(personalize.ChoiceKind, 4), personalize.ChoiceKind.PIN)
        self.assertEqual(engine_module._maybe_enum(personalize.ChoiceKind, 99), 99)


class Finalizer(unittest.TestCase):
    def test_finalizer_does_not_wait_for_a_call_in_flight(self):
        clock, entered, release = stalling_clock()
        e = personalize.Engine(clock=clock)
        h = e._h
        t = threading.Thread(target=e.now, name="slow")
        t.start()
        self.assertTrue(entered.wait(10))
        h.close(wait=False)  # what __del__ does: returns at once
        self.assertTrue(e.closed)
        self.assertIsNotNone(h.ptr)  # not freed under the running call
        with self.assertRaises(EngineClosed):
            e.item_count()
        release.set()
        t.join(10)
        self.assertIsNone(h.ptr)  # the last call out freed it
        e.close()  # still idempotent

    def test_exit_with_a_daemon_thread_stuck_in_a_call(self):
        code = """
import threading, personalize
stuck = threading.Event()
def clock():
    if threading.current_thread().name == "stuck":
        stuck.set()
        threading.Event().wait()  # forever
    return 1700000000000
e = personalize.Engine(clock=clock)
threading.Thread(target=e.now, name="stuck", daemon=True).start()
stuck.wait(10)
print("exiting", flush=True)
"""
        env = dict(os.environ)
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
        self.assertIn("exiting", r.stdout)
        self.assertNotIn("Sanitizer", r.stderr)


if __name__ == "__main__":
    unittest.main()
