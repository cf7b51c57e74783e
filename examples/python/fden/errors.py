"""Exceptions carrying libfden's status code and detail message."""

from . import _lib

OK = 0
E_INVALID = -1
E_NOMEM = -2
E_SHAPE = -3
E_IO = -4
E_FORMAT = -5
E_VERSION = -6
E_CORRUPT = -7
E_NONFINITE = -8
E_HOST = -9
E_STATE = -10
E_OVERFLOW = -11
E_UNSUPPORTED = -12

STATUS_NAMES = {
    OK: "FDEN_OK", E_INVALID: "FDEN_E_INVALID", E_NOMEM: "FDEN_E_NOMEM",
    E_SHAPE: "FDEN_E_SHAPE", E_IO: "FDEN_E_IO", E_FORMAT: "FDEN_E_FORMAT",
    E_VERSION: "FDEN_E_VERSION", E_CORRUPT: "FDEN_E_CORRUPT",
    E_NONFINITE: "FDEN_E_NONFINITE", E_HOST: "FDEN_E_HOST", E_STATE: "FDEN_E_STATE",
    E_OVERFLOW: "FDEN_E_OVERFLOW", E_UNSUPPORTED: "FDEN_E_UNSUPPORTED",
}


def strerror(status):
    """libfden's static message for a status code (fden_strerror)."""
    try:
        return _lib.decode(_lib.fn.strerror(int(status)))
    except Exception:  # a library without fden_strerror
        return STATUS_NAMES.get(status, "unknown status")


def last_error():
    """Detail of the calling thread's most recent failure (fden_last_error)."""
    return _lib.decode(_lib.fn.last_error()) or ""


class FdenError(Exception):
    """A libfden call failed.

    Attributes:
        status: the negative ``enum fden_status`` value (e.g. ``E_SHAPE``)
        name: its C name, e.g. ``"FDEN_E_SHAPE"``
        reason: ``fden_strerror(status)``
        detail: ``fden_last_error()`` at the time of the failure
    """

    def __init__(self, status, detail=""):
        self.status = int(status)
        self.name = STATUS_NAMES.get(self.status, "FDEN_E_%d" % -self.status)
        self.reason = strerror(self.status)
        self.detail = detail or ""
        msg = "%s (%s)" % (self.reason, self.name)
        if self.detail:
            msg += ": " + self.detail
        super().__init__(msg)


class InvalidArgumentError(FdenError, ValueError):
    """FDEN_E_INVALID"""


class ShapeError(FdenError, ValueError):
    """FDEN_E_SHAPE"""


class FileError(FdenError, OSError):
    """FDEN_E_IO, FDEN_E_FORMAT, FDEN_E_VERSION, FDEN_E_CORRUPT"""


class NonFiniteError(FdenError, ArithmeticError):
    """FDEN_E_NONFINITE"""


class HostError(FdenError):
    """FDEN_E_HOST: a host callback failed; ``__cause__`` holds its exception."""


_CLASSES = {
    E_INVALID: InvalidArgumentError, E_SHAPE: ShapeError, E_IO: FileError,
    E_FORMAT: FileError, E_VERSION: FileError, E_CORRUPT: FileError,
    E_NONFINITE: NonFiniteError, E_HOST: HostError,
}


def error_for(status, detail=None):
    """The exception for a status, its detail read from fden_last_error()."""
    if detail is None:
        detail = last_error()
    return _CLASSES.get(int(status), FdenError)(status, detail)


def check(status):
    """Raise the matching FdenError unless status is FDEN_OK."""
    if status != OK:
        raise error_for(status)
    return status
