"""Finding the library: environment variable, package directory, version."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import personalize

PKG = os.path.dirname(os.path.abspath(personalize.__file__))
LIB = personalize._lib.lib._name


def run_python(code, env_update, cwd=None, pythonpath=None):
    env = dict(os.environ)
    env.pop("PERSONALIZE_LIBRARY", None)
    env.update(env_update)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=60)


class Loading(unittest.TestCase):
    def test_env_var_with_missing_file_is_a_clear_import_error(self):
        r = run_python("import personalize", {"PERSONALIZE_LIBRARY": "/nonexistent/libpersonalize.so.1"},
                       pythonpath=os.path.dirname(PKG))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("ImportError", r.stderr)
        self.assertIn("PERSONALIZE_LIBRARY", r.stderr)
        self.assertIn("/nonexistent/libpersonalize.so.1", r.stderr)

    def test_library_next_to_the_package_is_found(self):
        with tempfile.TemporaryDirectory() as d:
            shutil.copytree(PKG, os.path.join(d, "personalize"),
                            ignore=shutil.ignore_patterns("__pycache__", "*.so*"))
            shutil.copy(LIB, os.path.join(d, "personalize", "libpersonalize.so.1"))
            r = run_python("import personalize; print(personalize._lib.lib._name)", {}, pythonpath=d)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.strip(), os.path.join(d, "personalize", "libpersonalize.so.1"))

    def import_with_version(self, number):
        """Import the package on a fake library of that version number."""
        code = (
            "import ctypes\n"
            "class Fake:\n"
            "    _name = 'fake.so'\n"
            "    def __init__(self, *a, **k):\n"
            f"        def v(): return {number}\n"
            "        self.pz_version_number = v\n"
            "ctypes.CDLL = Fake\n"
            "try:\n"
            "    import personalize\n"
            "except ImportError as e:\n"
            "    print('IMPORTERROR', e)\n"
        )
        r = run_python(code, {"PERSONALIZE_LIBRARY": LIB}, pythonpath=os.path.dirname(PKG))
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_wrong_major_version_is_refused(self):
        out = self.import_with_version(20301)
        self.assertIn("IMPORTERROR", out)
        self.assertIn("2.3.1", out)
        self.assertIn("major version 1", out)

    def test_older_minor_version_is_refused(self):
        # pz_recs_entries came with 1.1: a 1.0 library lacks it
        out = self.import_with_version(10003)
        self.assertIn("IMPORTERROR", out)
        self.assertIn("1.0.3", out)
        self.assertIn("needs 1.1 or later", out)
        # a later 1.x passes the version check (and fails later, on the fake's
        # missing symbols, with the binding's own message)
        out = self.import_with_version(10200)
        self.assertIn("missing symbol", out)

    def run_without_track_batch(self, number, code):
        """Run code on the real library, as libpersonalize of that version
        number without pz_track_batch (a 1.1 library, or a broken 1.2)."""
        prelude = (
            "import ctypes\n"
            "class Older(ctypes.CDLL):\n"
            "    def __getattr__(self, name):\n"
            "        if name == 'pz_track_batch':\n"
            "            raise AttributeError(name)\n"
            "        if name == 'pz_version_number':\n"
            f"            return lambda: {number}\n"
            "        return super().__getattr__(name)\n"
            "ctypes.CDLL = Older\n"
        )
        r = run_python(prelude + code, {"PERSONALIZE_LIBRARY": LIB}, pythonpath=os.path.dirname(PKG))
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_a_1_1_library_loads_and_track_many_names_the_version_it_needs(self):
        # pz_track_batch came with 1.2: a 1.1 library lacks it, and only
        # track_many needs it
        out = self.run_without_track_batch(10104, (
            "import personalize\n"
            "from personalize import _lib\n"
            "print('MISSING', sorted(_lib.MISSING))\n"
            "e = personalize.Engine()\n"
            "e.put_item('a', ['x=1'])\n"
            "e.track('u', 'a')\n"
            "try:\n"
            "    e.track_many([('u', 'a')])\n"
            "except personalize.VersionError as exc:\n"
            "    print('VERSIONERROR', exc, exc.applied)\n"
            "print('EVENTS', e.event_count('u'), e.recommend('u', 1, include_seen=True)[0].item)\n"
        ))
        self.assertIn("MISSING ['pz_track_batch']", out)
        self.assertIn("VERSIONERROR", out)
        self.assertIn("Engine.track_many needs libpersonalize 1.2 or later (pz_track_batch)", out)
        self.assertIn("is libpersonalize 1.1.4 0\n", out)
        self.assertIn("EVENTS 1 a", out)

    def test_a_1_2_library_without_pz_track_batch_is_refused(self):
        out = self.run_without_track_batch(10200, (
            "try:\n"
            "    import personalize\n"
            "except ImportError as e:\n"
            "    print('IMPORTERROR', e)\n"
        ))
        self.assertIn("IMPORTERROR", out)
        self.assertIn("missing symbol pz_track_batch", out)


if __name__ == "__main__":
    unittest.main()
