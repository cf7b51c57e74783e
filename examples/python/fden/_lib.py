"""Loading libfden and declaring its C prototypes (ctypes).

The shared library is found, in this order:

1. the ``FDEN_LIBRARY`` environment variable: a path to ``libfden.so``;
2. the system's ``libfden.so.0`` (an installed library: the dynamic
   loader's search path, ``LD_LIBRARY_PATH`` and ldconfig's cache), then
   ``ctypes.util.find_library("fden")``;
3. only when ``FDEN_BUILD_DIR`` names one, a meson build directory's
   ``libfden/libfden.so``.

Every function declared below must be exported by the library found: a
missing one (a stale library) is an ImportError naming it, at import.
"""

import ctypes
import ctypes.util
import os

c_float_p = ctypes.POINTER(ctypes.c_float)
c_int32_p = ctypes.POINTER(ctypes.c_int32)
c_double_p = ctypes.POINTER(ctypes.c_double)
c_void_pp = ctypes.POINTER(ctypes.c_void_p)

# Mirrors of the public structs (include/fden/*.h); field order is the ABI.

#: typedef void (*fden_log_fn)(void *user_data, int level, const char *format, va_list args)
#: On x86-64 and AArch64 Linux a va_list argument travels as a pointer.
LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_void_p)

#: int (*encode)(void *user_data, const float *x, size_t n, float *z)
CODEC_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, c_float_p, ctypes.c_size_t,
                            c_float_p)
#: int (*encode_dist)(void *user_data, const float *x, size_t n, float *mu, float *log_sigma)
DIST_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, c_float_p, ctypes.c_size_t,
                           c_float_p, c_float_p)
#: void (*destroy)(void *user_data)
DESTROY_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


class Episodes(ctypes.Structure):
    """struct fden_episodes"""
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("n_episodes", ctypes.c_size_t),
        ("ways", ctypes.c_size_t),
        ("shots", ctypes.c_size_t),
        ("queries", ctypes.c_size_t),
        ("z", c_float_p),
        ("z_log_sigma", c_float_p),
        ("labels", c_int32_p),
        ("classes", c_int32_p),  # optional (NULL); @since 0.2
    ]


class StepStatsC(ctypes.Structure):
    """struct fden_step_stats"""
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("loss", ctypes.c_double),
        ("l_r", ctypes.c_double),
        ("l_c", ctypes.c_double),
        ("l_m", ctypes.c_double),
        ("accuracy", ctypes.c_double),
        ("gnorm_disentangler", ctypes.c_double),
        ("gnorm_entangler", ctypes.c_double),
        ("gnorm_statistician", ctypes.c_double),
        ("gnorm_align", ctypes.c_double),
        ("clip_scale", ctypes.c_double),
        ("step", ctypes.c_uint64),
        ("l_xcorr", ctypes.c_double),
        ("l_sty_adv", ctypes.c_double),
        ("l_nll", ctypes.c_double),
        ("l_hsic", ctypes.c_double),            # @since 0.2
        ("l_sty_cls", ctypes.c_double),         # @since 0.2
        ("sty_cls_accuracy", ctypes.c_double),  # @since 0.2
        ("lr", ctypes.c_double),                # @since 0.2
        ("l_sty_between", ctypes.c_double),     # @since 0.2
    ]


class InvnetOps(ctypes.Structure):
    """struct fden_invnet_ops"""
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("version", ctypes.c_uint),
        ("encode", CODEC_FN),
        ("decode", CODEC_FN),
        ("encode_dist", DIST_FN),
        ("destroy", DESTROY_FN),
    ]


class ConvOptions(ctypes.Structure):
    """struct fden_conv_options"""
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("height", ctypes.c_size_t),
        ("width", ctypes.c_size_t),
        ("channels", ctypes.c_size_t),
        ("base_channels", ctypes.c_size_t),
        ("levels", ctypes.c_size_t),
        ("epochs", ctypes.c_size_t),
        ("batch", ctypes.c_size_t),
        ("lr", ctypes.c_double),
        ("loss", ctypes.c_int),
        ("seed", ctypes.c_uint64),
        ("threads", ctypes.c_int),
        ("time_budget", ctypes.c_double),
        ("log", LOG_FN),
        ("log_user_data", ctypes.c_void_p),
        ("contrast", ctypes.c_double),
        ("contrast_tau", ctypes.c_double),
        ("aug_rotation", ctypes.c_double),
        ("aug_scale", ctypes.c_double),
        ("aug_shift", ctypes.c_double),
    ]


class AliOptions(ctypes.Structure):
    """struct fden_ali_options"""
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("height", ctypes.c_size_t),
        ("width", ctypes.c_size_t),
        ("channels", ctypes.c_size_t),
        ("base_channels", ctypes.c_size_t),
        ("epochs", ctypes.c_size_t),
        ("batch", ctypes.c_size_t),
        ("lr", ctypes.c_double),
        ("beta1", ctypes.c_double),
        ("dropout", ctypes.c_double),
        ("l2_weight", ctypes.c_double),
        ("output", ctypes.c_int),
        ("seed", ctypes.c_uint64),
        ("threads", ctypes.c_int),
        ("time_budget", ctypes.c_double),
        ("log_steps", ctypes.c_size_t),
        ("log", LOG_FN),
        ("log_user_data", ctypes.c_void_p),
    ]


class AeOptions(ctypes.Structure):
    """struct fden_ae_options"""
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("hidden", ctypes.c_size_t),
        ("epochs", ctypes.c_size_t),
        ("batch", ctypes.c_size_t),
        ("lr", ctypes.c_double),
        ("seed", ctypes.c_uint64),
        ("threads", ctypes.c_int),
        ("log", LOG_FN),
        ("log_user_data", ctypes.c_void_p),
    ]


class FewshotOptions(ctypes.Structure):
    """struct fden_fewshot_options"""
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("episodes", ctypes.c_size_t),
        ("ways", ctypes.c_size_t),
        ("shots", ctypes.c_size_t),
        ("queries", ctypes.c_size_t),
        ("seed", ctypes.c_uint64),
        ("transform", ctypes.c_int),
        ("center", c_float_p),
        ("label_map", c_int32_p),
        ("n_label_map", ctypes.c_size_t),
        ("episode_accuracy", c_double_p),
        ("episode_rows", ctypes.POINTER(ctypes.c_size_t)),
    ]


class FewshotResult(ctypes.Structure):
    """struct fden_fewshot_result"""
    _fields_ = [
        ("mean", ctypes.c_double),
        ("ci95", ctypes.c_double),
        ("episodes", ctypes.c_size_t),
        ("classes", ctypes.c_size_t),
    ]


INVNET_OPS_VERSION = 1

_I = ctypes.c_int
_SZ = ctypes.c_size_t
_P = ctypes.c_void_p
_S = ctypes.c_char_p
_D = ctypes.c_double
_U64 = ctypes.c_uint64

# name: (restype, argtypes)
_PROTOTYPES = {
    # core.h
    "fden_strerror": (_S, [_I]),
    "fden_last_error": (_S, []),
    "fden_version": (_S, []),
    "fden_version_number": (ctypes.c_uint, []),
    # model.h
    "fden_config_new": (_I, [c_void_pp]),
    "fden_config_free": (None, [_P]),
    "fden_config_preset": (_I, [_P, _I]),
    "fden_config_set": (_I, [_P, _I, _D]),
    "fden_config_get": (_I, [_P, _I, c_double_p]),
    "fden_config_bounds": (_I, [_I, c_double_p, c_double_p]),
    "fden_config_key_name": (_S, [_I]),
    "fden_config_key_count": (_I, []),
    "fden_model_new": (_I, [_P, c_void_pp]),
    "fden_model_free": (None, [_P]),
    "fden_model_dim": (_SZ, [_P]),
    "fden_model_ide_dim": (_SZ, [_P]),
    "fden_model_sty_dim": (_SZ, [_P]),
    "fden_model_step": (_U64, [_P]),
    "fden_model_config": (_I, [_P, c_void_pp]),
    "fden_model_set_param": (_I, [_P, _I, _D]),
    "fden_model_last_error": (_S, [_P]),
    "fden_model_set_log": (None, [_P, LOG_FN, _P]),
    "fden_model_set_standardization": (_I, [_P, c_float_p, c_float_p]),
    "fden_model_fit_standardization": (_I, [_P, c_float_p, _SZ]),
    "fden_model_fit_standardization_except": (_I, [_P, c_float_p, c_int32_p, _SZ, c_int32_p,
                                                   _SZ]),
    "fden_model_disentangler": (_P, [_P]),
    "fden_model_factorizer": (_P, [_P]),
    "fden_model_entangler": (_P, [_P]),
    "fden_train_step": (_I, [_P, ctypes.POINTER(Episodes), ctypes.POINTER(StepStatsC)]),
    "fden_disentangle": (_I, [_P, c_float_p, _SZ, c_float_p, c_float_p]),
    "fden_entangle": (_I, [_P, c_float_p, c_float_p, _SZ, c_float_p]),
    "fden_predict": (_I, [_P, c_float_p, c_int32_p, _SZ, _SZ, c_float_p, _SZ,
                          c_int32_p, c_float_p]),
    "fden_disentangler_run": (_I, [_P, c_float_p, _SZ, c_float_p, c_float_p]),
    "fden_entangler_run": (_I, [_P, c_float_p, c_float_p, _SZ, c_float_p]),
    "fden_factorizer_mine": (_I, [_P, c_float_p, c_float_p, _SZ, _U64, c_double_p]),
    "fden_factorizer_align": (_I, [_P, c_float_p, c_int32_p, _SZ, _SZ, c_float_p, _SZ,
                                   c_float_p]),
    "fden_model_save": (_I, [_P, _S]),
    "fden_model_load": (_I, [_S, _P, c_void_pp]),
    # invnet.h
    "fden_invnet_new": (_I, [ctypes.POINTER(InvnetOps), _SZ, _SZ, _P, c_void_pp]),
    "fden_invnet_free": (None, [_P]),
    "fden_invnet_input_dim": (_SZ, [_P]),
    "fden_invnet_latent_dim": (_SZ, [_P]),
    "fden_invnet_encode": (_I, [_P, c_float_p, _SZ, c_float_p]),
    "fden_invnet_decode": (_I, [_P, c_float_p, _SZ, c_float_p]),
    "fden_invnet_encode_dist": (_I, [_P, c_float_p, _SZ, c_float_p, c_float_p]),
    "fden_invnet_fit_pca": (_I, [c_float_p, _SZ, _SZ, _SZ, _U64, c_void_pp]),
    "fden_ae_options_default": (None, [ctypes.POINTER(AeOptions)]),
    "fden_invnet_fit_autoencoder": (_I, [c_float_p, _SZ, _SZ, _SZ,
                                         ctypes.POINTER(AeOptions), c_void_pp]),
    "fden_conv_options_default": (None, [ctypes.POINTER(ConvOptions)]),
    "fden_invnet_fit_conv": (_I, [c_float_p, _SZ, _SZ, _SZ,
                                  ctypes.POINTER(ConvOptions), c_void_pp]),
    "fden_ali_options_default": (None, [ctypes.POINTER(AliOptions)]),
    "fden_invnet_fit_ali": (_I, [c_float_p, _SZ, _SZ, _SZ,
                                 ctypes.POINTER(AliOptions), c_void_pp]),
    "fden_invnet_save": (_I, [_P, _S]),
    "fden_invnet_load": (_I, [_S, c_void_pp]),
    # data.h
    "fden_dataset_load_idx": (_I, [_S, _S, _D, c_void_pp]),
    "fden_dataset_load_npy": (_I, [_S, _S, c_void_pp]),
    "fden_dataset_new": (_I, [c_float_p, c_int32_p, _SZ, _SZ, c_void_pp]),
    "fden_dataset_free": (None, [_P]),
    "fden_dataset_size": (_SZ, [_P]),
    "fden_dataset_dim": (_SZ, [_P]),
    "fden_dataset_data": (c_float_p, [_P]),
    "fden_dataset_labels": (c_int32_p, [_P]),
    "fden_dataset_select": (_I, [_P, c_int32_p, _SZ, c_void_pp]),
    "fden_dataset_split": (_I, [_P, ctypes.c_int32, c_void_pp, c_void_pp]),
    "fden_npy_save_f32": (_I, [_S, c_float_p, _SZ, _SZ]),
    "fden_npy_save_i32": (_I, [_S, c_int32_p, _SZ]),
    "fden_sampler_new": (_I, [_P, _SZ, _SZ, _SZ, _U64, c_void_pp]),
    "fden_sampler_new_except": (_I, [_P, _SZ, _SZ, _SZ, _U64, c_int32_p, _SZ, c_void_pp]),
    "fden_sampler_free": (None, [_P]),
    "fden_sampler_next": (_I, [_P, _SZ, c_float_p, c_int32_p, c_int32_p]),
    "fden_sampler_reset": (_I, [_P, _U64]),
    "fden_fewshot_options_default": (None, [ctypes.POINTER(FewshotOptions)]),
    "fden_fewshot_eval": (_I, [c_float_p, c_int32_p, _SZ, _SZ, ctypes.POINTER(FewshotOptions),
                               ctypes.POINTER(FewshotResult)]),
}

#: SONAME major version the bindings are written against
SONAME_MAJOR = 0


def _candidates():
    env = os.environ.get("FDEN_LIBRARY")
    if env:
        yield env
        return
    yield "libfden.so.%d" % SONAME_MAJOR
    found = ctypes.util.find_library("fden")
    if found:
        yield found
    bdir = os.environ.get("FDEN_BUILD_DIR")
    if bdir:
        yield os.path.join(bdir, "libfden", "libfden.so")


def _load():
    tried = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            tried.append(path + " (missing)")
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as exc:
            tried.append("%s (%s)" % (path, exc))
    raise ImportError("libfden not found: install it (meson install), or set FDEN_LIBRARY "
                      "to the path of libfden.so or FDEN_BUILD_DIR to a meson build "
                      "directory. Tried: "
                      + ("; ".join(tried) or "nothing"))


lib, path = _load()


class _Namespace:
    pass


fn = _Namespace()
_missing = []
for _name, (_res, _args) in _PROTOTYPES.items():
    try:
        _f = getattr(lib, _name)
    except AttributeError:
        _missing.append(_name)
        continue
    _f.restype = _res
    _f.argtypes = _args
    setattr(fn, _name[5:], _f)
if _missing:
    raise ImportError("%s does not export %s: an older libfden than these bindings "
                      "(set FDEN_LIBRARY to the right one)" % (path, ", ".join(_missing)))


def has(name):
    """True if the loaded library exports ``fden_<name>`` (always, for the
    functions the bindings declare: a missing one fails the import)."""
    return hasattr(fn, name)


def decode(s):
    """bytes or None -> str or None."""
    return None if s is None else s.decode("utf-8", "replace")


# libc's vsnprintf formats the log callbacks' (format, va_list) pairs.
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
_vsnprintf = _libc.vsnprintf
_vsnprintf.restype = ctypes.c_int
_vsnprintf.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p]


def format_va(fmt, va):
    """Format a printf format and a va_list (as received by a log callback)."""
    buf = ctypes.create_string_buffer(1024)
    _vsnprintf(buf, len(buf), fmt, va)
    return buf.value.decode("utf-8", "replace")


def make_log_fn(callback):
    """Wrap callback(level, message) as an fden_log_fn; keep the result alive."""
    if callback is None:
        return LOG_FN()

    def _log(user_data, level, fmt, va):
        try:
            callback(int(level), format_va(fmt, va).rstrip("\n"))
        except Exception:  # never unwind into C
            pass

    return LOG_FN(_log)
