"""A scikit-learn-style estimator over Model, Dataset, Sampler and
fewshot_eval: ``FDEN().fit(z, y)``, ``transform(z) -> (f_ide, f_sty)``,
``inverse_transform``, ``score`` (few-shot accuracy on f_ide).

It follows scikit-learn's conventions without needing scikit-learn: the
parameters are the constructor's keywords, stored as given (no checks in
``__init__``), ``get_params``/``set_params`` read and write them, fitted
state ends in an underscore, and ``sklearn.base.clone`` works on it.
"""

import inspect

import numpy as np

from .config import LrDecay, Param, resolve_key
from .data import Dataset, Sampler, fewshot_eval
from .model import Model


class NotFittedError(ValueError, AttributeError):
    """A method that needs :meth:`FDEN.fit` was called first (like
    sklearn.exceptions.NotFittedError, a ValueError and AttributeError)."""


def _as_f32(a, name):
    a = np.asarray(a)
    if a.ndim != 2:
        raise ValueError("%s must be 2-D (n x features), got shape %s" % (name, a.shape))
    return np.ascontiguousarray(a, dtype=np.float32)


def _encode_labels(y, n):
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError("y must be 1-D with one label per row (%d), got shape %s"
                         % (n, y.shape))
    classes, codes = np.unique(y, return_inverse=True)
    return classes, np.ascontiguousarray(codes, dtype=np.int32)


class FDEN:
    """FDEN as an estimator on a host's latents.

    ``fit(z, y)`` trains a :class:`fden.Model` on C-way K-shot episodes
    drawn from the labelled latents ``z`` (n x Dim; converted to float32)
    with ``steps`` optimisation steps of ``episodes_per_step`` episodes.
    Labels may be any values NumPy can sort (``classes_`` keeps them).

    Parameters (all keywords, scikit-learn style):

    - ``steps`` (1000), ``episodes_per_step`` (16), ``ways`` (5),
      ``shots`` (1), ``queries`` (1): the training episodes;
    - ``seed`` (1): the model's and the sampler's seed (same seed, same
      bits);
    - ``standardize`` (True): ``Model.fit_standardization(z)`` before
      training, so the model sees per-dimension standardised latents;
    - ``config`` (None): a dict of further configuration keys
      (``{"flow_layers": 4, "lr": 1e-3}``, see :class:`fden.Param`); ``dim``
      comes from ``z``. A learning-rate schedule (``lr_decay``, cosine by
      default) decays over the ``steps`` of each fit, as ``fden train
      --steps N`` does, unless the dict names ``lr_decay_steps`` (0 there
      keeps the rate constant);
    - ``preset`` (None): ``"paper"`` starts from the paper's settings;
    - ``score_ways`` (5), ``score_shots`` (1), ``score_queries`` (15),
      ``score_episodes`` (1000), ``score_seed`` (1), ``score_transform``
      (None or ``"simpleshot"``): the episodes of :meth:`score`.

    Fitted attributes: ``model_`` (the :class:`fden.Model`, owned),
    ``classes_``, ``n_features_in_``, ``loss_curve_`` (loss per step),
    ``lr_curve_`` (the learning rate each step used), ``train_accuracy_``
    (query accuracy of the last step).
    """

    def __init__(self, steps=1000, episodes_per_step=16, ways=5, shots=1, queries=1, seed=1,
                 standardize=True, config=None, preset=None, score_ways=5, score_shots=1,
                 score_queries=15, score_episodes=1000, score_seed=1, score_transform=None):
        self.steps = steps
        self.episodes_per_step = episodes_per_step
        self.ways = ways
        self.shots = shots
        self.queries = queries
        self.seed = seed
        self.standardize = standardize
        self.config = config
        self.preset = preset
        self.score_ways = score_ways
        self.score_shots = score_shots
        self.score_queries = score_queries
        self.score_episodes = score_episodes
        self.score_seed = score_seed
        self.score_transform = score_transform

    # --- scikit-learn's parameter protocol ---------------------------------

    @classmethod
    def _get_param_names(cls):
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values()
                      if p.name != "self" and p.kind == p.POSITIONAL_OR_KEYWORD)

    def get_params(self, deep=True):
        """The constructor's keywords and their current values (a new dict)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Set constructor keywords; returns self. An unknown name is a
        ValueError (as in scikit-learn). Takes effect at the next fit."""
        valid = self._get_param_names()
        for k, v in params.items():
            if k not in valid:
                raise ValueError("Invalid parameter %r for estimator %s. Valid parameters "
                                 "are: %s." % (k, type(self).__name__, valid))
            setattr(self, k, v)
        return self

    def __repr__(self):
        defaults = {p.name: p.default
                    for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = ["%s=%r" % (k, v) for k, v in self.get_params().items()
                   if not (v is defaults[k] or (type(v) is type(defaults[k]) and v == defaults[k]))]
        return "%s(%s)" % (type(self).__name__, ", ".join(changed))

    # --- fitting and using ---------------------------------------------------

    def _model_settings(self, dim):
        settings = dict(self.config or {})
        if "dim" in settings and int(settings["dim"]) != dim:
            raise ValueError("config dim=%s does not match z's %d columns"
                             % (settings["dim"], dim))
        settings["dim"] = dim
        settings.setdefault("seed", self.seed)
        if self.preset is not None:
            settings["preset"] = self.preset
        return settings

    def _set_horizon(self, model):
        # a schedule without a horizon decays over this fit's steps (as
        # cmd_train.c does for --steps); a horizon the config names is kept
        if self.steps == 0 or any(resolve_key(k) == Param.LR_DECAY_STEPS
                                  for k in self.config or {}):
            return
        with model.config() as cfg:
            if cfg[Param.LR_DECAY] == LrDecay.CONSTANT or cfg[Param.LR_DECAY_STEPS] != 0:
                return
        model.set_param(Param.LR_DECAY_STEPS, self.steps)

    def fit(self, z, y):
        """Train a new model on labelled latents; returns self.

        z: n x Dim latents; y: n class labels (at least ``ways`` classes with
        ``shots + queries`` rows each)."""
        z = _as_f32(z, "z")
        classes, codes = _encode_labels(y, z.shape[0])
        for name in ("steps", "episodes_per_step", "ways", "shots", "queries"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError("%s must be a non-negative int, got %r" % (name, v))
        if self.episodes_per_step < 1:
            raise ValueError("episodes_per_step must be at least 1")
        if classes.size < self.ways:
            raise ValueError("y has %d classes, fewer than ways=%d" % (classes.size, self.ways))
        self._release()
        model = Model(**self._model_settings(z.shape[1]))
        try:
            self._set_horizon(model)
            if self.standardize:
                model.fit_standardization(z)
            losses, rates, accuracy = [], [], None
            with Dataset.from_arrays(z, codes) as ds:
                sampler = Sampler(ds, self.ways, self.shots, self.queries, seed=self.seed)
                try:
                    for _ in range(int(self.steps)):
                        st = model.train_step(sampler.next(self.episodes_per_step))
                        losses.append(st.loss)
                        rates.append(st.lr)
                        accuracy = st.accuracy
                finally:
                    sampler.close()
        except BaseException:
            model.close()
            raise
        self.model_ = model
        self.classes_ = classes
        self.n_features_in_ = z.shape[1]
        self.loss_curve_ = losses
        self.lr_curve_ = rates
        self.train_accuracy_ = accuracy
        return self

    def _fitted(self):
        m = getattr(self, "model_", None)
        if m is None or m.closed:
            raise NotFittedError("This %s instance is not fitted yet: call fit(z, y) first"
                                 % type(self).__name__)
        return m

    def _check_z(self, z, name="z"):
        z = _as_f32(z, name)
        if z.shape[1] != self.n_features_in_:
            raise ValueError("%s has %d features, but %s was fitted with %d"
                             % (name, z.shape[1], type(self).__name__, self.n_features_in_))
        return z

    def transform(self, z):
        """(f_ide, f_sty) = D(z): the identity and style factors of n latents."""
        m = self._fitted()
        return m.disentangle(self._check_z(z))

    def inverse_transform(self, f_ide, f_sty):
        """z = E(f_ide, f_sty): latents from factors (mix identities and styles)."""
        m = self._fitted()
        return m.entangle(np.ascontiguousarray(f_ide, dtype=np.float32),
                          np.ascontiguousarray(f_sty, dtype=np.float32))

    def evaluate(self, z, y):
        """The :class:`fden.FewShotResult` (mean accuracy and its 95%
        interval) of nearest-class-mean few-shot episodes on f_ide of
        labelled latents, typically of classes the model never saw. The
        episodes are the ``score_*`` parameters'."""
        f_ide, _ = self.transform(z)
        _, codes = _encode_labels(y, f_ide.shape[0])
        return fewshot_eval(f_ide, codes, ways=self.score_ways, shots=self.score_shots,
                            queries=self.score_queries, episodes=self.score_episodes,
                            seed=self.score_seed, transform=self.score_transform)

    def score(self, z, y):
        """Mean few-shot accuracy on f_ide (see :meth:`evaluate`), in [0, 1]."""
        return self.evaluate(z, y).mean

    # --- the model's lifetime ------------------------------------------------

    def _release(self):
        m = self.__dict__.pop("model_", None)
        if m is not None:
            m.close()

    def close(self):
        """Free the fitted model now (a later transform raises NotFittedError)."""
        self._release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


__all__ = ["FDEN", "NotFittedError"]
