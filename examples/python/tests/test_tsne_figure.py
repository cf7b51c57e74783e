"""tsne_figure.py end to end on synthetic latents and a small saved model."""

import importlib.util
import os
import sys
import unittest

import numpy as np

from .util import TempDir, latents, requires, small_model

HAVE_PLOT = all(importlib.util.find_spec(m) for m in ("sklearn", "matplotlib"))
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@unittest.skipUnless(HAVE_PLOT, "needs python3-sklearn and python3-matplotlib")
@requires("model_save", "model_load", "disentangle")
class TestTsneFigure(TempDir):
    def test_writes_png(self):
        sys.path.insert(0, HERE)
        import tsne_figure
        z, y = latents(n_classes=7, per_class=25)
        zp, yp = os.path.join(self.tmp, "z.npy"), os.path.join(self.tmp, "y.npy")
        np.save(zp, z)
        np.save(yp, y)
        mp, out = os.path.join(self.tmp, "m.fden"), os.path.join(self.tmp, "fig", "t.png")
        with small_model() as m:
            m.save(mp)
        rc = tsne_figure.main(["--model", mp, "--latents", zp, "--latent-labels", yp,
                               "--out", out, "--per-class", "20"])
        self.assertEqual(rc, 0)
        with open(out, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        self.assertGreater(os.path.getsize(out), 10000)
        self.assertEqual(tsne_figure.loo_1nn(np.array([[0.0], [0.1], [5.0], [5.1]]),
                                             np.array([0, 0, 1, 1])), 1.0)


if __name__ == "__main__":
    unittest.main()
