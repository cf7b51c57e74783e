"""NumPy argument checks: libfden reads and writes row-major float32 and int32.

Inputs are never converted silently: a float64 or non-contiguous array is
rejected with a TypeError/ValueError that says how to fix it, so that a
caller never pays for (or is surprised by) a hidden copy.
"""

import ctypes

import numpy as np

from . import _lib


def f32(a, name, ndim=2, cols=None, rows=None):
    """Check that a is a C-contiguous float32 array of ndim dimensions.

    cols/rows, when given, are the required sizes of the last/first axis.
    Returns a (possibly 2-D reshaped) view.
    """
    if not isinstance(a, np.ndarray):
        raise TypeError("%s must be a numpy.ndarray of float32, got %s"
                        % (name, type(a).__name__))
    if a.dtype != np.float32:
        raise TypeError("%s must have dtype float32, got %s (use %s.astype(numpy.float32))"
                        % (name, a.dtype, name))
    if not a.flags["C_CONTIGUOUS"]:
        raise ValueError("%s must be C-contiguous (use numpy.ascontiguousarray(%s))"
                         % (name, name))
    if a.ndim != ndim:
        raise ValueError("%s must be %d-D, got shape %s" % (name, ndim, a.shape))
    if cols is not None and a.shape[-1] != cols:
        raise ValueError("%s must have %d columns, got shape %s" % (name, cols, a.shape))
    if rows is not None and a.shape[0] != rows:
        raise ValueError("%s must have %d rows, got shape %s" % (name, rows, a.shape))
    return a


def i32(a, name, n=None):
    """Check that a is a C-contiguous 1-D int32 array (of n entries)."""
    if not isinstance(a, np.ndarray):
        raise TypeError("%s must be a numpy.ndarray of int32, got %s"
                        % (name, type(a).__name__))
    if a.dtype != np.int32:
        raise TypeError("%s must have dtype int32, got %s (use %s.astype(numpy.int32))"
                        % (name, a.dtype, name))
    if not a.flags["C_CONTIGUOUS"]:
        raise ValueError("%s must be C-contiguous" % name)
    if a.ndim != 1:
        raise ValueError("%s must be 1-D, got shape %s" % (name, a.shape))
    if n is not None and a.shape[0] != n:
        raise ValueError("%s must have %d entries, got %d" % (name, n, a.shape[0]))
    return a


def fptr(a):
    """float* to an array's data (None -> NULL)."""
    if a is None:
        return None
    return a.ctypes.data_as(_lib.c_float_p)


def iptr(a):
    """int32_t* to an array's data (None -> NULL)."""
    if a is None:
        return None
    return a.ctypes.data_as(_lib.c_int32_p)


def view_f32(ptr, rows, cols):
    """A NumPy view (no copy) of rows x cols floats at a C pointer."""
    if rows == 0 or cols == 0:
        return np.empty((rows, cols), dtype=np.float32)
    return np.ctypeslib.as_array(ptr, shape=(rows, cols))


def copy_f32(ptr, rows, cols):
    """A copy of rows x cols floats at a C pointer."""
    return view_f32(ptr, rows, cols).copy()


def copy_i32(ptr, n):
    """A copy of n int32 at a C pointer."""
    if n == 0:
        return np.empty(0, dtype=np.int32)
    return np.ctypeslib.as_array(ctypes.cast(ptr, _lib.c_int32_p), shape=(n,)).copy()
