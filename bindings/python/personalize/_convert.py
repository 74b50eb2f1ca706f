"""Checking and converting Python arguments before they reach C.

ctypes converts silently: an int too large for a size_t wraps, a str with
a NUL is cut short at the NUL. Everything that goes to the library passes
through these helpers first, so such values raise instead.
"""

from __future__ import annotations

import datetime as _dt
import operator
from ctypes import c_char_p, c_double, c_int, c_int64, c_size_t, c_uint32, c_uint64, sizeof
from typing import Any, Mapping, Optional, Union

from .errors import InvalidArgument, OutOfRange


def _signed(ctype: Any) -> tuple[int, int]:
    bits = 8 * sizeof(ctype)
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)


def _unsigned(ctype: Any) -> tuple[int, int]:
    return (0, 2 ** (8 * sizeof(ctype)) - 1)


# bounds of the C types, from ctypes itself (size_t is 32 bits on 32-bit
# hosts); INT32 is C int, used for every int parameter and field
INT32 = _signed(c_int)
INT64 = _signed(c_int64)
UINT32 = _unsigned(c_uint32)
UINT64 = _unsigned(c_uint64)
SIZE = _unsigned(c_size_t)

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_MS = _dt.timedelta(milliseconds=1)

Time = Union[int, _dt.datetime]


def text(value: Any, what: str) -> bytes:
    """A str argument as NUL-terminated UTF-8 bytes.

    Only str is accepted (bytes raise TypeError: ids are text). The
    characters are read with ``str.encode`` itself, so a str subclass that
    overrides ``encode`` or ``__contains__`` cannot smuggle in a NUL (which
    C would read as the end of the string) or a non-bytes value; a lone
    surrogate (not encodable as UTF-8) raises InvalidArgument."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, not {type(value).__name__}")
    try:
        data = str.encode(value, "utf-8", "strict")
    except UnicodeEncodeError as exc:
        raise InvalidArgument(f"{what} is not encodable as UTF-8: {exc.reason}") from None
    if b"\0" in data:
        raise InvalidArgument(f"{what} contains a NUL character")
    return data


def optional_text(value: Any, what: str) -> Optional[bytes]:
    return None if value is None else text(value, what)


def yaml_bytes(value: Any, what: str = "yaml") -> bytes:
    """YAML given as str or a bytes-like object (passed as it is, with its
    length: the library refuses a NUL inside)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            return bytes(memoryview(value).cast("B"))
        except (TypeError, ValueError):
            raise TypeError(f"{what} must be str or a contiguous bytes-like object") from None
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str or bytes, not {type(value).__name__}")
    try:
        return str.encode(value, "utf-8", "strict")
    except UnicodeEncodeError as exc:
        raise InvalidArgument(f"{what} is not encodable as UTF-8: {exc.reason}") from None


def path(value: Any, what: str = "path") -> bytes:
    """A file name (str, bytes or os.PathLike of either), encoded as the
    file system encoding says (str paths with undecodable bytes, i.e.
    surrogate escapes, round-trip); a NUL or an unencodable character
    raises InvalidArgument."""
    import os
    import sys

    try:
        value = os.fspath(value)
    except TypeError:
        raise TypeError(f"{what} must be a path, not {type(value).__name__}") from None
    if isinstance(value, bytes):
        data = bytes(memoryview(value))  # the bytes themselves, not a subclass
    else:
        try:
            data = str.encode(value, sys.getfilesystemencoding(), sys.getfilesystemencodeerrors())
        except UnicodeEncodeError as exc:
            raise InvalidArgument(f"{what} is not encodable for the file system: {exc.reason}") from None
    if b"\0" in data:
        raise InvalidArgument(f"{what} contains a NUL character")
    return data


def integer(value: Any, what: str, bounds: tuple[int, int]) -> int:
    """An int within the C type's bounds (bool refused)."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be int, not bool")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be int, not {type(value).__name__}") from None
    lo, hi = bounds
    if value < lo:
        if lo == 0:
            raise InvalidArgument(f"{what} must not be negative (got {value})")
        raise OutOfRange(f"{what} {value} is below {lo}")
    if value > hi:
        raise OutOfRange(f"{what} {value} is above {hi}")
    return value


def count(value: Any, what: str) -> int:
    return integer(value, what, SIZE)


def real(value: Any, what: str) -> float:
    """A float (int accepted, bool refused; objects with __index__ or
    __float__ too). NaN and infinities are passed on: the library refuses
    them with its own message. An int too large for a double raises
    OutOfRange."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be a number, not bool")
    if not isinstance(value, (int, float)):
        try:
            value = operator.index(value)
        except TypeError:
            if not hasattr(type(value), "__float__"):
                raise TypeError(f"{what} must be a number, not {type(value).__name__}") from None
    try:
        out = float(value)
    except OverflowError:
        raise OutOfRange(f"{what} is too large for a double") from None
    return out


def flag(value: Any, what: str) -> int:
    if not isinstance(value, (bool, int)) or isinstance(value, int) and value not in (0, 1):
        if isinstance(value, int):
            raise InvalidArgument(f"{what} must be True or False (got {value})")
        raise TypeError(f"{what} must be bool, not {type(value).__name__}")
    return int(value)


def to_ms(value: _dt.datetime) -> int:
    """A datetime as ms since the epoch (naive: local time). A datetime the
    platform cannot place in local time raises OutOfRange."""
    try:
        if value.tzinfo is None:
            # naive datetimes are local time, as datetime.timestamp() reads them
            value = value.astimezone()
        return (value - _EPOCH) // _MS
    except (OverflowError, OSError, ValueError) as exc:
        raise OutOfRange(f"datetime {value!r} cannot be converted to a time: {exc}") from None


def time_ms(value: Any, what: str) -> int:
    """A time: int milliseconds since the epoch, or a datetime."""
    if isinstance(value, _dt.datetime):
        value = to_ms(value)
    return integer(value, what, INT64)


def strings(values: Any, what: str) -> tuple[Any, int]:
    """An iterable of str as a C array (kept alive by the caller) and its
    length. A bare str is refused: it would be read as its characters."""
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{what} must be an iterable of str, not a single {type(values).__name__}")
    try:
        items = list(values)
    except TypeError:
        raise TypeError(f"{what} must be an iterable of str, not {type(values).__name__}") from None
    encoded = [text(v, f"{what}[{i}]") for i, v in enumerate(items)]
    arr = (c_char_p * max(1, len(encoded)))(*encoded)
    return arr, len(encoded)


def weighted(values: Any, what: str) -> tuple[Any, Any, int]:
    """Features with weights: a Mapping[str, float], an iterable of
    (feature, weight) pairs, or an iterable of str (weight 1 each, and
    the weights array is NULL)."""
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{what} must be an iterable of str or a mapping, not a single {type(values).__name__}")
    if isinstance(values, Mapping):
        pairs = list(values.items())
    else:
        try:
            pairs = list(values)
        except TypeError:
            raise TypeError(f"{what} must be an iterable or a mapping, not {type(values).__name__}") from None
        if all(isinstance(p, str) for p in pairs):
            arr, n = strings(pairs, what)
            return arr, None, n
        for i, p in enumerate(pairs):
            if not (isinstance(p, tuple) and len(p) == 2):
                raise TypeError(f"{what}[{i}] must be str or a (feature, weight) pair")
    names = [text(k, f"{what} key") for k, _ in pairs]
    weights = [real(w, f"{what}[{k!r}]") for k, w in pairs]
    n = len(names)
    arr = (c_char_p * max(1, n))(*names)
    warr = (c_double * max(1, n))(*weights)
    return arr, warr, n


def decode(raw: Optional[bytes]) -> str:
    """Text from the library (always UTF-8; be lenient anyway)."""
    if raw is None:
        return ""
    return raw.decode("utf-8", "surrogateescape")
