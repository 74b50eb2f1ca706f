"""Loading libpersonalize and declaring its C functions for ctypes.

The library is looked for, in order:

1. the path in the environment variable ``PERSONALIZE_LIBRARY`` (when it is
   set and cannot be loaded, import fails: no silent fallback to another
   copy);
2. ``libpersonalize.so.1`` next to this package (a wheel may bundle it);
3. the system's ``libpersonalize.so.1`` (the soname, found by the dynamic
   linker).

Every exported function (lib/libpersonalize.map) is declared once in
``DECLARATIONS`` below, with its exact C argument and result types, so
that ctypes never guesses (a guessed ``int`` result would truncate a
pointer on 64-bit hosts).

The library must be 1.MINOR or a later 1.x. A function newer than that
(``SINCE``) may be missing from an older library: it is then left out
(listed in ``MISSING``) and the method that needs it raises
``VersionError`` naming the version, while everything else works.
"""

from __future__ import annotations

import ctypes
import os
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char_p,
    c_double,
    c_int,
    c_int32,
    c_int64,
    c_size_t,
    c_uint,
    c_uint32,
    c_uint64,
    c_void_p,
)

SONAME = "libpersonalize.so.1"
MAJOR = 1
MINOR = 1  # the oldest minor the binding loads (pz_recs_entries came with 1.1)

# functions newer than MINOR: name -> the minor that added it. An older
# library loads without them (see MISSING and load()).
SINCE = {
    "pz_track_batch": 2,  # Engine.track_many
}

# names of SINCE the loaded library lacks (set by load())
MISSING: frozenset = frozenset()

# the loaded library's (major, minor, patch), set by load()
VERSION = (0, 0, 0)

# Opaque handles: distinct pointer types so a recs pointer cannot be passed
# where an engine is expected by mistake.


class _Opaque(Structure):
    pass


class pz_engine(_Opaque):
    pass


class pz_recs(_Opaque):
    pass


class pz_interests(_Opaque):
    pass


class pz_list(_Opaque):
    pass


class pz_svec(_Opaque):
    pass


class pz_choices(_Opaque):
    pass


engine_p = POINTER(pz_engine)
recs_p = POINTER(pz_recs)
interests_p = POINTER(pz_interests)
list_p = POINTER(pz_list)
svec_p = POINTER(pz_svec)
choices_p = POINTER(pz_choices)

alloc_fn = CFUNCTYPE(c_void_p, c_void_p, c_void_p, c_size_t, c_size_t)
clock_fn = CFUNCTYPE(c_int64, c_void_p)

# ---- options and result structs (layouts of the public headers) ----------


class EngineOptions(Structure):
    """struct pz_engine_options (engine.h), version 1."""

    _fields_ = [
        ("version", c_uint),
        ("alloc", alloc_fn),
        ("alloc_ud", c_void_p),
        ("clock", clock_fn),
        ("clock_ud", c_void_p),
        ("config_path", c_char_p),
        ("config_text", c_char_p),
        ("config_len", c_size_t),
    ]


ENGINE_OPTIONS_VERSION = 1


class RecommendOptions(Structure):
    """struct pz_recommend_options (rank.h), version 2."""

    _fields_ = [
        ("version", c_uint),
        ("include_seen", c_int),
        ("now_ms", c_int64),
        ("offset", c_size_t),
        ("exclude", POINTER(c_char_p)),
        ("n_exclude", c_size_t),
        ("restrict_to", POINTER(c_char_p)),
        ("n_restrict", c_size_t),
        ("context", POINTER(c_char_p)),
        ("context_weights", POINTER(c_double)),
        ("n_context", c_size_t),
        ("diversity", c_double),
        ("terse", c_int),
    ]


RECOMMEND_OPTIONS_VERSION = 2


class RecsEntry(Structure):
    """struct pz_recs_entry (rank.h), version 1 (since 1.1): one item of a
    pz_recs list, filled by pz_recs_entries(); its strings are borrowed
    from the list until pz_recs_free()."""

    _fields_ = [
        ("version", c_uint),
        ("item", c_char_p),
        ("score", c_double),
        ("reason_code", c_int),
        ("flags", c_uint),
        ("reason", c_char_p),
        ("contribution", c_double * 4),
        ("factor", c_double * 2),
        ("rule", c_char_p),
        ("n_because", c_size_t),
        ("because", c_char_p * 3),
        ("because_share", c_double * 3),
    ]


RECS_ENTRY_VERSION = 1


class ClusterOptions(Structure):
    """struct pz_cluster_options (segment.h), version 1."""

    _fields_ = [
        ("version", c_uint),
        ("k", c_uint32),
        ("seed", c_uint64),
        ("max_iterations", c_uint32),
        ("batch_size", c_uint32),
    ]


CLUSTER_OPTIONS_VERSION = 1


class CFOptions(Structure):
    """struct pz_cf_options (cf.h), version 1."""

    _fields_ = [
        ("version", c_uint),
        ("algorithm", c_int),
        ("weighting", c_int),
        ("neighbours", c_uint32),
        ("factors", c_uint32),
        ("iterations", c_uint32),
        ("cg_steps", c_uint32),
        ("threads", c_uint32),
        ("seed", c_uint64),
        ("regularization", c_double),
        ("alpha", c_double),
        ("bm25_k1", c_double),
        ("bm25_b", c_double),
        ("als_share", c_double),
    ]


CF_OPTIONS_VERSION = 1


class CFStats(Structure):
    """struct pz_cf_stats (cf.h), version 1."""

    _fields_ = [
        ("version", c_uint),
        ("algorithm", c_int),
        ("users", c_uint32),
        ("items", c_uint32),
        ("interactions", c_uint64),
        ("factors", c_uint32),
        ("neighbours", c_uint32),
        ("iterations", c_uint32),
        ("threads", c_uint32),
        ("erased_since", c_uint32),
        ("train_seconds", c_double),
        ("trained_at_ms", c_int64),
    ]


CF_STATS_VERSION = 1


class CFImportOptions(Structure):
    """struct pz_cf_import_options (cf.h), version 1."""

    _fields_ = [
        ("version", c_uint),
        ("format", c_int),
        ("event_type", c_char_p),
        ("binary", c_int),
        ("min_value", c_double),
        ("use_timestamps", c_int),
        ("now_ms", c_int64),
    ]


CF_IMPORT_OPTIONS_VERSION = 1


class Event(Structure):
    """struct pz_event (profile.h), version 1 (since 1.2): one event of
    pz_track_batch(), the arguments of pz_track(); events[0].version fixes
    the layout of the whole array."""

    _fields_ = [
        ("version", c_uint),
        ("user", c_char_p),
        ("item", c_char_p),
        ("event_type", c_char_p),
        ("value", c_double),
        ("ts_ms", c_int64),
    ]


EVENT_VERSION = 1
BATCH_MAX = 1000000  # PZ_BATCH_MAX: the most events one pz_track_batch call takes

# ---- the declaration table: name -> (restype, argtypes) ------------------

_E = engine_p
_S = c_char_p
_PSZ = POINTER(c_size_t)
_BUF = c_char_p  # caller buffers are ctypes string buffers

DECLARATIONS: dict[str, tuple[object, list[object]]] = {
    # core / version / errors
    "pz_strerror": (c_char_p, [c_int]),
    "pz_errmsg": (c_char_p, []),
    "pz_version_number": (c_uint, []),
    "pz_version_string": (c_char_p, []),
    # engine
    "pz_engine_options_init": (c_int, [POINTER(EngineOptions), c_uint]),
    "pz_engine_open": (c_int, [POINTER(_E), _S]),
    "pz_engine_open_string": (c_int, [POINTER(_E), _S, c_size_t]),
    "pz_engine_open_with": (c_int, [POINTER(_E), POINTER(EngineOptions)]),
    "pz_engine_free": (None, [_E]),
    "pz_engine_set_clock": (c_int, [_E, clock_fn, c_void_p]),
    "pz_engine_now": (c_int, [POINTER(c_int64), _E]),
    # store
    "pz_engine_save": (c_int, [_E, _S]),
    "pz_engine_load": (c_int, [POINTER(_E), _S, POINTER(EngineOptions)]),
    "pz_engine_sync": (c_int, [_E]),
    # catalog
    "pz_item_put": (c_int, [_E, _S, POINTER(c_char_p), POINTER(c_double), c_size_t]),
    "pz_item_remove": (c_int, [_E, _S]),
    "pz_item_popularity": (c_int, [POINTER(c_double), POINTER(c_uint64), _E, _S, c_int64]),
    "pz_item_count": (c_int, [_PSZ, _E]),
    # profile
    "pz_track": (c_int, [_E, _S, _S, _S, c_double, c_int64]),
    "pz_track_batch": (c_int, [_E, POINTER(Event), c_size_t, _PSZ]),
    "pz_profile_set_string": (c_int, [_E, _S, _S, _S]),
    "pz_profile_set_number": (c_int, [_E, _S, _S, c_double]),
    "pz_profile_set_bool": (c_int, [_E, _S, _S, c_int]),
    "pz_profile_set_timestamp": (c_int, [_E, _S, _S, c_int64]),
    "pz_profile_get_type": (c_int, [POINTER(c_int), _E, _S, _S]),
    "pz_profile_get_string": (c_int, [_BUF, c_size_t, _PSZ, _E, _S, _S]),
    "pz_profile_get_number": (c_int, [POINTER(c_double), _E, _S, _S]),
    "pz_profile_get_bool": (c_int, [POINTER(c_int), _E, _S, _S]),
    "pz_profile_get_timestamp": (c_int, [POINTER(c_int64), _E, _S, _S]),
    "pz_profile_remove_attribute": (c_int, [_E, _S, _S]),
    "pz_profile_set_consent": (c_int, [_E, _S, _S, c_int]),
    "pz_profile_get_consent": (c_int, [POINTER(c_int), _E, _S, _S]),
    "pz_profile_interests": (c_int, [POINTER(interests_p), _E, _S, c_size_t, c_int64]),
    "pz_interests_count": (c_size_t, [interests_p]),
    "pz_interests_feature": (c_char_p, [interests_p, c_size_t]),
    "pz_interests_score": (c_double, [interests_p, c_size_t]),
    "pz_interests_free": (None, [interests_p]),
    "pz_profile_event_count": (c_int, [_PSZ, _E, _S]),
    "pz_profile_count": (c_int, [_PSZ, _E]),
    "pz_profile_merge": (c_int, [_E, _S, _S]),
    "pz_profile_erase": (c_int, [_E, _S]),
    "pz_profile_export": (c_int, [_BUF, c_size_t, _PSZ, _E, _S]),
    # rank
    "pz_recommend_options_init": (c_int, [POINTER(RecommendOptions), c_uint]),
    "pz_recommend": (c_int, [POINTER(recs_p), _E, _S, c_size_t, POINTER(RecommendOptions)]),
    "pz_recs_count": (c_size_t, [recs_p]),
    "pz_recs_item": (c_char_p, [recs_p, c_size_t]),
    "pz_recs_score": (c_double, [recs_p, c_size_t]),
    "pz_recs_reason_code": (c_int, [recs_p, c_size_t]),
    "pz_recs_reason": (c_char_p, [recs_p, c_size_t]),
    "pz_recs_contribution": (c_double, [recs_p, c_size_t, c_int]),
    "pz_recs_flags": (c_uint, [recs_p, c_size_t]),
    "pz_recs_factor": (c_double, [recs_p, c_size_t, c_int]),
    "pz_recs_rule": (c_char_p, [recs_p, c_size_t]),
    "pz_recs_free": (None, [recs_p]),
    "pz_recs_entry_init": (c_int, [POINTER(RecsEntry), c_uint]),
    "pz_recs_entries": (c_int, [POINTER(RecsEntry), c_size_t, _PSZ, recs_p, c_size_t]),
    # override
    "pz_override_block_item": (c_int, [_E, _S, _S, c_int64]),
    "pz_override_block_feature": (c_int, [_E, _S, _S, c_int64]),
    "pz_override_require": (c_int, [_E, _S, _S, c_int64]),
    "pz_override_pin": (c_int, [_E, _S, _S, c_int32, c_int64]),
    "pz_override_adjust": (c_int, [_E, _S, _S, c_double, c_int64]),
    "pz_override_more": (c_int, [_E, _S, _S, c_int64]),
    "pz_override_less": (c_int, [_E, _S, _S, c_int64]),
    "pz_override_not_interested": (c_int, [_E, _S, _S, c_int64]),
    "pz_override_opt_out": (c_int, [_E, _S, c_int]),
    "pz_override_opted_out": (c_int, [POINTER(c_int), _E, _S]),
    "pz_override_clear": (c_int, [_E, _S, c_int, _S]),
    "pz_override_clear_all": (c_int, [_E, _S]),
    "pz_override_list": (c_int, [POINTER(choices_p), _E, _S, c_int64]),
    "pz_choices_count": (c_size_t, [choices_p]),
    "pz_choices_kind": (c_int, [choices_p, c_size_t]),
    "pz_choices_target": (c_char_p, [choices_p, c_size_t]),
    "pz_choices_factor": (c_double, [choices_p, c_size_t]),
    "pz_choices_position": (c_int32, [choices_p, c_size_t]),
    "pz_choices_created": (c_int64, [choices_p, c_size_t]),
    "pz_choices_expires": (c_int64, [choices_p, c_size_t]),
    "pz_choices_free": (None, [choices_p]),
    "pz_override_rules_load": (c_int, [_E, _S, c_size_t]),
    "pz_override_rules": (c_int, [POINTER(list_p), _E]),
    # segment
    "pz_list_count": (c_size_t, [list_p]),
    "pz_list_text": (c_char_p, [list_p, c_size_t]),
    "pz_list_value": (c_double, [list_p, c_size_t]),
    "pz_list_free": (None, [list_p]),
    "pz_segment_load": (c_int, [_E, _S, c_size_t]),
    "pz_segment_test": (c_int, [POINTER(c_int), _E, _S, _S]),
    "pz_segment_of": (c_int, [POINTER(list_p), _E, _S]),
    "pz_segment_members": (c_int, [POINTER(list_p), _E, _S]),
    "pz_segment_counts": (c_int, [POINTER(list_p), _E]),
    "pz_segment_refresh": (c_int, [_E]),
    "pz_experiment_assign": (c_int, [_BUF, c_size_t, _PSZ, _E, _S, _S]),
    "pz_experiment_bucket": (c_int, [POINTER(c_double), _S, c_uint64]),
    "pz_cluster_options_init": (c_int, [POINTER(ClusterOptions), c_uint]),
    "pz_cluster_train": (c_int, [_E, POINTER(ClusterOptions)]),
    "pz_cluster_count": (c_int, [_PSZ, _E]),
    "pz_cluster_of": (c_int, [POINTER(c_int), _E, _S]),
    "pz_cluster_size": (c_int, [_PSZ, _E, c_int]),
    "pz_cluster_describe": (c_int, [POINTER(list_p), _E, c_int, c_size_t]),
    "pz_cluster_set_name": (c_int, [_E, c_int, _S]),
    "pz_cluster_name": (c_int, [_BUF, c_size_t, _PSZ, _E, c_int]),
    # cf
    "pz_cf_options_init": (c_int, [POINTER(CFOptions), c_uint]),
    "pz_cf_train": (c_int, [_E, POINTER(CFOptions)]),
    "pz_cf_stats_get": (c_int, [POINTER(CFStats), _E]),
    "pz_cf_loss": (c_int, [POINTER(c_double), c_size_t, _PSZ, _E]),
    "pz_cf_import_options_init": (c_int, [POINTER(CFImportOptions), c_uint]),
    "pz_cf_import": (c_int, [_E, _S, POINTER(CFImportOptions), POINTER(c_uint64)]),
    "pz_similar_items": (c_int, [POINTER(recs_p), _E, _S, c_size_t]),
    "pz_recs_because": (c_char_p, [recs_p, c_size_t, c_size_t]),
    "pz_recs_because_share": (c_double, [recs_p, c_size_t, c_size_t]),
    # svec
    "pz_feature_hash": (c_int, [POINTER(c_uint32), POINTER(c_int), _S, c_uint64, c_uint]),
    "pz_svec_new": (c_int, [POINTER(svec_p), _E]),
    "pz_svec_free": (None, [svec_p]),
    "pz_svec_add_feature": (c_int, [svec_p, _S, c_double]),
    "pz_svec_add": (c_int, [svec_p, svec_p, c_double]),
    "pz_svec_scale": (c_int, [svec_p, c_double]),
    "pz_svec_dot": (c_int, [POINTER(c_double), svec_p, svec_p]),
    "pz_svec_norm": (c_int, [POINTER(c_double), svec_p]),
    "pz_svec_cosine": (c_int, [POINTER(c_double), svec_p, svec_p]),
    "pz_svec_nnz": (c_size_t, [svec_p]),
    "pz_svec_entry": (c_int, [POINTER(c_uint32), POINTER(c_double), svec_p, c_size_t]),
    "pz_svec_top": (
        c_int,
        [POINTER(c_uint32), POINTER(c_double), c_size_t, _PSZ, svec_p, c_size_t],
    ),
}


def _candidates() -> list[tuple[str, str]]:
    """(description, path-or-name) pairs in search order."""
    env = os.environ.get("PERSONALIZE_LIBRARY")
    if env:
        return [("PERSONALIZE_LIBRARY", env)]
    out = []
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), SONAME)
    if os.path.exists(here):
        out.append(("the package directory", here))
    out.append(("the system", SONAME))
    return out


def _declare(lib: ctypes.CDLL, minor: int) -> frozenset:
    """Declare every function; returns the names of SINCE left out because
    the library's minor version predates them."""
    missing = set()
    for name, (restype, argtypes) in DECLARATIONS.items():
        try:
            fn = getattr(lib, name)
        except AttributeError as exc:
            if minor < SINCE.get(name, 0):
                missing.add(name)
                continue
            raise ImportError(
                f"{lib._name}: missing symbol {name}: "
                "the library is older than this binding expects"
            ) from exc
        fn.restype = restype
        fn.argtypes = argtypes
    return frozenset(missing)


def load() -> ctypes.CDLL:
    """Find, load, version-check and declare libpersonalize."""
    global MISSING, VERSION
    errors = []
    lib = None
    for where, path in _candidates():
        try:
            lib = ctypes.CDLL(path)
            break
        except OSError as exc:
            errors.append(f"{where} ({path}): {exc}")
    if lib is None:
        raise ImportError(
            "personalize: cannot load libpersonalize: "
            + "; ".join(errors)
            + ". Install libpersonalize.so.1, or set PERSONALIZE_LIBRARY to "
            "the path of libpersonalize.so.1"
        )
    try:
        version_number = lib.pz_version_number
    except AttributeError as exc:
        raise ImportError(
            f"personalize: {lib._name} is not libpersonalize (no pz_version_number)"
        ) from exc
    version_number.restype = c_uint
    version_number.argtypes = []
    number = version_number()
    if number // 10000 != MAJOR:
        raise ImportError(
            f"personalize: {lib._name} is libpersonalize "
            f"{number // 10000}.{number // 100 % 100}.{number % 100}; "
            f"this binding needs major version {MAJOR} "
            f"(set PERSONALIZE_LIBRARY to a libpersonalize.so.{MAJOR})"
        )
    if number // 100 % 100 < MINOR:
        raise ImportError(
            f"personalize: {lib._name} is libpersonalize "
            f"{number // 10000}.{number // 100 % 100}.{number % 100}; "
            f"this binding needs {MAJOR}.{MINOR} or later"
        )
    MISSING = _declare(lib, number // 100 % 100)
    VERSION = (number // 10000, number // 100 % 100, number % 100)
    return lib


lib = load()
