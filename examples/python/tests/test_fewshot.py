"""fden.fewshot_eval against a NumPy nearest-class-mean reference on the
episodes it reports; Model.fit_standardization against NumPy moments."""

import unittest

import numpy as np

import fden
from .util import latents, requires, small_model


def reference(x, labels, rows, ways, shots, queries, center=None, simpleshot=False):
    """Per-episode accuracy, computed in float64 from the rows."""
    x = x.astype(np.float64)
    if simpleshot:
        if center is not None:
            x = x - center
        n = np.linalg.norm(x, axis=1, keepdims=True)
        x = np.where(n > 0, x / np.where(n > 0, n, 1), x)
    acc = []
    for r in rows:
        sup = x[r[:ways * shots]].reshape(ways, shots, -1).mean(axis=1)
        q = x[r[ways * shots:]]
        d = ((q[:, None, :] - sup[None]) ** 2).sum(-1)
        truth = np.repeat(np.arange(ways), queries)
        acc.append(np.mean(d.argmin(1) == truth))
        # the episode is what the call says: one class per block
        ly = labels[r]
        assert len(set(ly[:ways * shots].tolist())) == ways
    return np.array(acc)


@requires("fewshot_eval")
class FewShot(unittest.TestCase):
    def setUp(self):
        rng = np.random.default_rng(3)
        self.z, self.y = latents(n_classes=12, per_class=10, dim=8, seed=3)
        self.z += rng.normal(0, 2.5, self.z.shape).astype(np.float32)  # overlap the classes

    def test_matches_reference(self):
        for simpleshot, center in ((False, None), (True, None), (True, self.z.mean(0))):
            r = fden.fewshot_eval(self.z, self.y, ways=5, shots=2, queries=3, episodes=150,
                                  seed=4, transform="simpleshot" if simpleshot else None,
                                  center=center, return_episodes=True)
            ref = reference(self.z, self.y, r.episode_rows, 5, 2, 3, center, simpleshot)
            np.testing.assert_allclose(r.episode_accuracy, ref, atol=1e-12)
            self.assertAlmostEqual(r.mean, ref.mean(), places=12)
            self.assertAlmostEqual(r.ci95, 1.96 * ref.std(ddof=1) / np.sqrt(150), places=12)
            self.assertTrue(0 < r.mean < 1)
            self.assertEqual((r.episodes, r.classes), (150, 12))

    def test_same_episodes_for_other_features(self):
        a = fden.fewshot_eval(self.z, self.y, episodes=20, queries=3, return_episodes=True)
        other = np.ascontiguousarray(self.z[:, ::-1])
        b = fden.fewshot_eval(other, self.y, episodes=20, queries=3, return_episodes=True)
        np.testing.assert_array_equal(a.episode_rows, b.episode_rows)
        c = fden.fewshot_eval(self.z, self.y, episodes=20, queries=3, seed=2,
                              return_episodes=True)
        self.assertFalse(np.array_equal(a.episode_rows, c.episode_rows))

    def test_label_map(self):
        m = np.full(12, -1, dtype=np.int32)
        m[:6] = np.arange(6) // 2  # classes 0..5 merged in pairs, 6..11 left out
        r = fden.fewshot_eval(self.z, self.y, ways=3, queries=3, episodes=10, label_map=m,
                              return_episodes=True)
        self.assertEqual(r.classes, 3)
        self.assertTrue((self.y[r.episode_rows] < 6).all())

    def test_errors(self):
        with self.assertRaises(fden.InvalidArgumentError) as cm:
            fden.fewshot_eval(self.z, self.y, ways=13, queries=1)
        self.assertIn("13 ways", cm.exception.detail)
        with self.assertRaises(ValueError):
            fden.fewshot_eval(self.z, self.y, transform="cosine")
        with self.assertRaises(TypeError):
            fden.fewshot_eval(self.z, self.y, ways=2.5)
        with self.assertRaises(TypeError):
            fden.fewshot_eval(self.z.astype(np.float64), self.y)
        with self.assertRaises(ValueError):
            fden.fewshot_eval(self.z, self.y[:5])
        bad = self.z.copy()
        bad[3, 1] = np.nan
        with self.assertRaises(fden.NonFiniteError):
            fden.fewshot_eval(bad, self.y, queries=3)


@requires("model_fit_standardization")
class FitStandardization(unittest.TestCase):
    def test_equals_numpy_moments(self):
        z, _ = latents(dim=16, seed=5)
        z = np.ascontiguousarray(z * 4 + 3, dtype=np.float32)
        with small_model() as a, small_model() as b:
            a.fit_standardization(z)
            mean = z.astype(np.float64).mean(0)
            sd = np.maximum(z.astype(np.float64).std(0, ddof=1), 1e-6)
            b.set_standardization(mean.astype(np.float32), sd.astype(np.float32))
            fa, fb = a.disentangle(z[:20]), b.disentangle(z[:20])
            np.testing.assert_allclose(fa[0], fb[0], rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(fa[1], fb[1], rtol=1e-5, atol=1e-6)
            with self.assertRaises(ValueError):
                a.fit_standardization(z[:, :3])
            with self.assertRaises(ValueError):
                a.fit_standardization(z[:0])


@requires("model_fit_standardization_except")
class FitStandardizationExcept(unittest.TestCase):
    def test_equals_fit_of_the_rows_kept(self):
        z, y = latents(dim=16, seed=6)
        z = np.ascontiguousarray(z * 4 + 3, dtype=np.float32)
        y = y.astype(np.int32)
        z[y == 2] = 1e6  # excluded: never read
        keep = ~np.isin(y, [2, 7])
        with small_model() as a, small_model() as b:
            a.fit_standardization(z, y, exclude=[7, 2, 7, 99])
            b.fit_standardization(np.ascontiguousarray(z[keep]))
            np.testing.assert_array_equal(a.disentangle(z[:20])[0], b.disentangle(z[:20])[0])
            # nothing excluded: the plain fit
            a.fit_standardization(z, y, exclude=[])
            b.fit_standardization(z)
            np.testing.assert_array_equal(a.disentangle(z[:20])[0], b.disentangle(z[:20])[0])
            with self.assertRaises(ValueError):
                a.fit_standardization(z, exclude=[2])  # no labels
            with self.assertRaises(ValueError):
                a.fit_standardization(z, y[:5], exclude=[2])
            with self.assertRaises(fden.FdenError) as cm:
                a.fit_standardization(z, y, exclude=np.unique(y))
            self.assertIn("excluded", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
