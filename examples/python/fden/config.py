"""Model configuration: enum-keyed settings (struct fden_config)."""

import ctypes
import enum

from . import _lib, errors
from ._handle import Handle


class Param(enum.IntEnum):
    """Configuration keys (enum fden_param); see include/fden/model.h."""
    DIM = 1
    DIS_WIDTH = 2
    DIS_TRUNK_DEPTH = 3
    DIS_HEAD_DEPTH = 4
    STAT_WIDTH1 = 5
    STAT_WIDTH2 = 6
    STAT_WIDTH3 = 7
    ENT_BRANCH_WIDTH = 8
    ENT_BRANCH_DEPTH = 9
    ENT_TRUNK_WIDTH = 10
    ENT_TRUNK_DEPTH = 11
    DROPOUT = 12
    DROPOUT_OUTPUT = 13
    LEAKY_SLOPE = 14
    BATCHNORM = 15
    ALPHA = 16
    BETA = 17
    GAMMA = 18
    GRL = 19
    LR = 20
    ADAM_BETA1 = 21
    ADAM_BETA2 = 22
    ADAM_EPS = 23
    INIT = 24
    INIT_SIGMA = 25
    SEED = 26
    ALIGN_HEAD = 27
    ALIGN_WIDTH = 28
    MINE_MA = 29
    MINE_MA_RATE = 30
    STOCHASTIC = 31
    STOCHASTIC_SCALE = 32
    CLIP = 33
    THREADS = 34
    BN_MOMENTUM = 35
    DISENTANGLER = 36
    IDE_DIM = 37
    FLOW_LAYERS = 38
    FLOW_WIDTH = 39
    FLOW_DEPTH = 40
    FLOW_CLAMP = 41
    XCORR = 42
    STY_ADV = 43
    LR_STAT = 44
    FLOW_NLL = 45
    ALIGN_NORM = 46
    ALIGN_TEMP = 47
    LR_DECAY = 48
    LR_DECAY_STEPS = 49
    LR_DECAY_FACTOR = 50
    EMA = 51
    HSIC = 52
    STY_CLS = 53
    STY_CLS_CLASSES = 54
    STY_CLS_WIDTH = 55
    STY_CLS_LR = 56
    STY_BETWEEN = 57


class DisentanglerKind(enum.IntEnum):
    """Values of Param.DISENTANGLER (enum fden_disentangler_kind)."""
    MLP = 0
    FLOW = 1


class Init(enum.IntEnum):
    """Values of Param.INIT (enum fden_init)."""
    TRUNC_NORMAL = 0
    GLOROT_NORMAL = 1
    HE_NORMAL = 2


class AlignHead(enum.IntEnum):
    """Values of Param.ALIGN_HEAD (enum fden_align_head)."""
    PROTOTYPICAL = 0
    RELATION = 1
    MATCHING = 2


class LrDecay(enum.IntEnum):
    """Values of Param.LR_DECAY (enum fden_lr_decay), the learning-rate
    schedule; it decays only once Param.LR_DECAY_STEPS is set."""
    CONSTANT = 0
    COSINE = 1
    STEP = 2


class Preset(enum.IntEnum):
    """Presets for Config.preset() (enum fden_preset)."""
    DEFAULT = 0
    PAPER = 1


def key_name(key):
    """The library's name of a key ("dim", "lr", ...), or None if unknown."""
    return _lib.decode(_lib.fn.config_key_name(int(key)))


def key_count():
    """The library's highest key: keys are 1..key_count(), append-only."""
    return int(_lib.fn.config_key_count())


def _key_map():
    # every key the library has, by its name, also one newer than Param
    # (Param's names are the library's: tests/test_config.py checks it)
    names = {}
    for k in range(1, key_count() + 1):
        n = key_name(k)
        if n:
            names[n.lower()] = k
    return names


_KEYS = None


def resolve_key(key):
    """An int key from a Param, an int, or a name ("dim", "DIS_WIDTH")."""
    global _KEYS
    if isinstance(key, str):
        if _KEYS is None:
            _KEYS = _key_map()
        k = _KEYS.get(key.lower().replace("-", "_"))
        if k is None:
            raise KeyError("unknown libfden configuration key %r" % key)
        return k
    return int(key)


def _keyword(caller, name):
    """The key a keyword argument names; TypeError (as Python raises for an
    unexpected keyword) with the nearest key name when none does."""
    try:
        return resolve_key(name)
    except KeyError:
        import difflib
        near = difflib.get_close_matches(name.lower(), sorted(_KEYS), n=1)
        raise TypeError("%s() got an unexpected keyword argument %r%s" % (
            caller, name, "; did you mean %r?" % near[0] if near else "")) from None


def bounds(key):
    """Valid range (lo, hi) of a key (fden_config_bounds)."""
    lo, hi = ctypes.c_double(), ctypes.c_double()
    errors.check(_lib.fn.config_bounds(resolve_key(key), ctypes.byref(lo), ctypes.byref(hi)))
    return lo.value, hi.value


class Config(Handle):
    """Settings for a new model (struct fden_config).

    ``Config(dim=64, lr=1e-3)`` starts from the library defaults
    (``Preset.DEFAULT``; ``preset=Preset.PAPER`` for Appendix B of the
    paper) and sets the given keys. Keys are :class:`Param` members, ints or
    names; ``cfg["dropout"] = 0`` and ``cfg["dropout"]`` work too. Values
    are doubles; integer keys reject fractions (``InvalidArgumentError``).
    """

    _free = _lib.fn.config_free

    def __init__(self, preset=None, **settings):
        keys = {k: _keyword(type(self).__name__, k) for k in settings}
        self._own(self._new(_lib.fn.config_new))
        if preset is not None:
            self.preset(preset)
        for k, v in settings.items():
            self.set(keys[k], v)

    @classmethod
    def _adopt(cls, ptr):
        obj = cls.__new__(cls)
        obj._own(ptr)
        return obj

    def preset(self, preset):
        """Reset every key to a Preset (or its name, "paper"/"default")."""
        if isinstance(preset, str):
            preset = Preset[preset.upper()]
        errors.check(_lib.fn.config_preset(self.ptr, int(preset)))
        return self

    def set(self, key, value):
        """Set one key; raises InvalidArgumentError when out of bounds."""
        errors.check(_lib.fn.config_set(self.ptr, resolve_key(key), float(value)))
        return self

    def get(self, key):
        """Read one key as a float."""
        v = ctypes.c_double()
        errors.check(_lib.fn.config_get(self.ptr, resolve_key(key), ctypes.byref(v)))
        return v.value

    __getitem__ = get
    __setitem__ = set

    def to_dict(self):
        """All keys as {name: value}."""
        out = {}
        for p in Param:
            name = (key_name(p) if _lib.has("config_key_name") else None) or p.name.lower()
            out[name] = self.get(p)
        return out

    def __repr__(self):
        if self.closed:
            return "<fden.Config closed>"
        return "<fden.Config dim=%g seed=%g>" % (self.get(Param.DIM), self.get(Param.SEED))
