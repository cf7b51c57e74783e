"""A scikit-learn-style estimator over Model, Dataset, Sampler and
fewshot_eval: ``FDEN().fit(z, y)``, ``transform(z) -> (f_ide, f_sty)``,
``inverse_transform``, ``score`` (few-shot accuracy on f_ide), with
validation classes held out of training to keep the best model and stop
early, as ``fden train --val-classes`` does.

It follows scikit-learn's conventions without needing scikit-learn: the
parameters are the constructor's keywords, stored as given (no checks in
``__init__``), ``get_params``/``set_params`` read and write them, fitted
state ends in an underscore, and ``sklearn.base.clone`` works on it.
"""

import inspect
import os
import tempfile

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


# Validation, as `fden train` (examples/fden/valid.h) does it
VAL_AUTO_MIN_CLASSES = 200   # val_classes="auto": held out from this many classes on
VAL_AUTO_MAX = 100           # auto: 10% of the classes, at most this many
VAL_MAX_WAYS = 20            # 20-way episodes, or every held-out class when fewer
VAL_EPISODES = 300           # the same seeded episodes at every score

_M64 = (1 << 64) - 1
TRAIN_AUTO_WAYS = 20         # ways="auto": this many, or every class when fewer (cli.h)
STEP_SEED_MUL = 0x9e3779b97f4a7c15  # step s draws from seed * this + s (cmd_train.c)


def _val_auto_classes(n_classes):
    """How many classes val_classes="auto" holds out of n_classes (0: none)."""
    return 0 if n_classes < VAL_AUTO_MIN_CLASSES else min(n_classes // 10, VAL_AUTO_MAX)


def _splitmix64(s):
    s = (s + 0x9e3779b97f4a7c15) & _M64
    z = ((s ^ (s >> 30)) * 0xbf58476d1ce4e5b9) & _M64
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & _M64
    return s, z ^ (z >> 31)


def _val_draw(codes, n_val, seed):
    """(held-out codes, the rest), sorted: the seeded draw of valid.c's
    val_open among the classes with at least 2 rows (1 shot + 1 query), so
    labels 0..C-1 lose the classes `fden train --seed` would hold out."""
    u, count = np.unique(codes, return_counts=True)
    u = [int(c) for c in u[count >= 2]]
    k = len(u)
    if n_val < 2 or n_val + 2 > k:
        raise ValueError("val_classes=%d: need at least 2 held-out classes and 2 left to "
                         "train on; y has %d classes with 2 or more rows" % (n_val, k))
    s = (int(seed) ^ 0x76616c6964) & _M64  # "valid": not the episodes' stream
    for i in range(n_val):  # a partial Fisher-Yates shuffle
        s, r = _splitmix64(s)
        j = i + r % (k - i)
        u[i], u[j] = u[j], u[i]
    return np.sort(np.array(u[:n_val], dtype=np.int32)), np.sort(np.array(u[n_val:],
                                                                          dtype=np.int32))


def _val_queries(codes, ways):
    """Queries per class: up to 15, as many as `ways` held-out classes have
    rows for besides the shot (valid.c)."""
    count = np.unique(codes, return_counts=True)[1]
    for q in range(15, 1, -1):
        if np.count_nonzero(count >= q + 1) >= ways:
            return q
    return 1


def _check_count(name, v, low=0):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
        raise ValueError("%s must be %s int, got %r"
                         % (name, "a positive" if low else "a non-negative", v))


class FDEN:
    """FDEN as an estimator on a host's latents.

    ``fit(z, y)`` trains a :class:`fden.Model` on C-way K-shot episodes
    drawn from the labelled latents ``z`` (n x Dim; converted to float32)
    with ``steps`` optimisation steps of ``episodes_per_step`` episodes.
    Labels may be any values NumPy can sort (``classes_`` keeps them).

    Parameters (all keywords, scikit-learn style):

    - ``steps`` (1000), ``episodes_per_step`` (4), ``ways`` (``"auto"``:
      20, or every training class with enough rows when fewer), ``shots``
      (1), ``queries`` (5): the training episodes, ``fden train``'s
      defaults;
    - ``seed`` (1): the model's and the sampler's seed (same seed, same
      bits). Step s draws its episodes from a sampler reset to
      ``seed * 0x9e3779b97f4a7c15 + s``, as ``fden train`` does: with the
      same latents, labels, settings and ``--steps``/``steps``, the two
      train the same model, bit for bit;
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
      (None or ``"simpleshot"``): the episodes of :meth:`score`;
    - ``val_classes`` (``"auto"``), ``val_every`` (250), ``val_patience``
      (4): validation, as ``fden train --val-classes/--val-every/
      --val-patience``. ``val_classes`` classes of ``y`` (a draw seeded by
      ``seed``, among those with 2 or more rows; ``"auto"``: 10% of them,
      at most 100, when there are at least 200 classes, else none; 0:
      none) are held out of the training episodes and of the
      standardisation, as are the classes of one row. Only the held-out
      rows are copied: the training rows are the library's copy of ``z``
      that fit makes anyway, with those classes excluded
      (``Sampler(exclude=)``). Every ``val_every`` steps,
      and after the last, the model scores nearest-class-mean few-shot
      accuracy of f_ide on them (20-way, or every held-out class when
      fewer, 1-shot, up to 15 queries, 300 episodes seeded by ``seed``);
      the best score's model (the first of equal ones) is kept, and
      training stops after ``val_patience`` scores without a strictly
      better one (0: never early).

    Fitted attributes: ``model_`` (the :class:`fden.Model`, owned; with
    validation, the model of ``best_step_``), ``classes_`` (all of ``y``'s,
    held-out ones included), ``n_features_in_``, ``loss_curve_`` (loss per
    step run, past ``best_step_`` too), ``lr_curve_`` (the learning rate
    each step used), ``train_accuracy_`` (query accuracy of the last step
    run), ``val_classes_`` (the held-out labels, values of ``classes_``;
    empty without validation), ``val_curve_`` (``(step, accuracy)`` of
    each validation score; ``[]`` without), ``best_step_`` (the step of
    the kept model; None without validation scores), ``stopped_early_``
    (patience ran out before ``steps``).
    """

    def __init__(self, steps=1000, episodes_per_step=4, ways="auto", shots=1, queries=5, seed=1,
                 standardize=True, config=None, preset=None, score_ways=5, score_shots=1,
                 score_queries=15, score_episodes=1000, score_seed=1, score_transform=None,
                 val_classes="auto", val_every=250, val_patience=4):
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
        self.val_classes = val_classes
        self.val_every = val_every
        self.val_patience = val_patience

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

    def _n_val(self, n_classes):
        """How many classes fit holds out (checks the val_* parameters)."""
        v = self.val_classes
        if isinstance(v, str):
            if v != "auto":
                raise ValueError("val_classes must be 'auto' or a non-negative int, got %r"
                                 % (v,))
        else:
            _check_count("val_classes", v)
        _check_count("val_every", self.val_every, low=1)
        _check_count("val_patience", self.val_patience)
        if v != "auto":
            return int(v)
        return _val_auto_classes(n_classes)

    def fit(self, z, y):
        """Train a new model on labelled latents; returns self.

        z: n x Dim latents; y: n class labels (at least ``ways`` classes with
        ``shots + queries`` rows each, besides the validation classes)."""
        z = _as_f32(z, "z")
        classes, codes = _encode_labels(y, z.shape[0])
        for name in ("steps", "episodes_per_step", "shots", "queries"):
            _check_count(name, getattr(self, name))
        if not (isinstance(self.ways, str) and self.ways == "auto"):
            _check_count("ways", self.ways, low=2)
        if self.episodes_per_step < 1:
            raise ValueError("episodes_per_step must be at least 1")
        n_val = self._n_val(classes.size)
        val = None  # (rows, labels, ways, queries) of the held-out classes
        fit_codes, n_train, exclude = codes, classes.size, None
        held = np.empty(0, dtype=np.int32)
        if n_val:
            held, kept = _val_draw(codes, n_val, self.seed)
            rows = np.isin(codes, held)
            ways = min(n_val, VAL_MAX_WAYS)
            val = (np.ascontiguousarray(z[rows]), np.ascontiguousarray(codes[rows]), ways,
                   _val_queries(codes[rows], ways))
            # the training classes as 0..m-1, in order (cmd_train.c's dense
            # classes); the others (held out, or of one row) m.. and
            # excluded from the episodes and the standardisation, which
            # read z where it is (as fden train does)
            order = np.concatenate([kept, np.setdiff1d(np.arange(classes.size), kept)])
            dense = np.empty(classes.size, dtype=np.int32)
            dense[order] = np.arange(classes.size, dtype=np.int32)
            fit_codes = dense[codes]
            exclude = np.arange(kept.size, classes.size, dtype=np.int32)
            n_train = kept.size
        ways = self.ways
        if isinstance(ways, str):  # "auto", of the classes with enough rows (as fden train)
            have = int((np.bincount(fit_codes, minlength=n_train)[:n_train]
                        >= self.shots + self.queries).sum())
            ways = max(2, min(TRAIN_AUTO_WAYS, have))
        if n_train < ways:
            raise ValueError("y has %d classes%s, fewer than ways=%d"
                             % (n_train, " besides the %d validation ones" % n_val
                                if n_val else "", ways))
        self._release()
        model = Model(**self._model_settings(z.shape[1]))
        path = None
        try:
            self._set_horizon(model)
            if self.standardize:
                model.fit_standardization(z, fit_codes, exclude)
            losses, rates, accuracy = [], [], None
            curve, best, best_step, since, stopped = [], None, None, 0, False
            # the best model so far waits in a temporary file (as fden train's)
            if val is not None:
                fd, path = tempfile.mkstemp(prefix="fden-best-", suffix=".fden")
                os.close(fd)

            def check():
                # score the model, save it when it is the best so far; True
                # when patience has run out
                nonlocal best, best_step, since
                acc = fewshot_eval(model.disentangle(val[0])[0], val[1], ways=val[2], shots=1,
                                   queries=val[3], episodes=VAL_EPISODES,
                                   seed=int(self.seed) & _M64).mean
                curve.append((model.step, acc))
                if best is None or acc > best:
                    best, best_step, since = acc, model.step, 0
                    model.save(path)
                else:
                    since += 1
                return bool(self.val_patience) and since >= self.val_patience

            with Dataset.from_arrays(z, fit_codes) as ds:
                sampler = Sampler(ds, ways, self.shots, self.queries, seed=self.seed,
                                  exclude=exclude)
                try:
                    for _ in range(int(self.steps)):
                        sampler.reset((int(self.seed) * STEP_SEED_MUL + model.step) & _M64)
                        st = model.train_step(sampler.next(self.episodes_per_step))
                        losses.append(st.loss)
                        rates.append(st.lr)
                        accuracy = st.accuracy
                        if val is not None and model.step % self.val_every == 0 and check():
                            stopped = model.step < self.steps
                            break
                finally:
                    sampler.close()
            # the last model is a candidate too
            if val is not None and losses and (not curve or curve[-1][0] != model.step):
                check()
            if best_step is not None and best_step != model.step:
                best_model = Model.load(path)
                model.close()
                model = best_model
        except BaseException:
            model.close()
            raise
        finally:
            if path is not None:
                try:
                    os.unlink(path)
                except OSError:
                    pass
        self.model_ = model
        self.classes_ = classes
        self.n_features_in_ = z.shape[1]
        self.loss_curve_ = losses
        self.lr_curve_ = rates
        self.train_accuracy_ = accuracy
        self.val_classes_ = classes[held]
        self.val_curve_ = curve
        self.best_step_ = best_step
        self.stopped_early_ = stopped
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
