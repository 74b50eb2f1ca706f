"""Shared fixtures of the personalize tests."""

import os
import threading
import unittest

import personalize

NOW = 1_700_000_000_000  # a fixed clock: 2023-11-14, in ms
DAY = 86_400_000

HERE = os.path.dirname(os.path.abspath(__file__))
# the repository root when the tests run from the source tree, else None
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
if not os.path.exists(os.path.join(REPO, "lib", "libpersonalize.map")):
    REPO = None

CATALOGUE = {
    "jazz1": ["genre=jazz", "mood=calm"],
    "jazz2": ["genre=jazz", "mood=upbeat"],
    "jazz3": ["genre=jazz", "era=1950s"],
    "rock1": ["genre=rock", "mood=upbeat"],
    "rock2": ["genre=rock", "era=1970s"],
    "folk1": ["genre=folk", "mood=calm"],
}


def fixed_clock():
    return NOW


def stalling_clock():
    """A fixed clock that holds a thread named "slow" inside the engine's
    call until released: returns (clock, entered, release) events."""
    entered, release = threading.Event(), threading.Event()

    def clock():
        if threading.current_thread().name == "slow":
            entered.set()
            release.wait(10)
        return NOW

    return clock, entered, release


def make_engine(yaml=None):
    """An engine with a fixed clock and a small music catalogue."""
    if yaml is None:
        e = personalize.Engine(clock=fixed_clock)
    else:
        e = personalize.Engine.from_yaml(yaml, clock=fixed_clock)
    for item, features in CATALOGUE.items():
        e.put_item(item, features)
    return e


class EngineTest(unittest.TestCase):
    """A test case with a fresh engine in self.e."""

    yaml = None

    def setUp(self):
        self.e = make_engine(self.yaml)
        self.addCleanup(self.e.close)
