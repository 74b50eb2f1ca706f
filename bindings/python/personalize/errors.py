"""Exceptions: one class per libpersonalize status code.

Every failing C call raises a subclass of :class:`PersonalizeError`, which
carries ``.code`` (the negative ``pz_status`` value of
``personalize/errors.h``), ``.status`` (its fixed text from
``pz_strerror()``) and ``.message`` (the detail from ``pz_errmsg()``, read
on the calling thread right after the call).

Each subclass also derives from the built-in exception a Python caller
would expect, so ordinary handlers work::

    ==================  =====  ========================================
    class               code   also a
    ==================  =====  ========================================
    InternalError        -1    RuntimeError
    OutOfMemory          -2    MemoryError
    InvalidArgument      -3    ValueError
    NotFound             -4    LookupError (KeyError)
    AlreadyExists        -5    --
    BufferTooSmall       -6    --  (the binding retries; never seen)
    OutOfRange           -7    ValueError
    VersionError         -8    --
    ConfigError          -9    ValueError
    PersonalizeIOError  -10    OSError
    FormatError         -11    ValueError
    CorruptError        -12    ValueError
    ConsentError        -13    --  (PermissionError would make it an OSError)
    TypeMismatch        -14    TypeError
    LimitExceeded       -15    --
    ForkError           -16    --  (the engine was opened before a fork)
    ==================  =====  ========================================

An :class:`~personalize.Engine` belongs to the process that opened it: in
a child made by ``os.fork()`` (``multiprocessing`` with the fork start
method, gunicorn or uWSGI workers forked after the engine was opened)
every method raises :class:`ForkError` and closing the engine only closes
its files. Open engines after the fork, in each worker.

:class:`EngineClosed` (an :class:`InvalidArgument`, code -3) is raised by
any method of a closed engine. Errors caught by the binding before the
call (a negative count, an int too large for the C type, a str that is not
encodable as UTF-8 or holds a NUL) raise :class:`InvalidArgument` or
:class:`OutOfRange` with the same codes the library would use. Wrong
Python types raise plain :class:`TypeError`.

An exception raised by :meth:`Engine.track_many` (of any class, TypeError
included) also carries ``.applied``: the number of events recorded before
the one that stopped the batch.
"""

from __future__ import annotations

from typing import Optional

from ._lib import lib

OK = 0
ERROR = -1
ENOMEM = -2
EINVAL = -3
ENOTFOUND = -4
EEXISTS = -5
EBUFS = -6
ERANGE = -7
EVERSION = -8
ECONFIG = -9
EIO = -10
EFORMAT = -11
ECORRUPT = -12
ECONSENT = -13
ETYPE = -14
ELIMIT = -15
EFORK = -16


def strerror(code: int) -> str:
    """Fixed English text of a status code (``pz_strerror``)."""
    if not isinstance(code, int) or not -(2**31) <= code < 2**31:
        return "unknown status code"
    return lib.pz_strerror(code).decode("utf-8", "replace")


class PersonalizeError(Exception):
    """A libpersonalize call failed.

    Attributes: ``code`` (negative status), ``status`` (pz_strerror text),
    ``message`` (pz_errmsg detail).
    """

    code: int = ERROR

    def __init__(self, message: str, code: Optional[int] = None) -> None:
        if code is not None:
            self.code = code
        self.message = message
        self.status = strerror(self.code)
        super().__init__(message)

    def __str__(self) -> str:
        if self.message and self.message != self.status:
            return f"{self.status}: {self.message}"
        return self.status

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code})"

    def __reduce__(self):  # keep pickling sane with multiple bases
        return (type(self), (self.message, self.code))


class InternalError(PersonalizeError, RuntimeError):
    code = ERROR


class OutOfMemory(PersonalizeError, MemoryError):
    code = ENOMEM


class InvalidArgument(PersonalizeError, ValueError):
    code = EINVAL


class NotFound(PersonalizeError, KeyError):
    code = ENOTFOUND


class AlreadyExists(PersonalizeError):
    code = EEXISTS


class BufferTooSmall(PersonalizeError):
    code = EBUFS


class OutOfRange(PersonalizeError, ValueError):
    code = ERANGE


class VersionError(PersonalizeError):
    code = EVERSION


class ConfigError(PersonalizeError, ValueError):
    code = ECONFIG


class PersonalizeIOError(PersonalizeError, OSError):
    code = EIO


class FormatError(PersonalizeError, ValueError):
    code = EFORMAT


class CorruptError(PersonalizeError, ValueError):
    code = ECORRUPT


class ConsentError(PersonalizeError):
    code = ECONSENT


class TypeMismatch(PersonalizeError, TypeError):
    code = ETYPE


class LimitExceeded(PersonalizeError):
    code = ELIMIT


class ForkError(PersonalizeError):
    """The engine was opened by another process, of which this one is a
    fork: open a new engine in this process."""
    code = EFORK


class EngineClosed(InvalidArgument):
    """A method was called on a closed engine."""


_BY_CODE = {
    cls.code: cls
    for cls in (
        InternalError,
        OutOfMemory,
        InvalidArgument,
        NotFound,
        AlreadyExists,
        BufferTooSmall,
        OutOfRange,
        VersionError,
        ConfigError,
        PersonalizeIOError,
        FormatError,
        CorruptError,
        ConsentError,
        TypeMismatch,
        LimitExceeded,
        ForkError,
    )
}


def error_for(code: int, message: str) -> PersonalizeError:
    """The exception object for a status code and message."""
    cls = _BY_CODE.get(code)
    if cls is None:
        return PersonalizeError(message, code)
    return cls(message)


def check(code: int) -> None:
    """Raise the matching exception for a nonzero status; pz_errmsg() is
    read at once, on this thread, before any other pz_* call."""
    if code == OK:
        return
    raw = lib.pz_errmsg()
    message = raw.decode("utf-8", "replace") if raw else ""
    raise error_for(code, message)
