#!/usr/bin/env python3
"""Every public function's man page lists, in its ERRORS section, the codes
that whole classes of functions can return, derived from the sources
rather than from a list kept by hand:

  PZ_EFORK  every function that takes an engine (the headers' PZ_API
            declarations with a pz_engine pointer, pz_engine_free aside):
            the fork check comes first in each (lib/engine/engine.h)
  PZ_EIO    every journaled write: the public functions that the table of
            writes (lib/engine/ops.c, the L("pz_...") names of its rows)
            enters, and pz_engine_sync and pz_engine_save

Run from the source tree: python3 tests/check_man_errors.py [--fix].
Exit status 0 when every page lists them; otherwise each gap is printed.
--fix appends the missing entries to the pages' ERRORS sections (review
the text it writes)."""

import os
import re
import sys

FIX = {
    "PZ_EFORK": (
        ".TP\n.B PZ_EFORK\n(Since 1.2.)\n.I e\nwas opened by another process, "
        "of which this one is a\n.BR fork (2):\nnothing was done (see\n"
        ".BR libpersonalize (7),\n\\(lqProcesses and fork()\\(rq).\n"
    ),
    "PZ_EIO": (
        ".TP\n.B PZ_EIO\nWith a journal\n.RB ( store.journal ):\nthe record "
        "could not be written or synced, the journal was deleted or\nreplaced, "
        "or it refuses writes since an earlier such failure, until a\nsave "
        "starts a new one (see\n.BR pz_engine_sync (3));\nthe message says "
        "whether the change was made in memory.\n"
    ),
}


def public_functions():
    engine, names = set(), set()
    for f in sorted(os.listdir("include/personalize")):
        s = open(os.path.join("include/personalize", f)).read()
        for m in re.finditer(r"PZ_API\s+[^;]*?\b(pz_[a-z0-9_]+)\s*\(([^;]*?)\)\s*;", s, re.S):
            names.add(m.group(1))
            if re.search(r"pz_engine\s*\*\s*[a-z]", m.group(2)):
                engine.add(m.group(1))
    engine.discard("pz_engine_free")
    return names, engine


def journaled_writes():
    s = open("lib/engine/ops.c").read()
    rows = re.findall(r"ROW\([^;]*?\)\s*,?", s, re.S)
    w = set()
    for r in rows:
        w.update(re.findall(r'"(pz_[a-z0-9_]+)"', r))
    return w | {"pz_engine_sync", "pz_engine_save"}


def page_of(name):
    p = os.path.join("man/man3", name + ".3")
    if not os.path.exists(p):
        return None
    return os.path.realpath(p)


def errors_section(text):
    m = re.search(r"^\.SH ERRORS\n(.*?)(?=^\.SH )", text, re.S | re.M)
    return m


def main():
    fix = "--fix" in sys.argv[1:]
    names, engine = public_functions()
    writes = journaled_writes()
    missing_writes = sorted(w for w in writes if w not in names)
    if missing_writes:
        print("table rows name unknown functions:", ", ".join(missing_writes))
        return 1
    want = {}
    for n in names:
        codes = set()
        if n in engine:
            codes.add("PZ_EFORK")
        if n in writes:
            codes.add("PZ_EIO")
        if codes:
            want.setdefault(page_of(n), {}).setdefault(n, set()).update(codes)
    gaps = 0
    for page, funcs in sorted(want.items(), key=lambda kv: str(kv[0])):
        if page is None:
            print("no man page for", ", ".join(sorted(funcs)))
            gaps += 1
            continue
        text = open(page).read()
        m = errors_section(text)
        if not m:
            print(f"{page}: no ERRORS section (for {', '.join(sorted(funcs))})")
            gaps += 1
            continue
        listed = set(re.findall(r"\bPZ_E[A-Z]+\b", m.group(1)))
        need = set().union(*funcs.values()) - listed
        if not need:
            continue
        if fix:
            add = "".join(FIX[c] for c in sorted(need, reverse=True))
            text = text[: m.end(1)] + add + text[m.end(1):]
            open(page, "w").write(text)
            print(f"{os.path.relpath(page)}: added {', '.join(sorted(need))}")
        else:
            who = ", ".join(f"{f} ({' '.join(sorted(c))})" for f, c in sorted(funcs.items()))
            print(f"{os.path.relpath(page)}: ERRORS lacks {', '.join(sorted(need))}; needed by {who}")
            gaps += 1
    print(f"check_man_errors: {len(names)} functions, {len(engine)} take an engine, "
          f"{len(writes)} journaled; {gaps} pages with gaps")
    return 1 if gaps else 0


if __name__ == "__main__":
    sys.exit(main())
