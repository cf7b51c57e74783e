"""Invertible networks: a Python host network through the vtable, PCA, AE, conv AE."""

import gc
import os
import unittest

import numpy as np

import fden

from .util import TempDir, requires


class LinearHost:
    """A host 'pretrained' network: z = x Q (orthogonal Q), x = z Q^T."""

    input_dim = 12
    latent_dim = 12

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.q, _ = np.linalg.qr(rng.normal(size=(12, 12)))
        self.calls = 0

    def encode(self, x):
        self.calls += 1
        return x @ self.q

    def decode(self, z):
        self.calls += 1
        return z @ self.q.T


@requires("invnet_new", "invnet_encode", "invnet_decode", "invnet_free")
class TestHostInvNet(unittest.TestCase):
    def setUp(self):
        self.x = np.random.default_rng(1).normal(size=(9, 12)).astype(np.float32)

    def test_roundtrip_through_c(self):
        host = LinearHost()
        with fden.InvNet.wrap(host) as net:
            self.assertEqual((net.input_dim, net.latent_dim), (12, 12))
            z = net.encode(self.x)
            np.testing.assert_allclose(z, self.x @ host.q, rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(net.decode(z), self.x, atol=1e-4)
        self.assertEqual(host.calls, 2)

    def test_callbacks_survive_gc(self):
        net = fden.InvNet(lambda x: x * 2.0, lambda z: z / 2.0, 12, 12)
        gc.collect()  # the lambdas are referenced only by the InvNet
        np.testing.assert_allclose(net.encode(self.x), self.x * 2, rtol=1e-6)
        net.close()

    def test_callbacks_get_writable_arrays(self):
        seen = []

        def enc(x):
            seen.append(x.flags.writeable)
            x *= 0  # a copy: changing it changes nothing of the caller's
            return x + 1.0

        x = np.ones((3, 12), dtype=np.float32)
        with fden.InvNet(enc, lambda z: z, 12, 12) as net:
            z = net.encode(x)
        self.assertEqual(seen, [True])
        np.testing.assert_array_equal(x, 1.0)
        np.testing.assert_array_equal(z, 1.0)

    def test_exception_becomes_host_error(self):
        def bad(x):
            raise RuntimeError("host exploded")
        with fden.InvNet(bad, lambda z: z, 12, 12) as net:
            with self.assertRaises(fden.HostError) as cm:
                net.encode(self.x)
            self.assertEqual(cm.exception.status, fden.errors.E_HOST)
            self.assertIsInstance(cm.exception.__cause__, RuntimeError)
            np.testing.assert_array_equal(net.decode(self.x), self.x)  # still usable

    def test_wrong_shape_becomes_host_error(self):
        with fden.InvNet(lambda x: x[:, :3], lambda z: z, 12, 12) as net:
            with self.assertRaises(fden.HostError) as cm:
                net.encode(self.x)
            self.assertIsInstance(cm.exception.__cause__, ValueError)

    @requires("invnet_encode_dist")
    def test_encode_dist(self):
        with fden.InvNet(lambda x: x, lambda z: z, 12, 12) as net:
            with self.assertRaises(fden.FdenError) as cm:
                net.encode_dist(self.x)
            self.assertEqual(cm.exception.status, fden.errors.E_UNSUPPORTED)
        dist = lambda x: (x + 1.0, np.full_like(x, -2.0))
        with fden.InvNet(lambda x: x, lambda z: z, 12, 12, encode_dist=dist) as net:
            mu, ls = net.encode_dist(self.x)
            np.testing.assert_allclose(mu, self.x + 1, rtol=1e-6)
            np.testing.assert_array_equal(ls, -2.0)

    def test_input_checks(self):
        with fden.InvNet(lambda x: x, lambda z: z, 12, 12) as net:
            with self.assertRaises(ValueError):
                net.encode(self.x[:, :5].copy())
            with self.assertRaises(TypeError):
                net.encode(self.x.astype(np.float64))

    @requires("invnet_save")
    def test_host_net_cannot_be_saved(self):
        with fden.InvNet(lambda x: x, lambda z: z, 12, 12) as net:
            with self.assertRaises(fden.FdenError) as cm:
                net.save("/nonexistent/never-written")
            self.assertEqual(cm.exception.status, fden.errors.E_UNSUPPORTED)


def low_rank(n=300, dim=40, rank=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, rank)) @ rng.normal(size=(rank, dim)) + 3.0
    return np.ascontiguousarray(x, dtype=np.float32)


@requires("invnet_fit_pca", "invnet_encode", "invnet_decode")
class TestPca(TempDir):
    def test_reconstructs_low_rank(self):
        x = low_rank()
        with fden.InvNet.fit_pca(x, 5, seed=1) as net:
            self.assertEqual((net.input_dim, net.latent_dim), (40, 5))
            err = np.abs(net.decode(net.encode(x)) - x).max()
            self.assertLess(err, 1e-2 * np.abs(x).max())

    @requires("invnet_save", "invnet_load")
    def test_save_load(self):
        x = low_rank()
        path = os.path.join(self.tmp, "pca.fdn")
        with fden.InvNet.fit_pca(x, 5, seed=1) as net:
            net.save(path)
            z = net.encode(x)
        with fden.InvNet.load(path) as net2:
            np.testing.assert_array_equal(net2.encode(x), z)


@requires("invnet_fit_autoencoder", "ae_options_default")
class TestAutoencoder(unittest.TestCase):
    def test_fit_small(self):
        rng = np.random.default_rng(0)
        x = (rng.random((256, 20)) > 0.5).astype(np.float32)
        lines = []
        with fden.InvNet.fit_autoencoder(x, 8, hidden=32, epochs=2, batch=64, seed=3,
                                         log=lambda lv, m: lines.append(m)) as net:
            self.assertEqual((net.input_dim, net.latent_dim), (20, 8))
            y = net.decode(net.encode(x))
            self.assertTrue(np.all((y >= 0) & (y <= 1)))  # sigmoid output
        # progress arrived through the va_list callback, formatted
        self.assertTrue(lines)
        self.assertFalse(any("%" in m for m in lines), lines)


def blobs(n=128, h=8, w=8, c=1, seed=0):
    """n channels-last images, one Gaussian blob each"""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx = rng.uniform(1, h - 2, n), rng.uniform(1, w - 2, n)
    img = np.exp(-((yy - cy[:, None, None]) ** 2 + (xx - cx[:, None, None]) ** 2) / 4.0)
    return np.ascontiguousarray(np.repeat(img[..., None], c, -1).reshape(n, -1),
                                dtype=np.float32)


@requires("invnet_fit_conv", "conv_options_default")
class TestConvAutoencoder(TempDir):
    def test_fit_shape_save_load(self):
        x = blobs(h=6, w=10, c=2)
        lines = []
        with fden.InvNet.fit_conv(x, 4, shape=(6, 10, 2), base_channels=4, epochs=3, batch=32,
                                  seed=3, loss="bce", log=lambda lv, m: lines.append(m)) as net:
            self.assertEqual((net.input_dim, net.latent_dim), (120, 4))
            z = net.encode(x)
            y = net.decode(z)
            self.assertEqual(y.shape, x.shape)
            self.assertTrue(np.all((y >= 0) & (y <= 1)))  # sigmoid output
            path = os.path.join(self.tmp, "conv.fdn")
            net.save(path)
        self.assertEqual(len(lines), 3)
        self.assertIn("bce", lines[0])
        with fden.InvNet.load(path) as net2:
            np.testing.assert_array_equal(net2.encode(x), z)
            np.testing.assert_array_equal(net2.decode(z), y)

    def test_contrast(self):
        x = blobs()
        lines = []
        with fden.InvNet.fit_conv(x, 4, base_channels=4, epochs=2, batch=16, seed=2,
                                  contrast=0.5, contrast_tau=0.3, aug_rotation=5.0,
                                  aug_scale=0.05, aug_shift=1.0,
                                  log=lambda lv, m: lines.append(m)) as net:
            self.assertEqual(net.encode(x).shape, (len(x), 4))
        self.assertEqual(len(lines), 2)
        self.assertIn(" nce ", lines[0])
        with self.assertRaises(fden.FdenError):
            fden.InvNet.fit_conv(x, 4, contrast=0.5, aug_scale=1.0)

    def test_bad_options(self):
        x = blobs()
        with self.assertRaises(ValueError):
            fden.InvNet.fit_conv(x, 4, loss="l1")
        with self.assertRaises(fden.FdenError):
            fden.InvNet.fit_conv(x, 4, shape=(8, 9, 1))  # 72 != 64
        with self.assertRaises(fden.FdenError):
            fden.InvNet.fit_conv(x, 4, time_budget=-1.0)


@requires("invnet_fit_ali", "ali_options_default")
class TestAli(TempDir):
    def test_fit_log_save_load(self):
        x = blobs(n=64, h=20, w=20)
        lines = []
        with fden.InvNet.fit_ali(x, 4, base_channels=2, epochs=2, batch=16, seed=3,
                                 l2_weight=10.0, log_steps=2,
                                 log=lambda lv, m: lines.append(m)) as net:
            self.assertEqual((net.input_dim, net.latent_dim), (400, 4))
            z = net.encode(x)
            mu, ls = net.encode_dist(x)
            np.testing.assert_array_equal(z, mu)   # encode is q(z|x)'s mean
            self.assertTrue(np.all(np.isfinite(ls)))
            y = net.decode(z)
            self.assertTrue(np.all((y >= 0) & (y <= 1)))  # sigmoid output
            path = os.path.join(self.tmp, "ali.fdn")
            net.save(path)
        # epoch 0, then 64/16 = 4 steps per epoch: a step line every 2, an epoch line
        self.assertEqual(len(lines), 1 + 2 * (2 + 1), lines)
        self.assertTrue(lines[0].startswith("ali epoch 0/2"), lines[0])
        self.assertTrue(lines[-1].startswith("ali epoch 2/2"), lines[-1])
        self.assertIn("train l2", lines[-1])
        with fden.InvNet.load(path) as back:
            np.testing.assert_array_equal(back.encode(x), z)
            np.testing.assert_array_equal(back.decode(z), y)

    def test_options_reach_the_library(self):
        x = blobs(n=32, h=20, w=24, c=2) * 2 - 1
        x = np.ascontiguousarray(x, dtype=np.float32)
        kw = dict(shape=(20, 24, 2), base_channels=2, epochs=1, batch=16, output="tanh")
        with fden.InvNet.fit_ali(x, 3, seed=1, **kw) as a, \
                fden.InvNet.fit_ali(x, 3, seed=1, **kw) as b, \
                fden.InvNet.fit_ali(x, 3, seed=2, **kw) as c:
            za = a.encode(x)
            np.testing.assert_array_equal(za, b.encode(x))   # same seed, same bits
            self.assertFalse(np.array_equal(za, c.encode(x)))
            y = a.decode(za)
            self.assertEqual(y.shape, x.shape)
            self.assertTrue(np.all((y >= -1) & (y <= 1)) and y.min() < 0)  # tanh output

    def test_bad_options(self):
        x = blobs(n=8, h=20, w=20)
        with self.assertRaises(ValueError):
            fden.InvNet.fit_ali(x, 4, output="relu")
        with self.assertRaises(fden.InvalidArgumentError):
            fden.InvNet.fit_ali(blobs(n=8), 4)          # 8 x 8 images: too small
        with self.assertRaises(fden.InvalidArgumentError):
            fden.InvNet.fit_ali(x, 4, shape=(20, 21, 1))  # 420 != 400
        with self.assertRaises(fden.InvalidArgumentError):
            fden.InvNet.fit_ali(x, 4, dropout=1.0)
        with self.assertRaises(TypeError):
            fden.InvNet.fit_ali(x.astype(np.float64), 4)


if __name__ == "__main__":
    unittest.main()
