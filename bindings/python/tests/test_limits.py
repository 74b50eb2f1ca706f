"""Host-chosen limits through Python: growth from untrusted ids stops at
the configured bound with LimitExceeded, and nothing is half-applied."""

import unittest

import personalize
from personalize import LimitExceeded


class Limits(unittest.TestCase):
    def test_profiles_and_items(self):
        with personalize.Engine.from_yaml("limits:\n  profiles: 2\n  items: 2\n") as e:
            e.track("a", "i1")
            e.track("b", "i2")
            with self.assertRaises(LimitExceeded):
                e.track("c", "i1")  # a third person
            with self.assertRaises(LimitExceeded):
                e.track("a", "i3")  # a third item
            self.assertEqual(e.profile_count(), 2)
            self.assertEqual(e.item_count(), 2)
            self.assertEqual(e.event_count("a"), 1)
            with self.assertRaises(LimitExceeded) as cm:
                e.track_many([("a", "i1"), ("c", "i1")])
            self.assertEqual(cm.exception.applied, 1)

    def test_choices(self):
        with personalize.Engine.from_yaml("limits:\n  choices: 2\n") as e:
            e.more("a", "genre=jazz")
            e.less("b", "genre=rock")
            with self.assertRaises(LimitExceeded):
                e.more("c", "genre=folk")  # a third choice
            e.less("a", "genre=jazz")  # the same target: replaced
            e.clear_choices("b")
            e.more("c", "genre=folk")
            self.assertEqual(len(e.choices("c")), 1)

    def test_documents(self):
        with personalize.Engine.from_yaml("limits:\n  document_bytes: 1024\n") as e:
            with self.assertRaises(LimitExceeded):
                e.load_rules("rules: []\n" + "#" * 2000 + "\n")


if __name__ == "__main__":
    unittest.main()
