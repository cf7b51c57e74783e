"""Data sets (IDX, NPY, arrays), class splits and the episode sampler."""

import ctypes
import os

import numpy as np

from . import _arrays, _lib, errors
from ._handle import Handle


def _p(path):
    return None if path is None else os.fsencode(path)


class Dataset(Handle):
    """n rows of ``dim`` float32 with an int32 label each (struct fden_dataset).

    Build one with :meth:`from_arrays`, :meth:`load_idx` or :meth:`load_npy`.
    ``x`` and ``labels`` return copies.
    """

    _free = _lib.fn.dataset_free

    @classmethod
    def _adopt(cls, ptr):
        obj = cls.__new__(cls)
        obj._own(ptr)
        return obj

    @classmethod
    def from_arrays(cls, x, labels=None):
        """A data set copied from x (n x dim float32) and labels (n int32; None: 0)."""
        x = _arrays.f32(x, "x")
        if labels is None:
            labels = np.zeros(x.shape[0], dtype=np.int32)
        labels = _arrays.i32(labels, "labels", n=x.shape[0])
        return cls._adopt(cls._new(_lib.fn.dataset_new, _arrays.fptr(x), _arrays.iptr(labels),
                                   x.shape[0], x.shape[1]))

    @classmethod
    def load_idx(cls, images, labels=None, scale=1.0 / 255.0):
        """Load IDX images (gzip or plain; each item flattened to a row),
        multiplied by scale, and optional IDX labels."""
        return cls._adopt(cls._new(_lib.fn.dataset_load_idx, _p(images), _p(labels),
                                   float(scale)))

    @classmethod
    def load_npy(cls, x, labels=None):
        """Load a 2-D float32/float64 .npy and an optional integer-label .npy."""
        return cls._adopt(cls._new(_lib.fn.dataset_load_npy, _p(x), _p(labels)))

    def __len__(self):
        return int(_lib.fn.dataset_size(self.ptr))

    @property
    def dim(self):
        """Row width."""
        return int(_lib.fn.dataset_dim(self.ptr))

    @property
    def x(self):
        """A copy of the rows (n x dim float32)."""
        return _arrays.copy_f32(_lib.fn.dataset_data(self.ptr), len(self), self.dim)

    @property
    def labels(self):
        """A copy of the labels (n int32)."""
        return _arrays.copy_i32(_lib.fn.dataset_labels(self.ptr), len(self))

    def select(self, classes):
        """The rows whose label is in classes, as a new Dataset."""
        c = np.ascontiguousarray(classes, dtype=np.int32).reshape(-1)
        return self._adopt(self._new(_lib.fn.dataset_select, self.ptr, _arrays.iptr(c), c.size))

    def split(self, first_test):
        """(rows with label < first_test, the rest) as two new Datasets."""
        tr, te = ctypes.c_void_p(), ctypes.c_void_p()
        errors.check(_lib.fn.dataset_split(self.ptr, int(first_test), ctypes.byref(tr),
                                           ctypes.byref(te)))
        return self._adopt(tr.value), self._adopt(te.value)

    def __repr__(self):
        if self.closed:
            return "<fden.Dataset closed>"
        return "<fden.Dataset n=%d dim=%d>" % (len(self), self.dim)


def save_npy(path, a):
    """Write a 2-D float32 or 1-D int32 array as .npy with libfden's writer."""
    if isinstance(a, np.ndarray) and a.dtype == np.int32:
        a = _arrays.i32(a, "a")
        errors.check(_lib.fn.npy_save_i32(os.fsencode(path), _arrays.iptr(a), a.size))
    else:
        a = _arrays.f32(a, "a")
        errors.check(_lib.fn.npy_save_f32(os.fsencode(path), _arrays.fptr(a), a.shape[0],
                                          a.shape[1]))


class Sampler(Handle):
    """Seeded C-way K-shot Q-query episodes from a Dataset (struct fden_sampler).

    The sampler keeps the data set alive. :meth:`next` returns a dict that
    :meth:`fden.Model.train_step` takes as it is.
    """

    _free = _lib.fn.sampler_free

    def __init__(self, dataset, ways, shots, queries=1, seed=0):
        self.dataset = dataset
        self.ways, self.shots, self.queries = int(ways), int(shots), int(queries)
        ptr = self._new(_lib.fn.sampler_new, dataset.ptr, self.ways, self.shots,
                        self.queries, int(seed))
        self._own(ptr, dataset)

    @property
    def ptr(self):
        """The raw sampler; raises FDEN_E_STATE once it or its data set is closed."""
        if self.dataset.closed:
            raise errors.FdenError(errors.E_STATE, "the Sampler's Dataset is closed")
        return Handle.ptr.fget(self)

    def next(self, n_episodes=1):
        """Draw episodes: {"z": rows x dim float32, "labels": int32 in [0, ways),
        "classes": n_episodes x ways original ids, "ways", "shots", "queries"}.

        Each episode is ways*shots support rows then ways*queries query rows.
        """
        n = int(n_episodes)
        rows = n * self.ways * (self.shots + self.queries)
        x = np.empty((rows, self.dataset.dim), dtype=np.float32)
        labels = np.empty(rows, dtype=np.int32)
        classes = np.empty((n, self.ways), dtype=np.int32)
        errors.check(_lib.fn.sampler_next(self.ptr, n, _arrays.fptr(x), _arrays.iptr(labels),
                                          _arrays.iptr(classes)))
        return {"z": x, "labels": labels, "classes": classes, "ways": self.ways,
                "shots": self.shots, "queries": self.queries}

    __next__ = next

    def reset(self, seed):
        """Back to the state of a fresh Sampler seeded with `seed`."""
        errors.check(_lib.fn.sampler_reset(self.ptr, int(seed)))

    def __iter__(self):
        return self
