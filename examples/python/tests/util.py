"""Shared helpers for the binding tests: synthetic latents, small models."""

import os
import tempfile
import unittest

import numpy as np

import fden
from fden import _lib

STRICT = os.environ.get("FDEN_STRICT", "0") == "1"


def requires(*names):
    """Skip (or, with FDEN_STRICT=1, fail) when the library lacks a function."""
    missing = [n for n in names if not _lib.has(n)]

    def deco(f):
        if not missing:
            return f
        if isinstance(f, type):
            for name in list(vars(f)):
                if name.startswith("test"):
                    setattr(f, name, deco(getattr(f, name)))
            return f
        if STRICT:
            def fail(self, *a, **k):
                self.fail("libfden does not export: " + ", ".join("fden_" + n for n in missing))
            fail.__name__ = f.__name__
            return fail
        return unittest.skip("libfden lacks " + ", ".join(missing))(f)
    return deco


def latents(n_classes=10, per_class=30, dim=16, seed=0):
    """Class-structured latents: z = identity(class) + style(random), float32."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 2.0, (n_classes, dim))
    style_basis = rng.normal(0, 1.0, (3, dim))
    labels = np.repeat(np.arange(n_classes, dtype=np.int32), per_class)
    style = rng.normal(0, 1.0, (labels.size, 3)) @ style_basis
    z = centres[labels] + style + rng.normal(0, 0.1, (labels.size, dim))
    return np.ascontiguousarray(z, dtype=np.float32), labels


SMALL = dict(dim=16, dis_width=32, dis_trunk_depth=1, dis_head_depth=1, stat_width1=32,
             stat_width2=16, stat_width3=8, ent_branch_width=16, ent_branch_depth=1,
             ent_trunk_width=32, ent_trunk_depth=1, dropout=0, lr=1e-3, seed=7,
             disentangler=0, xcorr=0, sty_adv=0)  # the paper's MLP D and E unless a test asks


def small_model(**over):
    """A small, fast model on 16-wide latents."""
    s = dict(SMALL)
    s.update(over)
    return fden.Model(**s)


def episodes(z, labels, ways, shots, queries, n_episodes, seed=0):
    """Episodes built in NumPy (independent of the C sampler), laid out as
    fden.Sampler.next gives them."""
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    zs, ls, picks = [], [], []
    for _ in range(n_episodes):
        pick = rng.choice(classes, ways, replace=False)
        picks.append(pick)
        sup, qry = [], []
        for j, c in enumerate(pick):
            idx = rng.choice(np.flatnonzero(labels == c), shots + queries, replace=False)
            sup.append((idx[:shots], j))
            qry.append((idx[shots:], j))
        for idx, j in sup + qry:
            zs.append(z[idx])
            ls.append(np.full(idx.size, j, dtype=np.int32))
    return {"z": np.ascontiguousarray(np.concatenate(zs)),
            "labels": np.concatenate(ls),
            "classes": np.asarray(picks, dtype=np.int32),  # global ids, n_episodes x ways
            "ways": ways, "shots": shots, "queries": queries}


class TempDir(unittest.TestCase):
    """A TestCase with self.tmp, a fresh temporary directory."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()
