"""Python bindings for libfden (ctypes; NumPy in and out).

FDEN (Yoon & Suk) learns, on the latents z of a host's frozen
encoder/decoder, to split each z into an identity factor f_ide and a style
factor f_sty::

    import numpy as np, fden
    with fden.Model(dim=64, seed=1) as m:
        stats = m.train_step(sampler.next(16))
        f_ide, f_sty = m.disentangle(z)          # z: n x 64 float32
        z2 = m.entangle(f_ide, f_sty)

Arrays are row-major float32 (int32 for labels) and are checked, never
converted silently. Failures raise :class:`FdenError` (or a subclass) with
``status``, ``reason`` (fden_strerror) and ``detail`` (fden_last_error).
Handles are freed by ``close()``, ``with`` blocks, or finalizers.

The shared library is located through ``FDEN_LIBRARY`` (a path to
libfden.so), then the system's libfden.so.0, then, only when it is set,
``FDEN_BUILD_DIR`` (a meson build directory).

:class:`FDEN` is a scikit-learn-style estimator over these classes:
``FDEN(steps=300).fit(z, y)``, ``transform(z) -> (f_ide, f_sty)``,
``inverse_transform``, ``score`` (few-shot accuracy on f_ide).
"""

from . import _lib
from .config import (AlignHead, Config, DisentanglerKind, Init, LrDecay, Param, Preset,
                     bounds, key_count, key_name)
from .data import Dataset, FewShotResult, Sampler, fewshot_eval, save_npy
from .estimator import FDEN, NotFittedError
from .errors import (FdenError, FileError, HostError, InvalidArgumentError, NonFiniteError,
                     ShapeError, last_error, strerror)
from .invnet import InvNet
from .model import Disentangler, Entangler, Factorizer, Model, StepStats

#: path of the loaded libfden shared library
library_path = _lib.path


def version():
    """The library's run-time version string ("MAJOR.MINOR.PATCH")."""
    return _lib.decode(_lib.fn.version())


def version_number():
    """The run-time version as MAJOR*10000 + MINOR*100 + PATCH."""
    return int(_lib.fn.version_number())


__version__ = version()

__all__ = [
    "AlignHead", "Config", "Dataset", "Disentangler", "DisentanglerKind", "Entangler", "FDEN",
    "Factorizer",
    "FdenError", "FewShotResult", "FileError", "HostError", "Init", "InvNet", "InvalidArgumentError",
    "LrDecay", "Model", "NonFiniteError", "NotFittedError", "Param", "Preset", "Sampler", "ShapeError", "StepStats",
    "bounds", "fewshot_eval", "key_count", "key_name", "last_error", "library_path", "save_npy", "strerror",
    "version", "version_number",
]
