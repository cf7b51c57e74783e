"""Data sets (IDX, NPY, arrays), class splits and the episode sampler."""

import collections
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

    ``exclude`` (None): labels never drawn (fden_sampler_new_except), such
    as validation classes held out of training, without a copy of the
    other rows; the draws are those of a sampler of
    ``dataset.select(the other classes)`` with the same seed, and
    :meth:`reset` keeps the exclusion. The sampler keeps the data set
    alive. :meth:`next` returns a dict that :meth:`fden.Model.train_step`
    takes as it is.
    """

    _free = _lib.fn.sampler_free

    def __init__(self, dataset, ways, shots, queries=1, seed=0, exclude=None):
        self.dataset = dataset
        self.ways, self.shots, self.queries = int(ways), int(shots), int(queries)
        if exclude is None:
            self.exclude = None
            ptr = self._new(_lib.fn.sampler_new, dataset.ptr, self.ways, self.shots,
                            self.queries, int(seed))
        else:
            self.exclude = np.array(exclude, dtype=np.int32).reshape(-1)  # a copy
            ptr = self._new(_lib.fn.sampler_new_except, dataset.ptr, self.ways, self.shots,
                            self.queries, int(seed), _arrays.iptr(self.exclude),
                            self.exclude.size)
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
        """Back to the state of a fresh Sampler seeded with `seed` (the same
        classes excluded)."""
        errors.check(_lib.fn.sampler_reset(self.ptr, int(seed)))

    def __iter__(self):
        return self


#: What :func:`fewshot_eval` measured: mean accuracy in [0, 1], its 95%
#: half-width (1.96 std / sqrt(episodes)), the episodes run and the classes
#: drawn from; ``episode_accuracy`` (episodes,) and ``episode_rows``
#: (episodes, ways*(shots+queries)) when asked for, else None.
FewShotResult = collections.namedtuple(
    "FewShotResult", ["mean", "ci95", "episodes", "classes", "episode_accuracy", "episode_rows"])

_TRANSFORMS = {None: 0, "none": 0, "simpleshot": 1}


def fewshot_eval(x, labels, ways=5, shots=1, queries=15, episodes=1000, seed=1,
                 transform=None, center=None, label_map=None, return_episodes=False):
    """C-way K-shot accuracy of the nearest class mean over seeded episodes
    (fden_fewshot_eval).

    x: n x d float32 features (raw z, f_ide, ...); labels: n int32.
    transform: None or "simpleshot" (x - center, then L2-normalised; center
    is a d-vector such as the training classes' mean, or None). label_map:
    int32 array, row label y -> class label_map[y] (negative: left out).
    The episodes depend on the labels, label_map and seed only, so every
    feature set of the same rows is scored on the same episodes.
    """
    if transform not in _TRANSFORMS:
        raise ValueError("transform must be None or 'simpleshot', not %r" % (transform,))
    x = _arrays.f32(x, "x")
    labels = _arrays.i32(labels, "labels", n=x.shape[0])
    o = _lib.FewshotOptions()
    _lib.fn.fewshot_options_default(ctypes.byref(o))
    for name, v in (("ways", ways), ("shots", shots), ("queries", queries),
                    ("episodes", episodes), ("seed", seed)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError("%s must be an int, got %s" % (name, type(v).__name__))
        if v < 0:
            raise ValueError("%s must be >= 0, got %d" % (name, v))
        setattr(o, name, int(v))
    o.transform = _TRANSFORMS[transform]
    if center is not None:
        center = _arrays.f32(center, "center", ndim=1, cols=x.shape[1])
        o.center = _arrays.fptr(center)
    if label_map is not None:
        label_map = _arrays.i32(label_map, "label_map")
        o.label_map = _arrays.iptr(label_map)
        o.n_label_map = label_map.size
    acc = rows = None
    if return_episodes:
        acc = np.empty(int(episodes), dtype=np.float64)
        rows = np.empty((int(episodes), int(ways) * (int(shots) + int(queries))),
                        dtype=np.uintp)
        o.episode_accuracy = acc.ctypes.data_as(_lib.c_double_p)
        o.episode_rows = rows.ctypes.data_as(ctypes.POINTER(ctypes.c_size_t))
    r = _lib.FewshotResult()
    errors.check(_lib.fn.fewshot_eval(_arrays.fptr(x), _arrays.iptr(labels), x.shape[0],
                                      x.shape[1], ctypes.byref(o), ctypes.byref(r)))
    return FewShotResult(float(r.mean), float(r.ci95), int(r.episodes), int(r.classes),
                         acc, None if rows is None else rows.astype(np.int64))
