"""Python binding of libpersonalize (ctypes; no compiler needed).

    from personalize import Engine
    with Engine() as engine:
        engine.put_item("a", ["genre=jazz"])
        engine.track("ann", "a", "view")
        print(engine.recommend("ann", 5, include_seen=True))

The shared library is found through the environment variable
PERSONALIZE_LIBRARY (a path), then next to this package, then as the
system's libpersonalize.so.1. Its version must be 1.1 or a later 1.x
(Engine.track_many needs 1.2: with 1.1 it raises VersionError).
See help(personalize.Engine) and personalize.errors for the exceptions.
"""

from ._lib import lib as _cdll
from .engine import (
    Because,
    CFAlgorithm,
    CFModelStats,
    CFWeighting,
    Choice,
    ChoiceKind,
    Contributions,
    Engine,
    RatingsFormat,
    Reason,
    ReasonCode,
    Recommendation,
    RecsFlag,
    RuleKind,
    SparseVector,
    Timestamp,
    experiment_bucket,
    feature_hash,
)
from .errors import (
    AlreadyExists,
    BufferTooSmall,
    ConfigError,
    ConsentError,
    CorruptError,
    EngineClosed,
    ForkError,
    FormatError,
    InternalError,
    InvalidArgument,
    LimitExceeded,
    NotFound,
    OutOfMemory,
    OutOfRange,
    PersonalizeError,
    PersonalizeIOError,
    TypeMismatch,
    VersionError,
    strerror,
)

__version__ = "1.2.0"


def library_version() -> str:
    """The loaded libpersonalize's version string ("1.2.0")."""
    return _cdll.pz_version_string().decode("ascii")


def library_version_number() -> int:
    """The loaded library's MAJOR*10000 + MINOR*100 + PATCH."""
    return int(_cdll.pz_version_number())


__all__ = [
    "AlreadyExists", "Because", "BufferTooSmall", "CFAlgorithm", "CFModelStats", "CFWeighting",
    "Choice", "ChoiceKind", "ConfigError", "ConsentError", "Contributions", "CorruptError",
    "Engine", "EngineClosed", "ForkError", "FormatError", "InternalError", "InvalidArgument", "LimitExceeded",
    "NotFound", "OutOfMemory", "OutOfRange", "PersonalizeError", "PersonalizeIOError",
    "RatingsFormat", "Reason", "ReasonCode", "Recommendation", "RecsFlag", "RuleKind",
    "SparseVector", "Timestamp", "TypeMismatch", "VersionError", "experiment_bucket",
    "feature_hash", "library_version", "library_version_number", "strerror",
]
