"""Version, status messages and exceptions."""

import gc
import unittest

import fden
from fden import errors

from .util import requires


class TestCore(unittest.TestCase):
    def test_version(self):
        v = fden.version()
        parts = [int(p) for p in v.split(".")]
        self.assertEqual(len(parts), 3)
        self.assertEqual(fden.version_number(), parts[0] * 10000 + parts[1] * 100 + parts[2])

    def test_strerror(self):
        self.assertNotEqual(fden.strerror(errors.E_SHAPE), fden.strerror(errors.E_IO))
        self.assertTrue(fden.strerror(12345))  # never NULL

    def test_error_classes(self):
        e = errors.error_for(errors.E_SHAPE, "z has 3 columns")
        self.assertIsInstance(e, fden.ShapeError)
        self.assertIsInstance(e, ValueError)
        self.assertEqual(e.status, errors.E_SHAPE)
        self.assertEqual(e.name, "FDEN_E_SHAPE")
        self.assertIn("z has 3 columns", str(e))
        self.assertIsInstance(errors.error_for(errors.E_CORRUPT, ""), OSError)
        self.assertIs(type(errors.error_for(errors.E_STATE, "")), fden.FdenError)

    @requires("config_new", "config_set")
    def test_detail_reaches_exception(self):
        with fden.Config() as cfg:
            with self.assertRaises(fden.InvalidArgumentError) as cm:
                cfg.set(9999, 1.0)
        self.assertEqual(cm.exception.status, errors.E_INVALID)
        self.assertTrue(cm.exception.detail)
        self.assertEqual(cm.exception.detail, fden.last_error())

    @requires("config_new")
    def test_close_is_idempotent_and_guards(self):
        cfg = fden.Config()
        cfg.close()
        cfg.close()
        self.assertTrue(cfg.closed)
        with self.assertRaises(fden.FdenError) as cm:
            cfg.get("dim")
        self.assertEqual(cm.exception.status, errors.E_STATE)

    @requires("config_new")
    def test_finalizer_frees(self):
        cfg = fden.Config()
        fin = cfg._finalizer
        del cfg
        gc.collect()
        self.assertFalse(fin.alive)


if __name__ == "__main__":
    unittest.main()
