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


if __name__ == "__main__":
    unittest.main()
