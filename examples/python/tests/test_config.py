"""Config: defaults, setters, names, bounds, presets."""

import unittest

import fden
from fden import Param

from .util import requires


@requires("config_new", "config_set", "config_get", "config_bounds", "config_preset")
class TestConfig(unittest.TestCase):
    def test_defaults_from_header(self):
        with fden.Config() as cfg:
            self.assertEqual(cfg.get(Param.DIM), 256)
            self.assertEqual(cfg["dis_width"], 512)
            self.assertAlmostEqual(cfg["gamma"], 0.5)
            self.assertAlmostEqual(cfg[Param.ADAM_BETA1], 0.5)

    def test_set_get_by_key_kinds(self):
        with fden.Config(dim=32, lr=3e-4) as cfg:
            self.assertEqual(cfg["DIM"], 32)
            self.assertAlmostEqual(cfg.get(Param.LR), 3e-4)
            cfg[int(Param.SEED)] = 99
            self.assertEqual(cfg["seed"], 99)

    def test_unknown_name(self):
        with fden.Config() as cfg:
            with self.assertRaises(KeyError):
                cfg.set("no_such_key", 1)

    def test_unknown_keyword_is_type_error(self):
        for make in (fden.Config, fden.Model):
            with self.assertRaises(TypeError) as cm:
                make(dimm=3)
            self.assertIn("unexpected keyword argument 'dimm'", str(cm.exception))
            self.assertIn("did you mean 'dim'", str(cm.exception))
        with self.assertRaises(ValueError):  # a bad value
            fden.Model(dim=-3)

    def test_bounds_enforced(self):
        lo, hi = fden.bounds(Param.DROPOUT)
        self.assertLessEqual(lo, 0.2)
        self.assertGreaterEqual(hi, 0.2)
        with fden.Config() as cfg:
            cfg[Param.DROPOUT] = 0.2
            with self.assertRaises(fden.InvalidArgumentError) as cm:
                cfg.set(Param.DROPOUT, hi + 1)
            self.assertTrue(cm.exception.detail)
            self.assertAlmostEqual(cfg[Param.DROPOUT], 0.2)  # unchanged

    def test_integer_key_rejects_fraction(self):
        with fden.Config() as cfg:
            with self.assertRaises(fden.InvalidArgumentError):
                cfg.set(Param.DIM, 16.5)

    def test_preset(self):
        with fden.Config(dim=32) as cfg:
            cfg.preset("paper")
            self.assertEqual(cfg["dim"], 256)
            self.assertEqual(cfg["lr_decay"], fden.LrDecay.CONSTANT)  # the paper's constant rate
            cfg.preset(fden.Preset.DEFAULT)
            self.assertEqual(cfg["dim"], 256)

    @requires("config_key_name")
    def test_key_names_and_dict(self):
        self.assertIsNone(fden.key_name(9999))
        with fden.Config() as cfg:
            d = cfg.to_dict()
        self.assertEqual(len(d), len(Param))
        self.assertEqual(d[fden.key_name(Param.DIM)], 256)

    def test_param_covers_every_library_key(self):
        # Param must name every key the library has, with the library's name,
        # so fden.Model(hsic=1) and Param.EMA work for new keys
        n = fden.key_count()
        self.assertGreaterEqual(n, 56)
        for k in range(1, n + 1):
            self.assertIn(k, set(int(p) for p in Param), "key %d (%s) missing from Param"
                          % (k, fden.key_name(k)))
            self.assertEqual(Param(k).name.lower(), fden.key_name(k))
        with fden.Config(hsic=0.5, ema=0.99, align_norm=1) as cfg:
            self.assertEqual(cfg["hsic"], 0.5)
            self.assertEqual(cfg[Param.EMA], 0.99)
            self.assertEqual(cfg["align_norm"], 1)


if __name__ == "__main__":
    unittest.main()
