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

    def test_table_has_119_functions(self):
        self.assertEqual(len(_lib.DECLARATIONS), 119)

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


if __name__ == "__main__":
    unittest.main()
