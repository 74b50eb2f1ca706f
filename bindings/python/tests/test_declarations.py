"""The ctypes declaration table matches the library's exports."""

import os
import re
import unittest

import personalize
from personalize import _lib

from support import REPO


def exported_names(map_path):
    with open(map_path, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    names = set()
    for block in re.findall(r"global:(.*?)(?:local:|\})", text, flags=re.S):
        names.update(re.findall(r"\b(pz_[A-Za-z0-9_]+)\s*;", block))
    return names


class DeclarationTable(unittest.TestCase):
    @unittest.skipIf(REPO is None, "source tree (lib/libpersonalize.map) not present")
    def test_table_covers_exactly_the_version_script(self):
        names = exported_names(os.path.join(REPO, "lib", "libpersonalize.map"))
        self.assertGreater(len(names), 100)
        declared = set(_lib.DECLARATIONS)
        self.assertEqual(sorted(names - declared), [], "exported but not declared")
        self.assertEqual(sorted(declared - names), [], "declared but not exported")

    def test_table_has_120_functions(self):
        self.assertEqual(len(_lib.DECLARATIONS), 120)

    def test_every_function_has_its_types_set(self):
        for name, (restype, argtypes) in _lib.DECLARATIONS.items():
            fn = getattr(_lib.lib, name)
            self.assertIs(fn.restype, restype, name)
            self.assertEqual(list(fn.argtypes), list(argtypes), name)

    def test_version(self):
        self.assertEqual(personalize.library_version_number() // 10000, 1)
        self.assertGreaterEqual(personalize.library_version_number() // 100 % 100, _lib.MINOR)
        major, minor, patch = (int(x) for x in personalize.library_version().split("."))
        self.assertEqual(major * 10000 + minor * 100 + patch, personalize.library_version_number())
        self.assertEqual(_lib.VERSION, (major, minor, patch))
        # a library with every function newer than MINOR leaves none out
        if minor >= max(_lib.SINCE.values()):
            self.assertEqual(_lib.MISSING, frozenset())
        self.assertLessEqual(_lib.MISSING, set(_lib.SINCE))

    @unittest.skipIf(REPO is None, "source tree (lib/libpersonalize.map) not present")
    def test_functions_newer_than_minor_are_listed_with_their_version(self):
        # the version script's nodes PERSONALIZE_1.N for N > MINOR are the
        # functions an older library (still loaded) may lack
        with open(os.path.join(REPO, "lib", "libpersonalize.map"), encoding="utf-8") as f:
            text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
        newer = {}
        for minor, body in re.findall(r"PERSONALIZE_1\.(\d+)\s*\{(.*?)\}", text, flags=re.S):
            if int(minor) > _lib.MINOR:
                for name in re.findall(r"\b(pz_[A-Za-z0-9_]+)\s*;", body):
                    newer[name] = int(minor)
        self.assertIn("pz_track_batch", newer)
        self.assertEqual(_lib.SINCE, newer)


if __name__ == "__main__":
    unittest.main()
