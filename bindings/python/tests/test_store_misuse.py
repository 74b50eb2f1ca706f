"""A store misused under a running engine, through Python: a deleted
journal is reported instead of taking writes no reopen finds, and a save
aimed at the journal is refused."""

import os
import shutil
import tempfile
import unittest

import personalize
from personalize import InvalidArgument, PersonalizeIOError


class StoreMisuse(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pz_pymisuse")
        self.journal = os.path.join(self.dir, "journal")
        self.yaml = (
            f"store:\n  journal: {self.journal}\n"
            f"  snapshot: {self.dir}/snap\n  fsync: never\n"
        )

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_deleted_journal_is_reported_and_a_save_recovers(self):
        with personalize.Engine.from_yaml(self.yaml) as e:
            for _ in range(5):
                e.track("ann", "i1")
            os.unlink(self.journal)
            for _ in range(5):
                try:
                    e.track("ann", "i1")
                except PersonalizeIOError:
                    pass
            with self.assertRaises(PersonalizeIOError) as cm:
                e.sync()
            self.assertIn("deleted or replaced", str(cm.exception))
            e.save()
        with personalize.Engine.from_yaml(self.yaml) as e:
            self.assertEqual(e.event_count("ann"), 10)

    def test_save_onto_the_journal_is_refused(self):
        with personalize.Engine.from_yaml(self.yaml) as e:
            e.track("ann", "i1")
            for path in (self.journal, os.path.join(self.dir, ".", "journal")):
                with self.assertRaises(InvalidArgument):
                    e.save(path)
            e.track("ann", "i1")
        with personalize.Engine.from_yaml(self.yaml) as e:
            self.assertEqual(e.event_count("ann"), 2)


if __name__ == "__main__":
    unittest.main()
