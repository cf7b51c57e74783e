"""Invertible networks: a host encoder/decoder written in Python, or the
built-in PCA, MLP autoencoder, conv autoencoder and ALI host
(struct fden_invnet)."""

import ctypes
import os

import numpy as np

from . import _arrays, _lib, errors
from ._handle import Handle


class _HostState:
    """What the C callbacks share with the InvNet: the Python functions,
    the sizes, and the exception of the last failing callback."""

    def __init__(self, input_dim, latent_dim):
        self.input_dim = input_dim
        self.latent_dim = latent_dim
        self.error = None

    def fill(self, name, fn, src, n, src_cols, outs, out_cols):
        """Call fn on an n x src_cols view of src; copy its result(s) into outs."""
        try:
            # a writable copy: the callback may keep or change it (and
            # torch.from_numpy takes it without a warning)
            x = _arrays.copy_f32(src, n, src_cols)
            res = fn(x)
            if len(outs) == 1:
                res = (res,)
            if not isinstance(res, (tuple, list)) or len(res) != len(outs):
                raise TypeError("%s must return %d array(s)" % (name, len(outs)))
            for r, o in zip(res, outs):
                r = np.asarray(r, dtype=np.float32)
                if r.shape != (n, out_cols):
                    raise ValueError("%s returned shape %s, expected %s"
                                     % (name, r.shape, (n, out_cols)))
                _arrays.view_f32(o, n, out_cols)[...] = r
            return 0
        except BaseException as exc:  # never unwind into C
            self.error = exc
            return 1


def _make_ops(state, encode, decode, encode_dist):
    """An fden_invnet_ops calling the Python functions; returns (ops, callbacks)."""
    ind, lat = state.input_dim, state.latent_dim

    def c_encode(user, x, n, z):
        return state.fill("encode", encode, x, n, ind, (z,), lat)

    def c_decode(user, z, n, x):
        return state.fill("decode", decode, z, n, lat, (x,), ind)

    def c_dist(user, x, n, mu, ls):
        return state.fill("encode_dist", encode_dist, x, n, ind, (mu, ls), lat)

    cbs = (_lib.CODEC_FN(c_encode), _lib.CODEC_FN(c_decode),
           _lib.DIST_FN(c_dist) if encode_dist is not None else _lib.DIST_FN())
    ops = _lib.InvnetOps(ctypes.sizeof(_lib.InvnetOps), _lib.INVNET_OPS_VERSION,
                         cbs[0], cbs[1], cbs[2], _lib.DESTROY_FN())
    return ops, cbs


class InvNet(Handle):
    """An invertible network: encode(x) -> z, decode(z) -> x.

    Host network in Python::

        net = InvNet(encode=f, decode=g, input_dim=784, latent_dim=64)

    where ``f`` maps an n x input_dim float32 array (read-only, valid only
    during the call) to n x latent_dim, ``g`` the reverse, and the optional
    ``encode_dist`` returns (mu, log_sigma). An exception in a callback
    makes the C call fail with FDEN_E_HOST; the wrapper re-raises it as
    :class:`fden.HostError` with the original as ``__cause__``. The C
    callbacks stay referenced until the handle is freed.

    Built in: :meth:`fit_pca`, :meth:`fit_autoencoder`, :meth:`fit_conv`,
    :meth:`fit_ali`, :meth:`load`.
    """

    _free = _lib.fn.invnet_free

    def __init__(self, encode, decode, input_dim, latent_dim, encode_dist=None):
        if not callable(encode) or not callable(decode):
            raise TypeError("encode and decode must be callable")
        self._host = _HostState(int(input_dim), int(latent_dim))
        ops, cbs = _make_ops(self._host, encode, decode, encode_dist)
        ptr = self._new(_lib.fn.invnet_new, ctypes.byref(ops), int(input_dim),
                        int(latent_dim), None)
        self._own(ptr, ops, cbs, self._host)

    @classmethod
    def wrap(cls, host):
        """An InvNet over an object with encode, decode (and optionally
        encode_dist) methods and input_dim, latent_dim attributes."""
        return cls(host.encode, host.decode, host.input_dim, host.latent_dim,
                   getattr(host, "encode_dist", None))

    @classmethod
    def _adopt(cls, ptr, *keep):
        obj = cls.__new__(cls)
        obj._host = None
        obj._own(ptr, *keep)
        return obj

    @classmethod
    def fit_pca(cls, x, latent_dim, seed=0):
        """Fit a PCA network (randomized SVD) on x (n x input_dim float32)."""
        x = _arrays.f32(x, "x")
        return cls._adopt(cls._new(_lib.fn.invnet_fit_pca, _arrays.fptr(x), x.shape[0],
                                   x.shape[1], int(latent_dim), int(seed)))

    @classmethod
    def fit_autoencoder(cls, x, latent_dim, hidden=None, epochs=None, batch=None, lr=None,
                        seed=None, threads=None, log=None):
        """Fit the built-in MLP autoencoder (sigmoid output: x in [0, 1]).

        Unset options keep the library's defaults (fden_ae_options_default);
        log, if given, receives (level, message) progress lines.
        """
        return cls._fit(_lib.fn.invnet_fit_autoencoder, _lib.AeOptions,
                        _lib.fn.ae_options_default, x, latent_dim, log,
                        dict(hidden=hidden, epochs=epochs, batch=batch, lr=lr, seed=seed,
                             threads=threads))

    @classmethod
    def fit_conv(cls, x, latent_dim, shape=None, base_channels=None, levels=None, epochs=None,
                 batch=None, lr=None, loss=None, seed=None, threads=None, time_budget=None,
                 log=None, contrast=None, contrast_tau=None, aug_rotation=None,
                 aug_scale=None, aug_shift=None):
        """Fit the built-in convolutional autoencoder (sigmoid output: x in [0, 1]).

        x is n x (height width channels), each row a channels-last image;
        shape is (height, width, channels), default square one-channel.
        loss is "l2" or "bce"; time_budget caps fitting, in seconds.
        contrast > 0 adds the contrastive (InfoNCE) term at that weight, with
        temperature contrast_tau and augmented views warped by up to
        aug_rotation degrees, 1 +- aug_scale and aug_shift pixels. Unset
        options keep the library's defaults (fden_conv_options_default).
        """
        if loss is not None:
            losses = {"l2": 0, "bce": 1}
            if loss not in losses:
                raise ValueError("loss must be 'l2' or 'bce', not %r" % (loss,))
            loss = losses[loss]
        return cls._fit(_lib.fn.invnet_fit_conv, _lib.ConvOptions, _lib.fn.conv_options_default,
                        x, latent_dim, log,
                        dict(base_channels=base_channels, levels=levels, epochs=epochs,
                             batch=batch, lr=lr, loss=loss, seed=seed, threads=threads,
                             time_budget=time_budget, contrast=contrast,
                             contrast_tau=contrast_tau, aug_rotation=aug_rotation,
                             aug_scale=aug_scale, aug_shift=aug_shift), shape)

    @classmethod
    def fit_ali(cls, x, latent_dim, shape=None, base_channels=None, epochs=None, batch=None,
                lr=None, beta1=None, dropout=None, l2_weight=None, output=None, seed=None,
                threads=None, time_budget=None, log_steps=None, log=None):
        """Fit the built-in ALI host (adversarially learned inference, with
        an optional reconstruction term l2_weight) on images.

        x is n x (height width channels), each row a channels-last image of
        at least 20 x 20; shape is (height, width, channels), default square
        one-channel. output is "sigmoid" (x in [0, 1], the default) or
        "tanh" (x in [-1, 1]); time_budget caps fitting, in seconds;
        log_steps adds a progress line every that many steps. encode gives
        the mean of q(z|x), encode_dist mean and log-sigma. Unset options
        keep the library's defaults (fden_ali_options_default).
        """
        if output is not None:
            outputs = {"sigmoid": 0, "tanh": 1}
            if output not in outputs:
                raise ValueError("output must be 'sigmoid' or 'tanh', not %r" % (output,))
            output = outputs[output]
        return cls._fit(_lib.fn.invnet_fit_ali, _lib.AliOptions, _lib.fn.ali_options_default,
                        x, latent_dim, log,
                        dict(base_channels=base_channels, epochs=epochs, batch=batch, lr=lr,
                             beta1=beta1, dropout=dropout, l2_weight=l2_weight,
                             output=output, seed=seed, threads=threads,
                             time_budget=time_budget, log_steps=log_steps), shape)

    @classmethod
    def _fit(cls, fit, options, defaults, x, latent_dim, log, settings, shape=None):
        """Fit a built-in host with fit(x, n, dim, latent_dim, &opt): opt
        starts as the library's defaults, takes every setting that is not
        None (and shape as height, width, channels), and log's callback."""
        x = _arrays.f32(x, "x")
        opt = options()
        defaults(ctypes.byref(opt))
        opt.struct_size = ctypes.sizeof(opt)
        if shape is not None:
            opt.height, opt.width, opt.channels = (int(v) for v in shape)
        for name, v in settings.items():
            if v is not None:
                setattr(opt, name, v)
        logfn = _lib.make_log_fn(log)
        if log is not None:
            opt.log = logfn
        return cls._adopt(cls._new(fit, _arrays.fptr(x), x.shape[0], x.shape[1],
                                   int(latent_dim), ctypes.byref(opt)), logfn)

    @classmethod
    def load(cls, path):
        """Load a built-in network written by :meth:`save`."""
        return cls._adopt(cls._new(_lib.fn.invnet_load, os.fsencode(path)))

    def save(self, path):
        """Save a built-in network (UnsupportedError-like FdenError for host ones)."""
        errors.check(_lib.fn.invnet_save(self.ptr, os.fsencode(path)))

    @property
    def input_dim(self):
        return int(_lib.fn.invnet_input_dim(self.ptr))

    @property
    def latent_dim(self):
        return int(_lib.fn.invnet_latent_dim(self.ptr))

    def _check(self, status):
        host = getattr(self, "_host", None)
        exc, cause = None, None
        if host is not None:
            cause, host.error = host.error, None
        if status != errors.OK:
            exc = errors.error_for(status)
            if cause is not None:
                raise exc from cause
            raise exc

    def encode(self, x):
        """z = encode(x): n x input_dim -> n x latent_dim (float32)."""
        x = _arrays.f32(x, "x", cols=self.input_dim)
        z = np.empty((x.shape[0], self.latent_dim), dtype=np.float32)
        self._check(_lib.fn.invnet_encode(self.ptr, _arrays.fptr(x), x.shape[0],
                                          _arrays.fptr(z)))
        return z

    def decode(self, z):
        """x = decode(z): n x latent_dim -> n x input_dim (float32)."""
        z = _arrays.f32(z, "z", cols=self.latent_dim)
        x = np.empty((z.shape[0], self.input_dim), dtype=np.float32)
        self._check(_lib.fn.invnet_decode(self.ptr, _arrays.fptr(z), z.shape[0],
                                          _arrays.fptr(x)))
        return x

    def encode_dist(self, x):
        """(mu, log_sigma) of q(z|x); FdenError FDEN_E_UNSUPPORTED if none."""
        x = _arrays.f32(x, "x", cols=self.input_dim)
        mu = np.empty((x.shape[0], self.latent_dim), dtype=np.float32)
        ls = np.empty_like(mu)
        self._check(_lib.fn.invnet_encode_dist(self.ptr, _arrays.fptr(x), x.shape[0],
                                               _arrays.fptr(mu), _arrays.fptr(ls)))
        return mu, ls

    def __repr__(self):
        if self.closed:
            return "<fden.InvNet closed>"
        kind = "host" if getattr(self, "_host", None) is not None else "built-in"
        return "<fden.InvNet %s %d -> %d>" % (kind, self.input_dim, self.latent_dim)
