"""Owned C handles: freed by close(), by a ``with`` block, or by a finalizer."""

import ctypes
import weakref

from . import errors


def _release(free, ptr, keep):
    """Finalizer body: free ptr; keep stays referenced until now."""
    free(ptr)


class Handle:
    """Base of every object that owns a libfden handle.

    The handle is freed exactly once: by :meth:`close`, at the end of a
    ``with`` block, or by a :func:`weakref.finalize` finalizer when the
    object is garbage collected (or at interpreter exit). ``keep`` holds
    objects the C side borrows (callbacks, a parent data set) until then.
    """

    _free = None  # the C free function, set by subclasses

    def _own(self, ptr, *keep):
        self._ptr = ptr
        self._finalizer = weakref.finalize(self, _release, type(self)._free, ptr, keep)

    @staticmethod
    def _new(ctor, *args):
        """Call ctor(*args, &out), check the status and return out."""
        out = ctypes.c_void_p()
        errors.check(ctor(*args, ctypes.byref(out)))
        return out.value

    @property
    def closed(self):
        """True once the handle has been freed."""
        return not getattr(self, "_finalizer", None) or not self._finalizer.alive

    @property
    def ptr(self):
        """The raw C pointer (an int); raises if the handle is closed."""
        if self.closed:
            raise errors.FdenError(errors.E_STATE,
                                   "%s is closed" % type(self).__name__)
        return self._ptr

    def close(self):
        """Free the C handle now; later calls raise FDEN_E_STATE. Idempotent."""
        fin = getattr(self, "_finalizer", None)
        if fin is not None:
            fin()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
