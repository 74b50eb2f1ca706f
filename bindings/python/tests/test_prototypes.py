"""The ctypes declaration table matches the C prototypes, type by type.

A wrong argtype (size_t declared as int, int64_t as double, a missing
pointer level, a struct with a field out of place) corrupts memory without
any error, so every ``PZ_API`` prototype of include/personalize/*.h is
parsed here and compared with ``_lib.DECLARATIONS``; every options/stats/entry
struct is compared field by field with its ctypes ``Structure``, and, when a
C compiler is available, sizes and offsets are checked against what the
compiler really lays out.
"""

import ctypes
import glob
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from personalize import _lib

from support import REPO

INCLUDE = os.path.join(REPO, "include") if REPO else None
HEADERS = sorted(glob.glob(os.path.join(INCLUDE, "personalize", "*.h"))) if INCLUDE else []

# scalar C types and their ctypes counterparts
SCALARS = {
    "void": None,
    "int": ctypes.c_int,
    "unsigned int": ctypes.c_uint,
    "unsigned": ctypes.c_uint,
    "size_t": ctypes.c_size_t,
    "int32_t": ctypes.c_int32,
    "uint32_t": ctypes.c_uint32,
    "int64_t": ctypes.c_int64,
    "uint64_t": ctypes.c_uint64,
    "double": ctypes.c_double,
    "char": ctypes.c_char,
}


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def read_headers():
    parts = []
    for h in HEADERS:
        with open(h, encoding="utf-8") as f:
            parts.append(f.read())
    return "\n".join(parts)


def parse_prototypes(text):
    """{name: (return type text, [parameter type texts])}."""
    text = strip_comments(text)
    text = re.sub(r"^\s*#.*$", " ", text, flags=re.M)
    out = {}
    for m in re.finditer(r"\bPZ_API\b([^;{]*?)\(([^;{]*)\)\s*;", text, flags=re.S):
        head = " ".join(m.group(1).split())
        hm = re.match(r"^(.*?)\b(pz_\w+)$", head)
        assert hm, f"cannot parse prototype head: {head!r}"
        ret, name = hm.group(1).strip(), hm.group(2)
        params = " ".join(m.group(2).split())
        if params in ("void", ""):
            plist = []
        else:
            plist = [drop_param_name(p.strip()) for p in params.split(",")]
        assert name not in out, f"{name} declared twice"
        out[name] = (ret, plist)
    return out


def drop_param_name(decl):
    """'const char *const *features' -> 'const char * const *'."""
    words = " ".join(decl.replace("*", " * ").split()).split(" ")
    type_words = {"const", "*", "unsigned", "signed", "int", "char", "double", "void"}
    type_words |= set(SCALARS)
    # a trailing identifier that cannot be part of the type is the name
    if len(words) > 1 and words[-1] not in type_words and re.match(r"^[A-Za-z_]\w*$", words[-1]):
        words = words[:-1]
    return " ".join(words)


def parse_structs(text):
    """{struct name: [(field name, field type text)]} of complete structs."""
    text = strip_comments(text)
    out = {}
    for m in re.finditer(r"typedef\s+struct\s+(\w+)\s*\{(.*?)\}\s*(\w+)\s*;", text, flags=re.S):
        tag, body, alias = m.groups()
        assert tag == alias, (tag, alias)
        fields = []
        for decl in body.split(";"):
            decl = " ".join(decl.replace("*", " * ").split())
            if not decl:
                continue
            fm = re.match(r"^(.*?)\b(\w+)(?: \[ ?(\d+) ?\])?$", decl.replace("[", " [").replace("]", " ]"))
            assert fm, f"cannot parse field {decl!r} of {tag}"
            ctext = fm.group(1).strip()
            if fm.group(3):  # an array: "double [4]"
                ctext += f" [{fm.group(3)}]"
            fields.append((fm.group(2), ctext))
        out[tag] = fields
    return out


def ctype_name(t):
    if t is None:
        return "None"
    return getattr(t, "__name__", repr(t))


class Mapper:
    """Maps a C type text to the ctypes type the binding must use."""

    def __init__(self):
        self.opaque = {
            "pz_engine": _lib.pz_engine,
            "pz_recs": _lib.pz_recs,
            "pz_interests": _lib.pz_interests,
            "pz_list": _lib.pz_list,
            "pz_svec": _lib.pz_svec,
            "pz_choices": _lib.pz_choices,
        }
        self.structs = structs_by_c_name()
        self.fnptrs = {"pz_alloc_fn": _lib.alloc_fn, "pz_clock_fn": _lib.clock_fn}

    def expected(self, ctext, *, field=False):
        """The ctypes type for a parameter/return/field C type text.

        Raises KeyError for a C type the binding has no rule for."""
        am = re.match(r"^(.*) \[(\d+)\]$", ctext)
        if am:  # a fixed array field: its element type times the length
            assert field, f"array {ctext!r} outside a struct"
            return self.expected(am.group(1), field=True) * int(am.group(2))
        words = [w for w in ctext.replace("*", " * ").split() if w != "const"]
        stars = words.count("*")
        base = " ".join(w for w in words if w != "*")
        if base in self.fnptrs:
            assert stars == 0, ctext
            return self.fnptrs[base]
        if base == "char" and stars >= 1:
            # char * (a string or a caller buffer) is c_char_p; each further
            # level is a POINTER
            t = ctypes.c_char_p
            stars -= 1
        elif base == "void" and stars >= 1:
            t = ctypes.c_void_p
            stars -= 1
        elif base in self.opaque:
            assert stars >= 1, f"opaque {base} by value"
            t = self.opaque[base]
        elif base in self.structs:
            assert stars >= 1 or field, f"struct {base} by value"
            t = self.structs[base]
        else:
            t = SCALARS[base]
        for _ in range(stars):
            t = ctypes.POINTER(t)
        return t


def structs_by_c_name():
    """{'pz_engine_options': _lib.EngineOptions, ...} from the docstrings."""
    out = {}
    for obj in vars(_lib).values():
        if isinstance(obj, type) and issubclass(obj, ctypes.Structure) and "_fields_" in vars(obj):
            m = re.search(r"struct (pz_\w+)", obj.__doc__ or "")
            assert m, f"{obj.__name__} does not name its C struct in its docstring"
            assert m.group(1) not in out, m.group(1)
            out[m.group(1)] = obj
    return out


@unittest.skipIf(REPO is None, "source tree (include/personalize/*.h) not present")
class Prototypes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        text = read_headers()
        cls.protos = parse_prototypes(text)
        cls.structs = parse_structs(text)
        cls.mapper = Mapper()

    def test_parser_finds_every_exported_function(self):
        self.assertEqual(len(self.protos), 120)
        self.assertEqual(sorted(self.protos), sorted(_lib.DECLARATIONS))

    def test_parser_self_check(self):
        p = parse_prototypes(
            "PZ_API int pz_a(pz_engine **out, const char *const *f,\n"
            "  size_t n, unsigned int v);\nPZ_API const char *pz_b(void);"
        )
        self.assertEqual(p["pz_a"], ("int", ["pz_engine * *", "const char * const *", "size_t", "unsigned int"]))
        self.assertEqual(p["pz_b"], ("const char *", []))
        m = self.mapper
        self.assertIs(m.expected("const char * const *")._type_, ctypes.c_char_p)
        self.assertIs(m.expected("pz_engine * *")._type_._type_, _lib.pz_engine)
        s = parse_structs("typedef struct pz_t {\n  double a[4];\n  const char *b[3]; size_t n;\n} pz_t;")
        self.assertEqual(s["pz_t"], [("a", "double [4]"), ("b", "const char * [3]"), ("n", "size_t")])
        self.assertIs(m.expected("double [4]", field=True), ctypes.c_double * 4)
        self.assertIs(m.expected("const char * [3]", field=True), ctypes.c_char_p * 3)

    def test_every_prototype_matches_its_declaration(self):
        problems = []
        for name, (ret, params) in sorted(self.protos.items()):
            restype, argtypes = _lib.DECLARATIONS[name]
            want_ret = self.mapper.expected(ret)
            if restype is not want_ret:
                problems.append(f"{name}: returns {ret!r}: want {ctype_name(want_ret)}, declared {ctype_name(restype)}")
            if len(argtypes) != len(params):
                problems.append(f"{name}: {len(params)} parameters in C, {len(argtypes)} declared")
                continue
            for i, (ctext, got) in enumerate(zip(params, argtypes)):
                want = self.mapper.expected(ctext)
                if got is not want:
                    problems.append(
                        f"{name}: parameter {i + 1} {ctext!r}: want {ctype_name(want)}, declared {ctype_name(got)}"
                    )
        self.assertEqual(problems, [], "\n" + "\n".join(problems))

    def test_loaded_functions_carry_the_declared_types(self):
        for name, (restype, argtypes) in _lib.DECLARATIONS.items():
            fn = getattr(_lib.lib, name)
            self.assertIs(fn.restype, restype, name)
            self.assertEqual(list(fn.argtypes), list(argtypes), name)

    def test_function_pointer_typedefs(self):
        text = strip_comments(read_headers())
        found = {}
        for m in re.finditer(r"typedef\s+([^;()]*?)\(\s*\*\s*(\w+)\s*\)\s*\(([^;]*)\)\s*;", text):
            ret, name, params = m.group(1).strip(), m.group(2), m.group(3)
            plist = [drop_param_name(p.strip()) for p in params.split(",")]
            found[name] = (ret, plist)
        self.assertEqual(sorted(found), ["pz_alloc_fn", "pz_clock_fn"])
        for name, (ret, plist) in found.items():
            fn = self.mapper.fnptrs[name]
            self.assertIs(fn._restype_, self.mapper.expected(ret), name)
            self.assertEqual(
                [ctype_name(t) for t in fn._argtypes_], [ctype_name(self.mapper.expected(p)) for p in plist], name
            )

    def test_every_struct_has_a_ctypes_twin_with_the_same_fields(self):
        by_c = self.mapper.structs
        self.assertEqual(sorted(by_c), sorted(self.structs))
        problems = []
        for cname, cfields in sorted(self.structs.items()):
            py = by_c[cname]
            pyfields = list(py._fields_)
            if [f for f, _ in cfields] != [f for f, *_ in pyfields]:
                problems.append(f"{cname}: fields {[f for f, _ in cfields]} vs {py.__name__} {[f[0] for f in pyfields]}")
                continue
            for (fname, ctext), (_, pytype, *bits) in zip(cfields, pyfields):
                want = self.mapper.expected(ctext, field=True)
                if bits or pytype is not want:
                    problems.append(f"{cname}.{fname} {ctext!r}: want {ctype_name(want)}, declared {ctype_name(pytype)}")
        self.assertEqual(problems, [], "\n" + "\n".join(problems))

    def test_version_constants_match_the_headers(self):
        text = read_headers()
        for macro, value in [
            ("PZ_ENGINE_OPTIONS_VERSION", _lib.ENGINE_OPTIONS_VERSION),
            ("PZ_RECOMMEND_OPTIONS_VERSION", _lib.RECOMMEND_OPTIONS_VERSION),
            ("PZ_CLUSTER_OPTIONS_VERSION", _lib.CLUSTER_OPTIONS_VERSION),
            ("PZ_CF_OPTIONS_VERSION", _lib.CF_OPTIONS_VERSION),
            ("PZ_CF_STATS_VERSION", _lib.CF_STATS_VERSION),
            ("PZ_CF_IMPORT_OPTIONS_VERSION", _lib.CF_IMPORT_OPTIONS_VERSION),
            ("PZ_RECS_ENTRY_VERSION", _lib.RECS_ENTRY_VERSION),
            ("PZ_EVENT_VERSION", _lib.EVENT_VERSION),
            ("PZ_BATCH_MAX", _lib.BATCH_MAX),
        ]:
            m = re.search(r"#define\s+" + macro + r"\s+(\d+)", text)
            self.assertIsNotNone(m, macro)
            self.assertEqual(int(m.group(1)), value, macro)


def find_cc():
    for cc in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if cc and shutil.which(cc):
            return cc
    return None


@unittest.skipIf(REPO is None, "source tree (include/personalize/*.h) not present")
class StructLayouts(unittest.TestCase):
    """sizeof/offsetof from the real compiler against ctypes."""

    def test_sizes_and_offsets_agree_with_the_compiler(self):
        cc = find_cc()
        if cc is None:
            self.skipTest("no C compiler (cc, gcc or clang) on PATH: layouts checked by name and type only")
        structs = parse_structs(read_headers())
        by_c = structs_by_c_name()
        lines = [
            "#include <stddef.h>",
            "#include <stdio.h>",
        ]
        lines += [f'#include "personalize/{os.path.basename(h)}"' for h in HEADERS]
        lines.append("int main(void) {")
        for cname, fields in sorted(structs.items()):
            lines.append(f'  printf("%s %zu %zu\\n", "{cname}", sizeof({cname}), _Alignof({cname}));')
            for fname, _ in fields:
                lines.append(
                    f'  printf("%s.%s %zu %zu\\n", "{cname}", "{fname}", offsetof({cname}, {fname}), '
                    f"sizeof((({cname} *)0)->{fname}));"
                )
        for scalar in ("int", "unsigned int", "size_t", "int32_t", "uint32_t", "int64_t", "uint64_t", "double"):
            lines.append(f'  printf("%s %zu %zu\\n", "{scalar.replace(" ", "_")}", sizeof({scalar}), _Alignof({scalar}));')
        lines.append("  return 0;\n}")
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "layout.c")
            exe = os.path.join(tmp, "layout")
            with open(src, "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
            env = dict(os.environ)
            env.pop("LD_PRELOAD", None)  # the compiler needs no sanitizer runtime
            r = subprocess.run(
                [cc, "-std=c11", "-I", INCLUDE, "-o", exe, src], capture_output=True, text=True, env=env
            )
            if r.returncode != 0:
                self.fail(f"{cc} could not compile the layout probe:\n{r.stderr}")
            r = subprocess.run([exe], capture_output=True, text=True, env=env, check=True)
        got = {}
        for line in r.stdout.splitlines():
            key, a, b = line.split()
            got[key] = (int(a), int(b))
        problems = []
        for scalar, t in [
            ("int", ctypes.c_int),
            ("unsigned_int", ctypes.c_uint),
            ("size_t", ctypes.c_size_t),
            ("int32_t", ctypes.c_int32),
            ("uint32_t", ctypes.c_uint32),
            ("int64_t", ctypes.c_int64),
            ("uint64_t", ctypes.c_uint64),
            ("double", ctypes.c_double),
        ]:
            if got[scalar][0] != ctypes.sizeof(t):
                problems.append(f"sizeof({scalar}) C {got[scalar][0]} ctypes {ctypes.sizeof(t)}")
        for cname, fields in sorted(structs.items()):
            py = by_c[cname]
            size, align = got[cname]
            if size != ctypes.sizeof(py):
                problems.append(f"sizeof({cname}) C {size} ctypes {ctypes.sizeof(py)}")
            if align != ctypes.alignment(py):
                problems.append(f"_Alignof({cname}) C {align} ctypes {ctypes.alignment(py)}")
            for fname, _ in fields:
                off, fsize = got[f"{cname}.{fname}"]
                desc = getattr(py, fname)
                if (off, fsize) != (desc.offset, desc.size):
                    problems.append(
                        f"{cname}.{fname}: C offset {off} size {fsize}, ctypes offset {desc.offset} size {desc.size}"
                    )
        self.assertEqual(problems, [], "\n" + "\n".join(problems))


if __name__ == "__main__":
    unittest.main()
