"""The FDEN model: training, disentangle/entangle, prediction, checkpoints."""

import ctypes
import os

import numpy as np

from . import _arrays, _lib, errors
from ._handle import Handle
from .config import Config, _keyword, resolve_key


class StepStats:
    """What one training step measured (struct fden_step_stats).

    Attributes: loss, l_r, l_c, l_m, accuracy, gnorm_disentangler,
    gnorm_entangler, gnorm_statistician, gnorm_align, clip_scale, step,
    l_xcorr, l_sty_adv, l_nll, l_hsic, l_sty_cls, sty_cls_accuracy, lr
    (the learning rate the step used: ``lr`` times the ``lr_decay``
    schedule's factor), l_sty_between.
    """

    FIELDS = tuple(name for name, _ in _lib.StepStatsC._fields_ if name != "struct_size")

    def __init__(self, c):
        for name in self.FIELDS:
            setattr(self, name, getattr(c, name))

    def as_dict(self):
        """The fields as a dict."""
        return {name: getattr(self, name) for name in self.FIELDS}

    def __repr__(self):
        return ("StepStats(step=%d, loss=%.4g, l_r=%.4g, l_c=%.4g, l_m=%.4g, accuracy=%.3f, "
                "lr=%.4g)" % (self.step, self.loss, self.l_r, self.l_c, self.l_m, self.accuracy,
                              self.lr))


def _path(p):
    return os.fsencode(p)


class _Part:
    """A part borrowed from a model; keeps the model alive."""

    def __init__(self, model, getter):
        self.model = model
        self._get = getter

    @property
    def ptr(self):
        p = self._get(self.model.ptr)
        if not p:
            raise errors.FdenError(errors.E_STATE, "model has no such part")
        return p


class Disentangler(_Part):
    """D: z -> (f_ide, f_sty), borrowed from a Model (fden_disentangler_run)."""

    def run(self, z):
        """(f_ide, f_sty) for z (n x Dim float32), each n x Dim."""
        return self.model._factors(_lib.fn.disentangler_run, self.ptr, z)


class Entangler(_Part):
    """E: (f_ide, f_sty) -> z~, borrowed from a Model (fden_entangler_run)."""

    def run(self, f_ide, f_sty):
        """z~ = E(f_ide, f_sty), n x Dim."""
        return self.model._entangle(_lib.fn.entangler_run, self.ptr, f_ide, f_sty)


class Factorizer(_Part):
    """F: the MINE statistician and the alignment net, borrowed from a Model."""

    def mine(self, f_ide, f_sty, seed=0):
        """Donsker-Varadhan estimate of I(f_ide; f_sty) on n rows (a float)."""
        f_ide = _arrays.f32(f_ide, "f_ide", cols=self.model.ide_dim)
        f_sty = _arrays.f32(f_sty, "f_sty", cols=self.model.sty_dim, rows=f_ide.shape[0])
        est = ctypes.c_double()
        errors.check(_lib.fn.factorizer_mine(self.ptr, _arrays.fptr(f_ide), _arrays.fptr(f_sty),
                                             f_ide.shape[0], int(seed), ctypes.byref(est)))
        return est.value

    def align(self, support_ide, support_labels, query_ide, ways=None):
        """Class probabilities (n_query x ways) of queries given a support set."""
        d = self.model.ide_dim
        s = _arrays.f32(support_ide, "support_ide", cols=d)
        lab = _arrays.i32(support_labels, "support_labels", n=s.shape[0])
        q = _arrays.f32(query_ide, "query_ide", cols=d)
        ways = _ways(lab, ways)
        prob = np.empty((q.shape[0], ways), dtype=np.float32)
        errors.check(_lib.fn.factorizer_align(self.ptr, _arrays.fptr(s), _arrays.iptr(lab),
                                              s.shape[0], ways, _arrays.fptr(q), q.shape[0],
                                              _arrays.fptr(prob)))
        return prob


def _ways(labels, ways):
    if ways is None:
        ways = int(labels.max()) + 1 if labels.size else 0
    return int(ways)


class Model(Handle):
    """A trainable FDEN model (struct fden_model).

    ``Model(config)`` or ``Model(dim=64, seed=1, ...)`` (keyword settings
    build a :class:`Config`); ``Model.load(path)`` restores a checkpoint.
    Free it with :meth:`close` or a ``with`` block; a finalizer frees it
    otherwise. Inference calls may run concurrently from several threads
    while no thread trains it (the library's contract).
    """

    _free = _lib.fn.model_free

    def __init__(self, config=None, **settings):
        for k in settings:
            if k != "preset":
                _keyword("Model", k)  # TypeError for an unexpected keyword
        if config is None:
            with Config(**settings) as cfg:
                self._own(self._new(_lib.fn.model_new, cfg.ptr))
        else:
            if settings:
                raise TypeError("pass either a Config or keyword settings, not both")
            self._own(self._new(_lib.fn.model_new, config.ptr))
        self._log_fn = None

    @classmethod
    def load(cls, path):
        """Load a model written by :meth:`save` (fden_model_load)."""
        obj = cls.__new__(cls)
        obj._own(cls._new(_lib.fn.model_load, _path(path), None))
        obj._log_fn = None
        return obj

    def save(self, path):
        """Write the whole model (atomic, compressed, checksummed)."""
        errors.check(_lib.fn.model_save(self.ptr, _path(path)))

    @property
    def dim(self):
        """Latent width Dim."""
        return int(_lib.fn.model_dim(self.ptr))

    @property
    def ide_dim(self):
        """Width of f_ide (Dim, or FDEN_P_IDE_DIM for the flow disentangler)."""
        return int(_lib.fn.model_ide_dim(self.ptr))

    @property
    def sty_dim(self):
        """Width of f_sty (Dim, or Dim - ide_dim for the flow disentangler)."""
        return int(_lib.fn.model_sty_dim(self.ptr))

    @property
    def step(self):
        """Optimisation steps taken."""
        return int(_lib.fn.model_step(self.ptr))

    @property
    def last_error(self):
        """Detail of the last failure on this model ("" if none)."""
        return _lib.decode(_lib.fn.model_last_error(self.ptr)) or ""

    def config(self):
        """A copy of the model's configuration, as a new :class:`Config`."""
        return Config._adopt(self._new(_lib.fn.model_config, self.ptr))

    def set_param(self, key, value):
        """Change a key of this live model between training steps
        (fden_model_set_param). Only the learning-rate schedule may change
        after creation: ``"lr_decay"``, ``"lr_decay_steps"`` (the horizon;
        0 = no decay) and ``"lr_decay_factor"``; keys as :class:`Config`
        takes them (a :class:`Param`, an int or a name). The value holds from
        the next step on and is saved with the model. Any other key, a value
        out of bounds or a fraction for an integer key raises
        InvalidArgumentError with the library's reason (also
        :attr:`last_error`), the model unchanged; an unknown name, KeyError.
        """
        errors.check(_lib.fn.model_set_param(self.ptr, resolve_key(key), float(value)))

    @property
    def disentangler(self):
        """D, borrowed (valid while this model is open)."""
        return Disentangler(self, _lib.fn.model_disentangler)

    @property
    def factorizer(self):
        """F (statistician + alignment net), borrowed."""
        return Factorizer(self, _lib.fn.model_factorizer)

    @property
    def entangler(self):
        """E, borrowed."""
        return Entangler(self, _lib.fn.model_entangler)

    def set_log(self, callback):
        """Receive log lines as callback(level, message); None removes it.

        Exceptions raised by the callback are swallowed (they cannot
        unwind through C).
        """
        fn = _lib.make_log_fn(callback)
        _lib.fn.model_set_log(self.ptr, fn, None)
        self._log_fn = fn if callback is not None else None

    def set_standardization(self, mean=None, std=None):
        """Per-dimension (z - mean) / std inside the model; None, None resets."""
        if mean is None and std is None:
            errors.check(_lib.fn.model_set_standardization(self.ptr, None, None))
            return
        d = self.dim
        mean = _arrays.f32(mean, "mean", ndim=1, cols=d)
        std = _arrays.f32(std, "std", ndim=1, cols=d)
        errors.check(_lib.fn.model_set_standardization(self.ptr, _arrays.fptr(mean),
                                                        _arrays.fptr(std)))

    def fit_standardization(self, z, labels=None, exclude=None):
        """Set the standardisation to z's per-dimension mean and sample std
        (floored at 1e-6): z is n x Dim float32, such as the training latents.

        With ``exclude`` (labels, any order), only the rows whose label in
        ``labels`` (n int32) is not one of them count, exactly as a copy of
        those rows would (fden_model_fit_standardization_except): the
        classes a Sampler with the same ``exclude`` never draws."""
        z = _arrays.f32(z, "z", cols=self.dim)
        if z.shape[0] == 0:
            raise ValueError("z has no rows")
        if exclude is None:
            errors.check(_lib.fn.model_fit_standardization(self.ptr, _arrays.fptr(z),
                                                            z.shape[0]))
            return
        if labels is None:
            raise ValueError("exclude needs labels, one per row of z")
        labels = _arrays.i32(labels, "labels", n=z.shape[0])
        exclude = np.array(exclude, dtype=np.int32).reshape(-1)
        errors.check(_lib.fn.model_fit_standardization_except(
            self.ptr, _arrays.fptr(z), _arrays.iptr(labels), z.shape[0], _arrays.iptr(exclude),
            exclude.size))

    def train_step(self, episodes=None, **kw):
        """One optimisation step on a batch of episodes; returns :class:`StepStats`.

        Pass a dict (as returned by :meth:`fden.Sampler.next`) or keywords:
        ``z`` (rows x Dim, or n_episodes x rows_per_episode x Dim, float32),
        ``labels`` (int32, within-episode classes in [0, ways)), ``ways``,
        ``shots``, ``queries`` and optionally ``z_log_sigma`` (like z) and
        ``classes`` (int32, n_episodes x ways global class ids in
        [0, sty_cls_classes), class c of episode e at [e, c], as
        :meth:`fden.Sampler.next` gives them; needed by ``sty_cls`` > 0).
        Each episode is ways*shots support rows followed by ways*queries
        query rows. Raises NonFiniteError (model unchanged) on NaN/inf.
        """
        ep = dict(episodes or {})
        ep.update(kw)
        try:
            z, labels = ep["z"], ep["labels"]
            ways, shots, queries = int(ep["ways"]), int(ep["shots"]), int(ep["queries"])
        except KeyError as exc:
            raise TypeError("train_step needs z, labels, ways, shots and queries; "
                            "missing %s" % exc) from None
        d = self.dim
        per = ways * (shots + queries)
        if isinstance(z, np.ndarray) and z.ndim == 3:
            z = z.reshape(-1, z.shape[-1]) if z.flags["C_CONTIGUOUS"] else z
        z = _arrays.f32(z, "z", cols=d)
        if per == 0 or z.shape[0] % per:
            raise ValueError("z has %d rows, not a multiple of ways*(shots+queries) = %d"
                             % (z.shape[0], per))
        labels = np.asarray(labels)
        if labels.ndim == 2 and labels.flags["C_CONTIGUOUS"]:
            labels = labels.reshape(-1)
        labels = _arrays.i32(labels, "labels", n=z.shape[0])
        ls = ep.get("z_log_sigma")
        if ls is not None:
            if isinstance(ls, np.ndarray) and ls.ndim == 3 and ls.flags["C_CONTIGUOUS"]:
                ls = ls.reshape(-1, ls.shape[-1])
            ls = _arrays.f32(ls, "z_log_sigma", cols=d, rows=z.shape[0])
        cl = ep.get("classes")
        if cl is not None:
            cl = np.asarray(cl)
            if cl.ndim == 2 and cl.flags["C_CONTIGUOUS"]:
                cl = cl.reshape(-1)
            cl = _arrays.i32(cl, "classes", n=z.shape[0] // per * ways)
        c = _lib.Episodes(ctypes.sizeof(_lib.Episodes), z.shape[0] // per, ways, shots,
                          queries, _arrays.fptr(z), _arrays.fptr(ls), _arrays.iptr(labels),
                          _arrays.iptr(cl))
        st = _lib.StepStatsC()
        st.struct_size = ctypes.sizeof(st)
        errors.check(_lib.fn.train_step(self.ptr, ctypes.byref(c), ctypes.byref(st)))
        return StepStats(st)

    def _factors(self, cfn, ptr, z):
        z = _arrays.f32(z, "z", cols=self.dim)
        n = z.shape[0]
        f_ide = np.empty((n, self.ide_dim), dtype=np.float32)
        f_sty = np.empty((n, self.sty_dim), dtype=np.float32)
        errors.check(cfn(ptr, _arrays.fptr(z), n, _arrays.fptr(f_ide), _arrays.fptr(f_sty)))
        return f_ide, f_sty

    def _entangle(self, cfn, ptr, f_ide, f_sty):
        f_ide = _arrays.f32(f_ide, "f_ide", cols=self.ide_dim)
        f_sty = _arrays.f32(f_sty, "f_sty", cols=self.sty_dim, rows=f_ide.shape[0])
        out = np.empty((f_ide.shape[0], self.dim), dtype=np.float32)
        errors.check(cfn(ptr, _arrays.fptr(f_ide), _arrays.fptr(f_sty), f_ide.shape[0],
                         _arrays.fptr(out)))
        return out

    def disentangle(self, z):
        """(f_ide, f_sty) = D(z), evaluation mode; z is n x Dim float32.

        f_ide is n x ide_dim, f_sty n x sty_dim (both Dim unless the flow
        disentangler splits Dim between them)."""
        return self._factors(_lib.fn.disentangle, self.ptr, z)

    def entangle(self, f_ide, f_sty):
        """z~ = E(f_ide, f_sty), evaluation mode; n x Dim out."""
        return self._entangle(_lib.fn.entangle, self.ptr, f_ide, f_sty)

    def predict(self, support_z, support_labels, query_z, ways=None, return_prob=False):
        """Few-shot classes of query latents from a labelled support set.

        support_labels are int32 in [0, ways); ways defaults to max+1.
        Returns int32 predictions (n_query), and with return_prob=True also
        the n_query x ways probabilities.
        """
        d = self.dim
        s = _arrays.f32(support_z, "support_z", cols=d)
        lab = _arrays.i32(support_labels, "support_labels", n=s.shape[0])
        q = _arrays.f32(query_z, "query_z", cols=d)
        ways = _ways(lab, ways)
        pred = np.empty(q.shape[0], dtype=np.int32)
        prob = np.empty((q.shape[0], ways), dtype=np.float32) if return_prob else None
        errors.check(_lib.fn.predict(self.ptr, _arrays.fptr(s), _arrays.iptr(lab), s.shape[0],
                                     ways, _arrays.fptr(q), q.shape[0], _arrays.iptr(pred),
                                     _arrays.fptr(prob)))
        return (pred, prob) if return_prob else pred

    def __repr__(self):
        if self.closed:
            return "<fden.Model closed>"
        return "<fden.Model dim=%d step=%d>" % (self.dim, self.step)
