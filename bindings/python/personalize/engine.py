"""The Engine class and the plain result types it returns."""

from __future__ import annotations

import ctypes
import datetime as _dt
import enum
import json
import os
import re
import struct
import sys
import traceback
import threading
import weakref
from array import array
from ctypes import byref, c_double, c_int, c_int64, c_size_t, c_uint, c_uint32, c_uint64
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from . import _convert as cv
from . import _lib
from ._lib import (
    BATCH_MAX,
    CF_IMPORT_OPTIONS_VERSION,
    CF_OPTIONS_VERSION,
    CF_STATS_VERSION,
    CLUSTER_OPTIONS_VERSION,
    ENGINE_OPTIONS_VERSION,
    EVENT_VERSION,
    RECOMMEND_OPTIONS_VERSION,
    RECS_ENTRY_VERSION,
    CFImportOptions,
    CFOptions,
    CFStats as _CFStats,
    ClusterOptions,
    EngineOptions,
    Event,
    RecommendOptions,
    RecsEntry,
    choices_p,
    clock_fn,
    engine_p,
    interests_p,
    lib,
    list_p,
    recs_p,
    svec_p,
)
from .errors import (
    EBUFS,
    ELIMIT,
    ENOTFOUND,
    OK,
    EngineClosed,
    InvalidArgument,
    OutOfRange,
    PersonalizeError,
    VersionError,
    check,
    error_for,
)

PathLike = Union[str, "os.PathLike[str]", bytes]  # os.PathLike of str or bytes
Time = cv.Time

# ---- enums mirroring the C headers ----------------------------------------


class ReasonCode(enum.IntEnum):
    """pz_reason (rank.h): the main reason an item is in a list."""

    POPULAR = 1
    CONTENT = 2
    FALLBACK = 3
    SEGMENT = 4
    CF = 5
    PINNED = 6
    EDITORIAL = 7
    PROMOTED = 8


class RecsFlag(enum.IntFlag):
    """pz_recs_flag (rank.h): what moved an item."""

    NONE = 0
    MORE = 1 << 0
    LESS = 1 << 1
    BOOSTED = 1 << 2
    BURIED = 1 << 3
    PINNED = 1 << 4
    EDITORIAL = 1 << 5
    PROMOTED = 1 << 6
    DIVERSITY = 1 << 7
    CONTEXT = 1 << 8
    NOT_PERSONALIZED = 1 << 9


class ChoiceKind(enum.IntEnum):
    """pz_choice_kind (override.h)."""

    BLOCK_ITEM = 1
    BLOCK_FEATURE = 2
    REQUIRE = 3
    PIN = 4
    ADJUST = 5
    OPT_OUT = 6


class RuleKind(enum.IntEnum):
    """pz_rule_kind (override.h)."""

    FILTER = 1
    BOOST = 2
    BURY = 3
    PROMOTE = 4
    PIN = 5


class CFAlgorithm(enum.IntEnum):
    """pz_cf_algorithm (cf.h). CONFIG: the configuration's value."""

    CONFIG = 0
    OFF = 1
    KNN = 2
    ALS = 3
    BOTH = 4


class CFWeighting(enum.IntEnum):
    """pz_cf_weighting (cf.h)."""

    CONFIG = 0
    NONE = 1
    TFIDF = 2
    BM25 = 3


class RatingsFormat(enum.IntEnum):
    """pz_cf_format (cf.h): formats of Engine.import_ratings()."""

    AUTO = 0
    TSV = 1
    CSV = 2
    MOVIELENS = 3
    UDATA = 4


_ATTR_STRING, _ATTR_NUMBER, _ATTR_BOOL, _ATTR_TIMESTAMP = 1, 2, 3, 4

# ---- plain result types (copies: they never refer back to the engine) ----


class Timestamp(int):
    """An attribute value of timestamp type: milliseconds since the epoch.

    Pass one (or a :class:`datetime.datetime`) to
    :meth:`Engine.set_attribute` to store a timestamp rather than a number;
    :meth:`Engine.get_attribute` returns timestamps as this type.
    """

    @classmethod
    def from_datetime(cls, value: _dt.datetime) -> "Timestamp":
        return cls(cv.to_ms(value))

    def to_datetime(self) -> _dt.datetime:
        """As an aware UTC datetime (OverflowError beyond year 9999)."""
        return _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc) + _dt.timedelta(milliseconds=int(self))

    def __repr__(self) -> str:
        return f"Timestamp({int(self)})"


@dataclass(frozen=True)
class Contributions:
    """Weighted contribution of each signal to the model's blend (their
    sum is the score before the person's and the rules' factors)."""

    content: float
    popularity: float
    segment: float
    cf: float


@dataclass(frozen=True)
class Because:
    """A history item that drove an item's CF score, and its share."""

    item: str
    share: float


@dataclass(frozen=True)
class Reason:
    """Why an item is in a list: the main reason (code and one line of
    text, "" when the request was terse), what moved it (flags), the
    person's and the business's multipliers, the business rule that placed
    or most moved it (or None), the per-signal contributions and, for CF,
    up to three history items that drove it."""

    code: ReasonCode
    text: str
    flags: RecsFlag
    person_factor: float
    rules_factor: float
    rule: Optional[str]
    contributions: Contributions
    because: Tuple[Because, ...]


@dataclass(frozen=True)
class Recommendation:
    """One ranked item: its id, its score and the reason it is there."""

    item: str
    score: float
    reason: Reason


@dataclass(frozen=True)
class Choice:
    """One of a person's choices (pz_override_list). position is None when
    the pin has no slot (and for other kinds); expires is 0 for never."""

    kind: ChoiceKind
    target: str
    factor: float
    position: Optional[int]
    created: int
    expires: int


@dataclass(frozen=True)
class CFModelStats:
    """What the serving CF model is (pz_cf_stats)."""

    algorithm: CFAlgorithm
    users: int
    items: int
    interactions: int
    factors: int
    neighbours: int
    iterations: int
    threads: int
    erased_since: int
    train_seconds: float
    trained_at_ms: int


AttributeValue = Union[str, float, bool, Timestamp]

# ---- the handle guard: use-after-close and close-while-in-use -------------


class _Handle:
    """Owns the pz_engine pointer.

    Every call enters the guard (in-flight counter + 1) and leaves it;
    close() marks the handle closed at once (new calls raise EngineClosed),
    waits until the in-flight calls have returned, then frees the engine.
    Calls do not wait for each other: ctypes releases the GIL during each
    C call and the library does its own locking.

    close(wait=False) (used by the finalizer) never blocks: with calls in
    flight it leaves the freeing to the last of them to return.
    """

    __slots__ = ("ptr", "_cond", "_inflight", "_closed", "_free_on_exit", "_local", "_keep")

    __slots__ += ("__weakref__",)

    def __init__(self, ptr: Any, keep: Any = None) -> None:
        self.ptr = ptr
        self._cond = threading.Condition(threading.Lock())
        self._inflight = 0
        self._closed = False
        self._free_on_exit = False
        self._local = threading.local()
        self._keep = keep  # objects the engine points to (the clock callback)
        _HANDLES.add(self)

    def _after_fork(self) -> None:
        """In a fork()ed child: the threads that were in calls are gone, and
        the lock may have been held by one of them. A fresh guard lets
        calls reach the library (which refuses them: ForkError) and close()
        release the copy without waiting for calls that will never end."""
        self._cond = threading.Condition(threading.Lock())
        self._inflight = 0
        self._local = threading.local()

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Any:
        with self._cond:
            if self._closed:
                raise EngineClosed("the engine is closed")
            self._inflight += 1
            ptr = self.ptr
        self._local.depth = getattr(self._local, "depth", 0) + 1
        return ptr

    def __exit__(self, *exc: Any) -> None:
        self._local.depth -= 1
        ptr = None
        with self._cond:
            self._inflight -= 1
            if self._inflight == 0:
                self._cond.notify_all()
                if self._free_on_exit:
                    ptr, self.ptr = self.ptr, None
                    self._free_on_exit = False
        if ptr:
            self._free(ptr)

    def _free(self, ptr: Any) -> None:
        lib.pz_engine_free(ptr)
        self._keep = None  # the clock callback may go only after the free

    def close(self, wait: bool = True) -> None:
        if getattr(self._local, "depth", 0):
            # e.g. close() from a clock callback: waiting would deadlock
            raise RuntimeError("cannot close an engine from inside one of its own calls")
        with self._cond:
            self._closed = True
            if wait:
                # an interruption (KeyboardInterrupt) leaves the handle
                # closed but not freed; close() again finishes the job
                while self._inflight:
                    self._cond.wait()
            elif self._inflight:
                self._free_on_exit = True
                return
            ptr, self.ptr = self.ptr, None
        if ptr:
            self._free(ptr)


_HANDLES: "weakref.WeakSet[_Handle]" = weakref.WeakSet()


def _handles_after_fork() -> None:
    for h in list(_HANDLES):
        h._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_handles_after_fork)

# a closed handle for Engine objects made without __init__ (Engine.__new__)
_NO_HANDLE = _Handle(None)
_NO_HANDLE._closed = True


def _make_clock(fn: Callable[[], Any]) -> Any:
    """Wrap a Python clock for the C library. It must never raise into C:
    on an exception or a bad value the last good time (0 at first) is
    returned and the traceback is written to sys.stderr."""
    last = [0]

    def call(_ud: Any) -> int:
        try:
            last[0] = cv.time_ms(fn(), "clock()")
        except BaseException:  # noqa: BLE001 - an exception must not reach C
            try:
                sys.stderr.write("personalize: the clock callback failed; using the last good time\n")
                traceback.print_exc()
            except BaseException:  # noqa: BLE001
                pass
        return last[0]

    return clock_fn(call)


def _engine_options(clock: Optional[Callable[[], Any]]) -> Tuple[EngineOptions, Any]:
    opts = EngineOptions()
    check(lib.pz_engine_options_init(byref(opts), ENGINE_OPTIONS_VERSION))
    cb = None
    if clock is not None:
        if not callable(clock):
            raise TypeError("clock must be callable")
        cb = _make_clock(clock)
        opts.clock = cb
    return opts, cb


# ---- reading result objects into Python copies ----------------------------


def _maybe_enum(cls: Any, value: int) -> Any:
    """The enum member, or the plain int for a value a newer library added."""
    try:
        return cls(value)
    except ValueError:
        return value


# Reading a list makes several frozen dataclasses per item, whose generated
# __init__ sets each field through object.__setattr__ (some 0.1 us a field:
# more than the C calls pz_recs_entries saves). _frozen makes them the way
# pickle does, a bare instance whose __dict__ is set in one step; they
# compare, hash, print and pickle like instances made by __init__
# (tests/test_engine.py compares the two).
_new_instance = object.__new__
_set_attribute = object.__setattr__


def _frozen(cls: Any, fields: Dict[str, Any]) -> Any:
    obj = _new_instance(cls)
    _set_attribute(obj, "__dict__", fields)
    return obj


_REASON_CODES: Dict[int, ReasonCode] = {int(c): c for c in ReasonCode}
_FLAG_VALUES: Dict[int, RecsFlag] = {}  # at most 1024 (10 defined bits)


def _recs_flag(bits: int) -> RecsFlag:
    flags = _FLAG_VALUES.get(bits)
    if flags is None:
        flags = RecsFlag(bits)
        if bits < 1 << 10:
            _FLAG_VALUES[bits] = flags
    return flags


def _read_recs(r: Any) -> List[Recommendation]:
    """Copy a pz_recs list with one pz_recs_entries call (not ~15 per item)."""
    n = lib.pz_recs_count(r)
    if not n:
        return []
    entries = (RecsEntry * n)()
    entries[0].version = RECS_ENTRY_VERSION  # the layout of the whole array
    got = c_size_t()
    check(lib.pz_recs_entries(entries, n, byref(got), r, 0))
    codes, flag_values = _REASON_CODES, _FLAG_VALUES
    out = []
    for e in entries[: got.value]:
        code = e.reason_code
        bits = e.flags
        flags = flag_values.get(bits)
        rule = e.rule
        c = e.contribution  # indexed by pz_signal - 1, factor by pz_factor_source - 1
        f = e.factor
        nb = e.n_because
        if nb:
            items, shares = e.because, e.because_share
            because = tuple(
                _frozen(Because, {"item": items[j].decode("utf-8", "surrogateescape"), "share": shares[j]})
                for j in range(nb)
            )
        else:
            because = ()
        reason = _frozen(
            Reason,
            {
                "code": codes.get(code, code),
                "text": e.reason.decode("utf-8", "surrogateescape"),
                "flags": _recs_flag(bits) if flags is None else flags,
                "person_factor": f[0],
                "rules_factor": f[1],
                "rule": None if rule is None else rule.decode("utf-8", "surrogateescape"),
                "contributions": _frozen(
                    Contributions, {"content": c[0], "popularity": c[1], "segment": c[2], "cf": c[3]}
                ),
                "because": because,
            },
        )
        out.append(
            _frozen(
                Recommendation,
                {"item": e.item.decode("utf-8", "surrogateescape"), "score": e.score, "reason": reason},
            )
        )
    return out


def _read_list(lst: Any) -> List[Tuple[str, float]]:
    return [
        (cv.decode(lib.pz_list_text(lst, i)), lib.pz_list_value(lst, i))
        for i in range(lib.pz_list_count(lst))
    ]


def _take_list(fn: Callable[..., int], *args: Any) -> List[Tuple[str, float]]:
    lst = list_p()
    check(fn(byref(lst), *args))
    try:
        return _read_list(lst)
    finally:
        lib.pz_list_free(lst)


def _buffered(call: Callable[[Any, int, Any], int], first: int = 256) -> bytes:
    """Run a (buf, cap, *len_out) call, growing the buffer on PZ_EBUFS."""
    cap = first
    for _ in range(64):
        buf = ctypes.create_string_buffer(cap)
        n = c_size_t(0)
        rc = call(buf, cap, byref(n))
        if rc == EBUFS:
            cap = max(cap * 2, n.value + 1)
            continue
        check(rc)
        return buf.raw[: n.value]
    check(EBUFS)  # the value kept growing under us; report it
    raise AssertionError("unreachable")


# ---- events for pz_track_batch (Engine.track_many) --------------------------

_BATCH_MAX = BATCH_MAX  # events per pz_track_batch call (the tests lower it)
_EVENT_SHAPE = "(user, item[, event[, value[, ts]]])"
_INT64_MIN, _INT64_MAX = cv.INT64
_NUMBERED = re.compile(r"^event [0-9]+: ")


def _require(name: str, what: str) -> None:
    """Raise VersionError when the loaded library is too old to have the
    function ``name`` (one of _lib.SINCE), which ``what`` needs."""
    if name in _lib.MISSING:
        raise VersionError(
            f"{what} needs libpersonalize {_lib.MAJOR}.{_lib.SINCE[name]} or later ({name}); "
            f"{lib._name} is libpersonalize {'.'.join(map(str, _lib.VERSION))}"
        )


def _pointer_code() -> Optional[str]:
    """The array/struct format code of an int as wide as a pointer."""
    for code in ("Q", "L", "I"):
        if array(code).itemsize == struct.calcsize(code) == ctypes.sizeof(ctypes.c_void_p):
            return code
    return None


_PTR = _pointer_code() or "Q"


def _event_columns() -> Optional[Dict[str, Tuple[str, int, int]]]:
    """How to fill an array of Event one field at a time: field -> (format
    code, index of the first element, step) in a memoryview of the array
    cast to that code. None when a field is not a whole number of its own
    size from the start of the array (no ABI known to the binding; the
    array is then filled event by event)."""
    codes = {"version": ("I", c_uint), "user": (_PTR, ctypes.c_void_p), "item": (_PTR, ctypes.c_void_p),
             "event_type": (_PTR, ctypes.c_void_p), "value": ("d", c_double), "ts_ms": ("q", c_int64)}
    if _pointer_code() is None or [f for f, *_ in Event._fields_] != list(codes):
        return None
    out = {}
    for field, (code, ctype) in codes.items():
        size = struct.calcsize(code)
        offset = getattr(Event, field).offset
        if size != ctypes.sizeof(ctype) or offset % size or ctypes.sizeof(Event) % size:
            return None
        out[field] = (code, offset // size, ctypes.sizeof(Event) // size)
    return out


_EVENT_COLUMNS = _event_columns()


class _EventAddresses(ctypes.Structure):
    """Event with its strings as plain addresses (the same layout), for
    filling an array event by event when _EVENT_COLUMNS is None."""

    _fields_ = [(name, ctypes.c_void_p if ctype is ctypes.c_char_p else ctype) for name, ctype in Event._fields_]


class _EventBatch:
    """Events converted for pz_track_batch, one array per field, their
    strings as addresses of NUL-terminated UTF-8 copies held in buffers of
    this object (alive until the calls return). A str met again is not
    encoded again: its copy's address is remembered (for exact str only: a
    subclass could change what it equals)."""

    __slots__ = ("address", "pages", "page", "page_address", "used", "users", "items", "types", "values", "times")

    def __init__(self) -> None:
        self.address: Dict[str, int] = {}
        self.pages: List[Any] = []
        self.page = memoryview(b"")
        self.page_address = self.used = 0
        self.clear()

    def clear(self) -> None:
        """Empty the arrays for the next chunk (the copies stay)."""
        self.users, self.items, self.types = array(_PTR), array(_PTR), array(_PTR)
        self.values, self.times = array("d"), array("q")

    def copy(self, value: Any, what: str) -> int:
        """The address of a NUL-terminated copy of a str as cv.text checks
        and encodes it (TypeError, InvalidArgument)."""
        data = cv.text(value, what)
        need = len(data) + 1
        if self.used + need > len(self.page):
            size = max(need, min(2 * len(self.page), 1 << 20), 4096)
            buf = (ctypes.c_ubyte * size)()  # zeroed: each copy ends in a NUL
            self.pages.append(buf)
            self.page, self.page_address, self.used = memoryview(buf).cast("B"), ctypes.addressof(buf), 0
        self.page[self.used : self.used + need - 1] = data
        address = self.page_address + self.used
        self.used += need
        if type(value) is str:
            self.address[value] = address
        return address

    def fill(self, it: Iterator[Any], limit: int, first: int) -> bool:
        """Convert events from ``it`` until the arrays hold ``limit`` (False)
        or ``it`` is exhausted (True), with the conversions of Engine.track.
        An event it would refuse raises as track would, its message
        prefixed "event N: " (N = first + its place in the arrays)."""
        known, copy = self.address.get, self.copy
        users, items, types = self.users.append, self.items.append, self.types.append
        values, times = self.values.append, self.times.append
        n = len(self.users)
        if n >= limit:
            return False
        for ev in it:
            try:
                if type(ev) is not tuple and type(ev) is not list:
                    ev = _event_fields(ev)
                k = len(ev)
                if k == 3:
                    user, item, event = ev
                    value, ts = 1.0, 0
                elif k == 2:
                    user, item = ev
                    event, value, ts = "view", 1.0, 0
                elif k == 5:
                    user, item, event, value, ts = ev
                elif k == 4:
                    user, item, event, value = ev
                    ts = 0
                else:
                    raise TypeError(f"{k} fields; an event is {_EVENT_SHAPE}")
                u = known(user) if type(user) is str else None
                if u is None:
                    u = copy(user, "user")
                i = known(item) if type(item) is str else None
                if i is None:
                    i = copy(item, "item")
                t = known(event) if type(event) is str else None
                if t is None:
                    t = copy(event, "event")
                if type(value) is not float:
                    value = cv.real(value, "value")
                if type(ts) is not int or not _INT64_MIN <= ts <= _INT64_MAX:
                    ts = cv.time_ms(ts, "ts")
            except PersonalizeError as exc:
                raise error_for(exc.code, f"event {first + n}: {exc.message}") from None
            except TypeError as exc:
                raise TypeError(f"event {first + n}: {exc}") from None
            users(u)
            items(i)
            types(t)
            values(value)
            times(ts)
            n += 1
            if n >= limit:
                return False
        return True

    def events(self) -> Any:
        """The converted events as an array of Event."""
        n = len(self.users)
        columns = {"user": self.users, "item": self.items, "event_type": self.types,
                   "value": self.values, "ts_ms": self.times}
        if _EVENT_COLUMNS is None:
            raw = (_EventAddresses * n)(
                *zip([EVENT_VERSION] * n, self.users, self.items, self.types, self.values, self.times)
            )
            return (Event * n).from_buffer(raw)
        out = (Event * n)()
        view = memoryview(out).cast("B")
        columns["version"] = array("I", [EVENT_VERSION]) * n
        for field, column in columns.items():
            code, start, step = _EVENT_COLUMNS[field]
            view.cast(code)[start::step] = column
        return out


def _event_fields(ev: Any) -> Tuple[Any, ...]:
    """A sequence other than tuple or list as a tuple; anything else (a
    str, bytes, a mapping, a number) raises TypeError."""
    if isinstance(ev, (str, bytes, bytearray, memoryview)) or not isinstance(ev, Sequence):
        raise TypeError(f"an event is a tuple {_EVENT_SHAPE}, not {type(ev).__name__}")
    return tuple(ev)


def _track_batch(e: Any, events: Any, first: int) -> Tuple[int, Optional[PersonalizeError]]:
    """pz_track_batch on an array of Event whose first event has index
    ``first`` in the caller's sequence: (events applied, the exception for
    the status or None). A batch the journal refuses as one record larger
    than its limit (PZ_ELIMIT, nothing applied, no event named) is sent
    again in halves. pz_errmsg's "event N: " is renumbered from ``first``."""
    n = len(events)
    size = ctypes.sizeof(Event)
    got = c_size_t()
    done, step = 0, n
    while done < n:
        m = min(step, n - done)
        part = events if m == n else (Event * m).from_buffer(events, done * size)
        rc = lib.pz_track_batch(e, part, m, byref(got))
        done += got.value
        if rc == OK:
            continue
        raw = lib.pz_errmsg()
        message = raw.decode("utf-8", "replace") if raw else ""
        if rc == ELIMIT and got.value == 0 and m > 1 and not _NUMBERED.match(message):
            step = (m + 1) // 2
            continue
        return done, error_for(rc, _NUMBERED.sub(f"event {first + done}: ", message, count=1))
    return done, None


# ---- the engine ------------------------------------------------------------


class _OwnsHandle:
    """Refuses copy, deepcopy and pickle: a copy would share the C object,
    and both copies would free it."""

    _copy_hint = ""
    _pickle_hint = ""

    def __copy__(self) -> Any:
        raise TypeError(f"{_article(type(self).__name__)} cannot be copied ({self._copy_hint})")

    def __deepcopy__(self, memo: Any) -> Any:
        return self.__copy__()

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError(f"{_article(type(self).__name__)} cannot be pickled ({self._pickle_hint})")


def _article(name: str) -> str:
    return ("an " if name[0] in "AEIOU" else "a ") + name


class Engine(_OwnsHandle):
    """A libpersonalize engine: catalogue, profiles, models and choices.

    ``Engine(config)`` opens an engine configured by the YAML file at
    ``config`` (a path), or with every default when ``config`` is None.
    Use :meth:`from_yaml` for YAML text and :meth:`load` for a snapshot.
    ``clock`` (optional) is a callable returning the time in milliseconds
    since the epoch (or a datetime); the engine reads it wherever a time
    argument is 0, which makes tests reproducible.

    An engine is a context manager (``with Engine() as e:``) and may be
    shared by threads. :meth:`close` waits for calls in progress on other
    threads, then frees the engine; any later call raises
    :class:`~personalize.EngineClosed`. Everything returned is a plain
    Python copy that stays valid after the engine is closed.

    Times (``ts``, ``now``, ``expires``) are int milliseconds since the
    Unix epoch or datetimes; 0 means "now by the engine's clock".
    """

    _copy_hint = "save() and Engine.load() make an independent one"
    _pickle_hint = "save() writes a snapshot"


    _h: _Handle = _NO_HANDLE

    def __init__(self, config: Optional[PathLike] = None, *, clock: Optional[Callable[[], Any]] = None) -> None:
        self._h = _Handle(None)
        self._h._closed = True  # until opened, so __del__ and close are safe
        if isinstance(config, str) and "\n" in config:
            raise InvalidArgument("config is a path; use Engine.from_yaml() for YAML text")
        cpath = None if config is None else cv.path(config, "config")
        ptr = engine_p()
        if clock is None:
            check(lib.pz_engine_open(byref(ptr), cpath))
            keep = None
        else:
            opts, keep = _engine_options(clock)
            opts.config_path = cpath
            check(lib.pz_engine_open_with(byref(ptr), byref(opts)))
        self._h = _Handle(ptr, keep)

    @classmethod
    def from_yaml(cls, yaml: Union[str, bytes], *, clock: Optional[Callable[[], Any]] = None) -> "Engine":
        """Open an engine configured by YAML text (messages name "<string>")."""
        data = cv.yaml_bytes(yaml)
        self = cls.__new__(cls)
        self._h = _Handle(None)
        self._h._closed = True
        ptr = engine_p()
        if clock is None:
            keep = None
            check(lib.pz_engine_open_string(byref(ptr), data, len(data)))
        else:
            opts, keep = _engine_options(clock)
            opts.config_text = data
            opts.config_len = len(data)
            check(lib.pz_engine_open_with(byref(ptr), byref(opts)))
        self._h = _Handle(ptr, keep)
        return self

    @classmethod
    def load(
        cls,
        path: PathLike,
        *,
        config: Optional[PathLike] = None,
        yaml: Optional[Union[str, bytes]] = None,
        clock: Optional[Callable[[], Any]] = None,
    ) -> "Engine":
        """Open an engine from a snapshot written by :meth:`save`. Without
        ``config`` or ``yaml`` the configuration stored in the snapshot is
        used (without its ``store`` section)."""
        if config is not None and yaml is not None:
            raise TypeError("give config or yaml, not both")
        p = cv.path(path)
        opts, keep = _engine_options(clock)
        data = None
        if config is not None:
            opts.config_path = cv.path(config, "config")
        elif yaml is not None:
            data = cv.yaml_bytes(yaml)
            opts.config_text = data
            opts.config_len = len(data)
        self = cls.__new__(cls)
        self._h = _Handle(None)
        self._h._closed = True
        ptr = engine_p()
        check(lib.pz_engine_load(byref(ptr), p, byref(opts)))
        self._h = _Handle(ptr, keep)
        return self

    # -- lifetime --

    def close(self) -> None:
        """Free the engine after the calls in progress return. Idempotent."""
        self._h.close()

    @property
    def closed(self) -> bool:
        return self._h.closed

    def __enter__(self) -> "Engine":
        if self._h.closed:
            raise EngineClosed("the engine is closed")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        # never blocks (at interpreter shutdown a daemon thread may be
        # stuck in a call forever): the last call in flight frees instead
        h = getattr(self, "_h", None)
        if h is not None:
            try:
                h.close(wait=False)
            except Exception:  # noqa: BLE001 - never raise from __del__
                pass

    def __repr__(self) -> str:
        return f"<personalize.Engine {'closed' if self.closed else 'open'} at {id(self):#x}>"

    def now(self) -> int:
        """The engine's clock, in ms since the epoch."""
        out = c_int64()
        with self._h as e:
            check(lib.pz_engine_now(byref(out), e))
        return out.value

    # -- persistence --

    def save(self, path: Optional[PathLike] = None) -> None:
        """Write a snapshot atomically to ``path`` (None: config store.snapshot)."""
        p = None if path is None else cv.path(path)
        with self._h as e:
            check(lib.pz_engine_save(e, p))

    def sync(self) -> None:
        """Force the journal to disk now (nothing without a journal)."""
        with self._h as e:
            check(lib.pz_engine_sync(e))

    # -- catalogue --

    def put_item(self, item: str, features: Union[Iterable[str], Mapping[str, float], Iterable[Tuple[str, float]]] = ()) -> None:
        """Create or replace an item with features: an iterable of feature
        strings (weight 1 each), a mapping feature -> weight, or (feature,
        weight) pairs."""
        iid = cv.text(item, "item")
        arr, warr, n = cv.weighted(features, "features")
        with self._h as e:
            check(lib.pz_item_put(e, iid, arr, warr, n))

    def remove_item(self, item: str) -> None:
        """Hide an item from rankings (its id and popularity are kept)."""
        iid = cv.text(item, "item")
        with self._h as e:
            check(lib.pz_item_remove(e, iid))

    def item_count(self) -> int:
        """Number of live items."""
        n = c_size_t()
        with self._h as e:
            check(lib.pz_item_count(byref(n), e))
        return n.value

    def popularity(self, item: str, now: Time = 0) -> Tuple[float, int]:
        """(decayed popularity score, plain event count) of an item."""
        iid = cv.text(item, "item")
        t = cv.time_ms(now, "now")
        score, events = c_double(), c_uint64()
        with self._h as e:
            check(lib.pz_item_popularity(byref(score), byref(events), e, iid, t))
        return score.value, events.value

    # -- profiles --

    def track(self, user: str, item: str, event: str = "view", value: float = 1.0, ts: Time = 0) -> None:
        """Record that ``user`` did ``event`` (a configured event type) on
        ``item`` with ``value`` at ``ts``."""
        u, i, ev = cv.text(user, "user"), cv.text(item, "item"), cv.text(event, "event")
        v = cv.real(value, "value")
        t = cv.time_ms(ts, "ts")
        with self._h as e:
            check(lib.pz_track(e, u, i, ev, v, t))

    def track_many(self, events: Iterable[Sequence[Any]]) -> int:
        """Record events in order, as that many :meth:`track` calls would,
        with one library call per 1,000,000 events (pz_track_batch, which
        needs libpersonalize 1.2: with an older one this raises
        :class:`~personalize.VersionError`). Each event is a tuple (or list)
        ``(user, item)``, ``(user, item, event)``, ``(user, item, event,
        value)`` or ``(user, item, event, value, ts)``, with the defaults
        and conversions of :meth:`track`. Returns the number of events
        recorded: all of them.

        The first event that :meth:`track` would refuse stops the batch: the
        events before it are recorded, it and those after it are not, and
        the exception :meth:`track` would raise for it is raised, its
        message prefixed with "event N: " (N its index, from 0). Every
        exception raised by track_many, including one from iterating
        ``events`` (after the events before are recorded), carries
        ``applied``: the number of events recorded.

        Unlike separate calls, a batch reads the engine's clock once: the
        events with ts 0 all get the time of the call."""
        applied = 0
        try:
            _require("pz_track_batch", "Engine.track_many")
            if isinstance(events, (str, bytes, bytearray, memoryview)):
                raise TypeError(f"events must be an iterable of tuples {_EVENT_SHAPE}, not a single "
                                f"{type(events).__name__}")
            try:
                it = iter(events)
            except TypeError:
                raise TypeError(f"events must be an iterable of tuples {_EVENT_SHAPE}, not "
                                f"{type(events).__name__}") from None
            limit = _BATCH_MAX
            batch = _EventBatch()
            ended = False
            while not ended:
                try:
                    ended = batch.fill(it, limit, applied)
                except Exception:
                    # the events before the one that failed are recorded, as
                    # track() calls in a loop would have recorded them
                    done, error = self._track_batch(batch, applied)
                    applied += done
                    if error is not None:
                        raise error from None  # an earlier event stopped the batch
                    raise
                done, error = self._track_batch(batch, applied)
                applied += done
                if error is not None:
                    raise error
            return applied
        except Exception as exc:
            try:
                exc.applied = applied  # type: ignore[attr-defined]
            except (AttributeError, TypeError):  # an exception type without a __dict__
                pass
            raise

    def _track_batch(self, batch: _EventBatch, first: int) -> Tuple[int, Optional[PersonalizeError]]:
        """Send the events converted into ``batch`` and empty it: (number
        applied, the exception for the event that stopped it or None)."""
        if not batch.users:
            return 0, None
        events = batch.events()
        batch.clear()
        with self._h as e:
            return _track_batch(e, events, first)

    def set_attribute(self, user: str, name: str, value: Union[AttributeValue, int, _dt.datetime]) -> None:
        """Set a typed attribute. The type follows the Python value: str ->
        string, bool -> bool, int/float -> number, Timestamp or datetime ->
        timestamp (ms since the epoch)."""
        u, n = cv.text(user, "user"), cv.text(name, "name")
        if isinstance(value, (Timestamp, _dt.datetime)):
            ms = cv.time_ms(int(value) if isinstance(value, Timestamp) else value, "value")
            fn, arg = lib.pz_profile_set_timestamp, ms
        elif isinstance(value, bool):
            fn, arg = lib.pz_profile_set_bool, int(value)
        elif isinstance(value, str):
            fn, arg = lib.pz_profile_set_string, cv.text(value, "value")
        elif isinstance(value, (int, float)):
            fn, arg = lib.pz_profile_set_number, cv.real(value, "value")
        else:
            raise TypeError(
                f"attribute value must be str, bool, int, float, Timestamp or datetime, not {type(value).__name__}"
            )
        with self._h as e:
            check(fn(e, u, n, arg))

    def get_attribute(self, user: str, name: str) -> AttributeValue:
        """An attribute's value (str, float, bool or Timestamp); NotFound
        when the user or the attribute does not exist."""
        u, n = cv.text(user, "user"), cv.text(name, "name")
        with self._h as e:
            t = c_int()
            check(lib.pz_profile_get_type(byref(t), e, u, n))
            if t.value == _ATTR_STRING:
                raw = _buffered(lambda b, c, lo: lib.pz_profile_get_string(b, c, lo, e, u, n))
                return cv.decode(raw)
            if t.value == _ATTR_NUMBER:
                d = c_double()
                check(lib.pz_profile_get_number(byref(d), e, u, n))
                return d.value
            if t.value == _ATTR_BOOL:
                b = c_int()
                check(lib.pz_profile_get_bool(byref(b), e, u, n))
                return bool(b.value)
            if t.value == _ATTR_TIMESTAMP:
                ms = c_int64()
                check(lib.pz_profile_get_timestamp(byref(ms), e, u, n))
                return Timestamp(ms.value)
        raise PersonalizeError(f"unknown attribute type {t.value}")

    def remove_attribute(self, user: str, name: str) -> None:
        u, n = cv.text(user, "user"), cv.text(name, "name")
        with self._h as e:
            check(lib.pz_profile_remove_attribute(e, u, n))

    def set_consent(self, user: str, purpose: str, granted: bool = True) -> None:
        """Grant or withdraw consent to a purpose ("personalization", ...).
        Withdrawing "personalization" deletes the behavioural data held."""
        u, p = cv.text(user, "user"), cv.text(purpose, "purpose")
        g = cv.flag(granted, "granted")
        with self._h as e:
            check(lib.pz_profile_set_consent(e, u, p, g))

    def consent(self, user: str, purpose: str) -> bool:
        """Whether the user consents to a purpose (the default if no choice)."""
        u, p = cv.text(user, "user"), cv.text(purpose, "purpose")
        out = c_int()
        with self._h as e:
            check(lib.pz_profile_get_consent(byref(out), e, u, p))
        return bool(out.value)

    def interests(self, user: str, k: int = 10, now: Time = 0) -> List[Tuple[str, float]]:
        """The user's top k (feature, decayed score) interests, best first."""
        u = cv.text(user, "user")
        kk = cv.count(k, "k")
        t = cv.time_ms(now, "now")
        lst = interests_p()
        with self._h as e:
            check(lib.pz_profile_interests(byref(lst), e, u, kk, t))
        try:
            return [
                (cv.decode(lib.pz_interests_feature(lst, i)), lib.pz_interests_score(lst, i))
                for i in range(lib.pz_interests_count(lst))
            ]
        finally:
            lib.pz_interests_free(lst)

    def event_count(self, user: str) -> int:
        """Events held in the user's history."""
        u = cv.text(user, "user")
        n = c_size_t()
        with self._h as e:
            check(lib.pz_profile_event_count(byref(n), e, u))
        return n.value

    def profile_count(self) -> int:
        n = c_size_t()
        with self._h as e:
            check(lib.pz_profile_count(byref(n), e))
        return n.value

    def merge(self, from_user: str, into_user: str) -> None:
        """Fold ``from_user``'s profile into ``into_user``'s, then erase it."""
        f, i = cv.text(from_user, "from_user"), cv.text(into_user, "into_user")
        with self._h as e:
            check(lib.pz_profile_merge(e, f, i))

    def erase(self, user: str) -> None:
        """Erase everything held about a user (NotFound if nothing is)."""
        u = cv.text(user, "user")
        with self._h as e:
            check(lib.pz_profile_erase(e, u))

    def export(self, user: str) -> Dict[str, Any]:
        """Everything held about a user, as the parsed JSON document of
        pz_profile_export(3) (format "libpersonalize-export")."""
        u = cv.text(user, "user")
        with self._h as e:
            raw = _buffered(lambda b, c, lo: lib.pz_profile_export(b, c, lo, e, u), 4096)
        return json.loads(raw.decode("utf-8"))

    # -- ranking --

    def recommend(
        self,
        user: str,
        k: int = 10,
        *,
        include_seen: bool = False,
        now: Time = 0,
        offset: int = 0,
        exclude: Optional[Iterable[str]] = None,
        restrict_to: Optional[Iterable[str]] = None,
        context: Optional[Union[Iterable[str], Mapping[str, float]]] = None,
        diversity: Optional[float] = None,
        terse: bool = False,
    ) -> List[Recommendation]:
        """Rank items for ``user`` and return items offset .. offset+k-1.

        exclude: items never to return; restrict_to: only these (None: all;
        an empty iterable: none); context: request features (iterable of
        str, or mapping feature -> weight in (0, 100]); diversity: MMR
        weight in [0, 1] (None: the config's); terse: skip reason texts.
        """
        u = cv.text(user, "user")
        kk = cv.count(k, "k")
        opts = RecommendOptions()
        check(lib.pz_recommend_options_init(byref(opts), RECOMMEND_OPTIONS_VERSION))
        opts.include_seen = cv.flag(include_seen, "include_seen")
        opts.terse = cv.flag(terse, "terse")
        opts.now_ms = cv.time_ms(now, "now")
        opts.offset = cv.count(offset, "offset")
        keep = []
        if exclude is not None:
            arr, n = cv.strings(exclude, "exclude")
            keep.append(arr)
            opts.exclude, opts.n_exclude = ctypes.cast(arr, type(opts.exclude)), n
        if restrict_to is not None:
            arr, n = cv.strings(restrict_to, "restrict_to")
            keep.append(arr)
            opts.restrict_to, opts.n_restrict = ctypes.cast(arr, type(opts.restrict_to)), n
        if context is not None:
            arr, warr, n = cv.weighted(context, "context")
            keep += [arr, warr]
            opts.context, opts.n_context = ctypes.cast(arr, type(opts.context)), n
            if warr is not None:
                opts.context_weights = ctypes.cast(warr, type(opts.context_weights))
        if diversity is not None:
            opts.diversity = cv.real(diversity, "diversity")
            if opts.diversity < 0:  # negative means "config" in C; be explicit
                raise InvalidArgument("diversity must be in [0, 1] (None: the config's)")
        r = recs_p()
        with self._h as e:
            check(lib.pz_recommend(byref(r), e, u, kk, byref(opts)))
        try:
            return _read_recs(r)
        finally:
            lib.pz_recs_free(r)

    def similar_items(self, item: str, k: int = 10) -> List[Recommendation]:
        """The k items most similar to ``item`` (CF neighbours, ALS factors
        or catalogue features; the reason says which)."""
        i = cv.text(item, "item")
        kk = cv.count(k, "k")
        r = recs_p()
        with self._h as e:
            check(lib.pz_similar_items(byref(r), e, i, kk))
        try:
            return _read_recs(r)
        finally:
            lib.pz_recs_free(r)

    # -- customization: the person's choices --

    def block(self, user: str, *, item: Optional[str] = None, feature: Optional[str] = None, expires: Time = 0) -> None:
        """Block an item or a feature (exactly one) for ``user``."""
        if (item is None) == (feature is None):
            raise TypeError("block() needs exactly one of item= or feature=")
        u = cv.text(user, "user")
        x = cv.time_ms(expires, "expires")
        if item is not None:
            t, fn = cv.text(item, "item"), lib.pz_override_block_item
        else:
            t, fn = cv.text(feature, "feature"), lib.pz_override_block_feature
        with self._h as e:
            check(fn(e, u, t, x))

    def require(self, user: str, feature: str, expires: Time = 0) -> None:
        """Only show ``user`` items carrying ``feature``."""
        u, f = cv.text(user, "user"), cv.text(feature, "feature")
        x = cv.time_ms(expires, "expires")
        with self._h as e:
            check(lib.pz_override_require(e, u, f, x))

    def pin(self, user: str, item: str, position: Optional[int] = None, expires: Time = 0) -> None:
        """Pin an item for ``user``, at slot ``position`` (0 first) or, with
        None, at the first slot no positioned pin holds."""
        u, i = cv.text(user, "user"), cv.text(item, "item")
        pos = -1 if position is None else cv.integer(position, "position", cv.INT32)
        if position is not None and pos < 0:
            raise InvalidArgument("position must be >= 0 (None: the first free slot)")
        x = cv.time_ms(expires, "expires")
        with self._h as e:
            check(lib.pz_override_pin(e, u, i, pos, x))

    def adjust(self, user: str, feature: str, factor: float, expires: Time = 0) -> None:
        """Multiply scores of items carrying ``feature`` by ``factor``."""
        u, f = cv.text(user, "user"), cv.text(feature, "feature")
        fa = cv.real(factor, "factor")
        x = cv.time_ms(expires, "expires")
        with self._h as e:
            check(lib.pz_override_adjust(e, u, f, fa, x))

    def more(self, user: str, feature: str, expires: Time = 0) -> None:
        """More of ``feature`` (config overrides.more_factor)."""
        u, f = cv.text(user, "user"), cv.text(feature, "feature")
        x = cv.time_ms(expires, "expires")
        with self._h as e:
            check(lib.pz_override_more(e, u, f, x))

    def less(self, user: str, feature: str, expires: Time = 0) -> None:
        """Less of ``feature`` (config overrides.less_factor)."""
        u, f = cv.text(user, "user"), cv.text(feature, "feature")
        x = cv.time_ms(expires, "expires")
        with self._h as e:
            check(lib.pz_override_less(e, u, f, x))

    def not_interested(self, user: str, item: str, ts: Time = 0) -> None:
        """Dismiss an item: block it and record a dislike event."""
        u, i = cv.text(user, "user"), cv.text(item, "item")
        t = cv.time_ms(ts, "ts")
        with self._h as e:
            check(lib.pz_override_not_interested(e, u, i, t))

    def opt_out(self, user: str, opted_out: bool = True) -> None:
        """Turn personalization off for ``user`` (or back on with False)."""
        u = cv.text(user, "user")
        v = cv.flag(opted_out, "opted_out")
        with self._h as e:
            check(lib.pz_override_opt_out(e, u, v))

    def opted_out(self, user: str) -> bool:
        u = cv.text(user, "user")
        out = c_int()
        with self._h as e:
            check(lib.pz_override_opted_out(byref(out), e, u))
        return bool(out.value)

    def clear_choice(self, user: str, kind: Union[ChoiceKind, int, str], target: str) -> None:
        """Remove one choice: ``kind`` is a ChoiceKind (or its name, e.g.
        "block_item"), ``target`` the item or feature it was made on."""
        if isinstance(kind, str):
            try:
                kind = ChoiceKind[str.upper(kind)]
            except KeyError:
                raise InvalidArgument(f"unknown choice kind {kind!r}") from None
        kd = cv.integer(kind, "kind", cv.INT32)
        u, t = cv.text(user, "user"), cv.text(target, "target")
        with self._h as e:
            check(lib.pz_override_clear(e, u, kd, t))

    def clear_choices(self, user: str) -> None:
        """Remove every choice of ``user`` except opt-out."""
        u = cv.text(user, "user")
        with self._h as e:
            check(lib.pz_override_clear_all(e, u))

    def choices(self, user: str, now: Time = 0) -> List[Choice]:
        """The person's choices in force, oldest first, opt-out last."""
        u = cv.text(user, "user")
        t = cv.time_ms(now, "now")
        c = choices_p()
        with self._h as e:
            check(lib.pz_override_list(byref(c), e, u, t))
        try:
            out = []
            for i in range(lib.pz_choices_count(c)):
                pos = lib.pz_choices_position(c, i)
                out.append(
                    Choice(
                        _maybe_enum(ChoiceKind, lib.pz_choices_kind(c, i)),
                        cv.decode(lib.pz_choices_target(c, i)),
                        lib.pz_choices_factor(c, i),
                        None if pos < 0 else pos,
                        lib.pz_choices_created(c, i),
                        lib.pz_choices_expires(c, i),
                    )
                )
            return out
        finally:
            lib.pz_choices_free(c)

    # -- business rules --

    def load_rules(self, yaml: Union[str, bytes]) -> None:
        """Replace the business rules with those of a ``rules:`` document."""
        data = cv.yaml_bytes(yaml)
        with self._h as e:
            check(lib.pz_override_rules_load(e, data, len(data)))

    def rules(self) -> List[Tuple[str, RuleKind]]:
        """(name, kind) of the rules in force, in precedence order."""
        with self._h as e:
            pairs = _take_list(lib.pz_override_rules, e)
        return [(name, _maybe_enum(RuleKind, int(v))) for name, v in pairs]

    # -- segments and experiments --

    def load_segments(self, yaml: Union[str, bytes]) -> None:
        """Replace segments and experiments with those of a YAML document."""
        data = cv.yaml_bytes(yaml)
        with self._h as e:
            check(lib.pz_segment_load(e, data, len(data)))

    def in_segment(self, user: str, segment: str) -> bool:
        s, u = cv.text(segment, "segment"), cv.text(user, "user")
        out = c_int()
        with self._h as e:
            check(lib.pz_segment_test(byref(out), e, s, u))
        return bool(out.value)

    def segments_of(self, user: str) -> List[str]:
        """Names of the segments ``user`` is in now, in definition order."""
        u = cv.text(user, "user")
        with self._h as e:
            return [name for name, _ in _take_list(lib.pz_segment_of, e, u)]

    def segment_members(self, segment: str) -> List[str]:
        s = cv.text(segment, "segment")
        with self._h as e:
            return [name for name, _ in _take_list(lib.pz_segment_members, e, s)]

    def segment_counts(self) -> Dict[str, int]:
        """Member count of every segment (in definition order)."""
        with self._h as e:
            return {name: int(v) for name, v in _take_list(lib.pz_segment_counts, e)}

    def refresh_segments(self) -> None:
        """Recompute "popular in your segment" tables."""
        with self._h as e:
            check(lib.pz_segment_refresh(e))

    def assign(self, experiment: str, user: str) -> Optional[str]:
        """The variant of ``experiment`` for ``user``; None when the user is
        outside the experiment's coverage or targeting segment."""
        x, u = cv.text(experiment, "experiment"), cv.text(user, "user")
        with self._h as e:
            raw = _buffered(lambda b, c, lo: lib.pz_experiment_assign(b, c, lo, e, x, u), 64)
        return cv.decode(raw) or None

    # -- clusters --

    def train_clusters(
        self,
        k: Optional[int] = None,
        *,
        seed: Optional[int] = None,
        max_iterations: Optional[int] = None,
        batch_size: Optional[int] = None,
    ) -> None:
        """Cluster users by interests (None: the config's value)."""
        opts = ClusterOptions()
        check(lib.pz_cluster_options_init(byref(opts), CLUSTER_OPTIONS_VERSION))
        if k is not None:
            opts.k = cv.integer(k, "k", cv.UINT32)
            if opts.k == 0:
                raise InvalidArgument("k must be at least 1 (None: the config's)")
        if seed is not None:
            opts.seed = cv.integer(seed, "seed", cv.UINT64)
        if max_iterations is not None:
            opts.max_iterations = cv.integer(max_iterations, "max_iterations", cv.UINT32)
        if batch_size is not None:
            opts.batch_size = cv.integer(batch_size, "batch_size", cv.UINT32)
        with self._h as e:
            check(lib.pz_cluster_train(e, byref(opts)))

    def cluster_count(self) -> int:
        n = c_size_t()
        with self._h as e:
            check(lib.pz_cluster_count(byref(n), e))
        return n.value

    def cluster_of(self, user: str) -> Optional[int]:
        """The cluster nearest to the user's interests, or None."""
        u = cv.text(user, "user")
        out = c_int()
        with self._h as e:
            check(lib.pz_cluster_of(byref(out), e, u))
        return None if out.value < 0 else out.value

    def cluster_size(self, cluster: int) -> int:
        c = cv.integer(cluster, "cluster", cv.INT32)
        n = c_size_t()
        with self._h as e:
            check(lib.pz_cluster_size(byref(n), e, c))
        return n.value

    def describe_cluster(self, cluster: int, k: int = 5) -> List[Tuple[str, float]]:
        """The cluster's k strongest (feature, weight) pairs."""
        c = cv.integer(cluster, "cluster", cv.INT32)
        kk = cv.count(k, "k")
        with self._h as e:
            return _take_list(lib.pz_cluster_describe, e, c, kk)

    def set_cluster_name(self, cluster: int, name: Optional[str]) -> None:
        """Name a cluster for segment rules (None removes the name)."""
        c = cv.integer(cluster, "cluster", cv.INT32)
        n = cv.optional_text(name, "name")
        with self._h as e:
            check(lib.pz_cluster_set_name(e, c, n))

    def cluster_name(self, cluster: int) -> Optional[str]:
        """A cluster's name, None when unnamed."""
        c = cv.integer(cluster, "cluster", cv.INT32)
        with self._h as e:
            raw = _buffered(lambda b, cap, lo: lib.pz_cluster_name(b, cap, lo, e, c), 64)
        return cv.decode(raw) or None

    # -- collaborative filtering --

    def train(
        self,
        algorithm: Union[CFAlgorithm, str, None] = None,
        *,
        weighting: Union[CFWeighting, str, None] = None,
        neighbours: Optional[int] = None,
        factors: Optional[int] = None,
        iterations: Optional[int] = None,
        cg_steps: Optional[int] = None,
        threads: Optional[int] = None,
        seed: Optional[int] = None,
        regularization: Optional[float] = None,
        alpha: Optional[float] = None,
        bm25_k1: Optional[float] = None,
        bm25_b: Optional[float] = None,
        als_share: Optional[float] = None,
    ) -> None:
        """Train the collaborative-filtering model and swap it in. Every
        option left None takes the config's value; algorithm and weighting
        take the enum or its name ("knn", "als", "both", "off"; "none",
        "tfidf", "bm25")."""
        opts = CFOptions()
        check(lib.pz_cf_options_init(byref(opts), CF_OPTIONS_VERSION))
        if algorithm is not None:
            opts.algorithm = _enum_value(CFAlgorithm, algorithm, "algorithm")
        if weighting is not None:
            opts.weighting = _enum_value(CFWeighting, weighting, "weighting")
        for name, value in (("neighbours", neighbours), ("factors", factors), ("iterations", iterations),
                            ("cg_steps", cg_steps), ("threads", threads)):
            if value is not None:
                v = cv.integer(value, name, cv.UINT32)
                if v == 0:
                    raise InvalidArgument(f"{name} must be at least 1 (None: the config's)")
                setattr(opts, name, v)
        if seed is not None:
            opts.seed = cv.integer(seed, "seed", cv.UINT64)
        for name, fvalue in (("regularization", regularization), ("alpha", alpha), ("bm25_k1", bm25_k1),
                             ("bm25_b", bm25_b), ("als_share", als_share)):
            if fvalue is not None:
                fv = cv.real(fvalue, name)
                if fv < 0:  # -1 means "config" in C; keep that out of reach
                    raise OutOfRange(f"{name} must not be negative (None: the config's)")
                setattr(opts, name, fv)
        with self._h as e:
            check(lib.pz_cf_train(e, byref(opts)))

    def cf_stats(self) -> Optional[CFModelStats]:
        """The serving CF model, or None when there is none."""
        st = _CFStats()
        st.version = CF_STATS_VERSION
        with self._h as e:
            rc = lib.pz_cf_stats_get(byref(st), e)
        if rc == ENOTFOUND:
            return None
        check(rc)
        return CFModelStats(
            _maybe_enum(CFAlgorithm, st.algorithm), st.users, st.items, st.interactions, st.factors, st.neighbours,
            st.iterations, st.threads, st.erased_since, st.train_seconds, st.trained_at_ms,
        )

    def cf_loss(self) -> List[float]:
        """ALS training loss after each sweep (NotFound without ALS)."""
        with self._h as e:
            n = c_size_t()
            cap = 64
            for _ in range(64):
                buf = (c_double * cap)()
                rc = lib.pz_cf_loss(buf, cap, byref(n), e)
                if rc == EBUFS:
                    cap = max(cap * 2, n.value)
                    continue
                check(rc)
                return list(buf[: n.value])
            check(EBUFS)
        raise AssertionError("unreachable")

    def import_ratings(
        self,
        path: PathLike,
        *,
        format: Union[RatingsFormat, str] = RatingsFormat.AUTO,
        event: Optional[str] = None,
        binary: bool = False,
        min_value: Optional[float] = None,
        use_timestamps: bool = True,
        now: Time = 0,
    ) -> int:
        """Track every row of a ratings file; returns the rows tracked."""
        p = cv.path(path)
        opts = CFImportOptions()
        check(lib.pz_cf_import_options_init(byref(opts), CF_IMPORT_OPTIONS_VERSION))
        opts.format = _enum_value(RatingsFormat, format, "format")
        ev = cv.optional_text(event, "event")
        opts.event_type = ev
        opts.binary = cv.flag(binary, "binary")
        if min_value is not None:
            opts.min_value = cv.real(min_value, "min_value")
        opts.use_timestamps = cv.flag(use_timestamps, "use_timestamps")
        opts.now_ms = cv.time_ms(now, "now")
        rows = c_uint64()
        with self._h as e:
            check(lib.pz_cf_import(e, p, byref(opts), byref(rows)))
        return rows.value

    # -- sparse vectors --

    def vector(self) -> "SparseVector":
        """An empty sparse vector hashing with this engine's identity."""
        return SparseVector(self)


def _enum_value(cls: Any, value: Any, what: str) -> int:
    if isinstance(value, str):
        try:
            return int(cls[str.upper(value)])
        except KeyError:
            raise InvalidArgument(f"unknown {what} {value!r}") from None
    return cv.integer(value, what, cv.INT32)


class SparseVector(_OwnsHandle):
    """A hashed sparse vector (pz_svec). Made with ``Engine.vector()`` (the
    engine's hash identity) or ``SparseVector()`` (seed 0, 20 bits); it does
    not need the engine afterwards. Operations on one vector are serialized
    by a lock, so sharing one between threads is safe. A vector cannot be
    copied or pickled (two owners of one pz_svec would free it twice)."""

    _copy_hint = "make a new one and add() this one to it"
    _pickle_hint = "entries() gives its content"


    # for objects made without __init__: every operation gets NULL and the
    # library's InvalidArgument
    _ptr: Any = None
    _lock: Any = threading.Lock()

    def __init__(self, engine: Optional[Engine] = None) -> None:
        self._lock = threading.Lock()
        ptr = svec_p()
        if engine is None:
            check(lib.pz_svec_new(byref(ptr), None))
        else:
            if not isinstance(engine, Engine):
                raise TypeError(f"engine must be an Engine, not {type(engine).__name__}")
            with engine._h as e:
                check(lib.pz_svec_new(byref(ptr), e))
        self._ptr = ptr

    def __del__(self) -> None:
        ptr = self.__dict__.get("_ptr")
        if ptr:
            self._ptr = None
            lib.pz_svec_free(ptr)

    def _pair(self, other: "SparseVector") -> Tuple[Any, Any]:
        if not isinstance(other, SparseVector):
            raise TypeError(f"expected a SparseVector, not {type(other).__name__}")
        return (self._lock, other._lock) if id(self) <= id(other) else (other._lock, self._lock)

    def _binary(self, fn: Any, other: "SparseVector") -> float:
        a, b = self._pair(other)
        out = c_double()
        with a:
            if b is a:
                check(fn(byref(out), self._ptr, other._ptr))
            else:
                with b:
                    check(fn(byref(out), self._ptr, other._ptr))
        return out.value

    def add_feature(self, feature: str, weight: float = 1.0) -> "SparseVector":
        f, w = cv.text(feature, "feature"), cv.real(weight, "weight")
        with self._lock:
            check(lib.pz_svec_add_feature(self._ptr, f, w))
        return self

    def add(self, other: "SparseVector", scale: float = 1.0) -> "SparseVector":
        """self += scale * other."""
        s = cv.real(scale, "scale")
        a, b = self._pair(other)
        with a:
            if b is a:
                check(lib.pz_svec_add(self._ptr, other._ptr, s))
            else:
                with b:
                    check(lib.pz_svec_add(self._ptr, other._ptr, s))
        return self

    def scale(self, factor: float) -> "SparseVector":
        f = cv.real(factor, "factor")
        with self._lock:
            check(lib.pz_svec_scale(self._ptr, f))
        return self

    def dot(self, other: "SparseVector") -> float:
        return self._binary(lib.pz_svec_dot, other)

    def cosine(self, other: "SparseVector") -> float:
        return self._binary(lib.pz_svec_cosine, other)

    def norm(self) -> float:
        out = c_double()
        with self._lock:
            check(lib.pz_svec_norm(byref(out), self._ptr))
        return out.value

    def __len__(self) -> int:
        with self._lock:
            return lib.pz_svec_nnz(self._ptr)

    def entries(self) -> List[Tuple[int, float]]:
        """Every (index, value) in index order."""
        idx, val = c_uint32(), c_double()
        with self._lock:
            out = []
            for i in range(lib.pz_svec_nnz(self._ptr)):
                check(lib.pz_svec_entry(byref(idx), byref(val), self._ptr, i))
                out.append((idx.value, val.value))
        return out

    def top(self, k: int) -> List[Tuple[int, float]]:
        """The k largest (index, value) entries, best first."""
        kk = cv.count(k, "k")
        with self._lock:
            cap = min(kk, lib.pz_svec_nnz(self._ptr)) or 1
            idx, val, n = (c_uint32 * cap)(), (c_double * cap)(), c_size_t()
            check(lib.pz_svec_top(idx, val, cap, byref(n), self._ptr, kk))
            return [(idx[i], val[i]) for i in range(n.value)]


def feature_hash(feature: str, seed: int = 0, bits: int = 20) -> Tuple[int, int]:
    """(index, sign) of a feature string under a hash identity."""
    f = cv.text(feature, "feature")
    s = cv.integer(seed, "seed", cv.UINT64)
    b = cv.integer(bits, "bits", cv.UINT32)
    idx, sign = c_uint32(), c_int()
    check(lib.pz_feature_hash(byref(idx), byref(sign), f, s, b))
    return idx.value, sign.value


def experiment_bucket(user: str, seed: int) -> float:
    """The bucket in [0, 1) of a user id under an experiment seed."""
    u = cv.text(user, "user")
    s = cv.integer(seed, "seed", cv.UINT64)
    out = c_double()
    check(lib.pz_experiment_bucket(byref(out), u, s))
    return out.value
