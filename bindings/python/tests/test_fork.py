"""os.fork() after an engine is open (pre-fork servers): the child's calls
raise ForkError, close() in the child neither hangs nor touches the
parent's files, and the parent's acknowledged writes all survive."""

import os
import shutil
import tempfile
import threading
import unittest

import personalize
from personalize import ForkError

HAVE_FORK = hasattr(os, "fork")


def child_status(fn):
    """Run fn in a forked child; its exit status (0: it returned True)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            import signal

            signal.alarm(20)  # a hang fails the test instead of stalling it
            code = 0 if fn() else 2
        except BaseException:  # noqa: BLE001 - any escape is a failure
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


@unittest.skipUnless(HAVE_FORK, "no os.fork on this platform")
class Fork(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pz_pyfork")
        self.yaml = (
            "profile:\n  history_limit: 1000000\n"
            f"store:\n  journal: {self.dir}/journal\n  snapshot: {self.dir}/snap\n  fsync: never\n"
        )

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def reopen_count(self, user):
        with personalize.Engine.from_yaml(self.yaml) as e:
            try:
                return e.event_count(user)
            except personalize.NotFound:
                return 0

    def test_child_calls_raise_fork_error(self):
        e = personalize.Engine.from_yaml(self.yaml)
        for _ in range(10):
            e.track("ann", "i1")

        def child():
            refused = 0
            for call in (
                lambda: e.track("kid", "i1"),
                lambda: e.recommend("ann", 3),
                lambda: e.sync(),
                lambda: e.track_many([("kid", "i1")]),
            ):
                try:
                    call()
                except ForkError as exc:
                    refused += "fork" in str(exc)
            e.close()  # frees the copy: no hang, no write to the parent's files
            with personalize.Engine() as mine:  # an engine of its own works
                mine.track("kid", "i1")
            return refused == 4

        self.assertEqual(child_status(child), 0)
        for _ in range(10):
            e.track("ann", "i1")
        e.close()
        self.assertEqual(self.reopen_count("ann"), 20)
        self.assertEqual(self.reopen_count("kid"), 0)

    def test_fork_while_threads_are_in_calls(self):
        e = personalize.Engine.from_yaml(self.yaml)
        stop = threading.Event()
        done = [0, 0]

        def work(i):
            while not stop.is_set():
                e.track(f"w{i}", "i1")
                done[i] += 1
                e.recommend(f"w{i}", 3)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()

        def child():
            try:
                e.track("kid", "i1")
                return False
            except ForkError:
                pass
            e.close()  # the calls in flight at the fork never end here
            return True

        try:
            for _ in range(5):
                self.assertEqual(child_status(child), 0)
        finally:
            stop.set()
            for t in threads:
                t.join()
        e.close()
        self.assertEqual(self.reopen_count("w0"), done[0])
        self.assertEqual(self.reopen_count("w1"), done[1])
        self.assertEqual(self.reopen_count("kid"), 0)


if __name__ == "__main__":
    unittest.main()
