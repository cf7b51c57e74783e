"""fden.FDEN, the scikit-learn-style estimator: fit/transform/
inverse_transform/score against the classes it wraps, the parameter
protocol, and sklearn.base.clone when scikit-learn is installed."""

import os
import subprocess
import tempfile
import unittest

import numpy as np

import fden
from .util import latents

SMALL = {"flow_layers": 2, "flow_width": 16, "stat_width1": 32, "stat_width2": 16,
         "stat_width3": 8}

try:
    import sklearn.base
except ImportError:  # the estimator must not need it
    sklearn = None


def small(**over):
    kw = dict(steps=40, episodes_per_step=4, ways=4, shots=1, queries=2, seed=3,
              config=dict(SMALL), score_ways=3, score_queries=4, score_episodes=50)
    kw.update(over)
    return fden.FDEN(**kw)


class Estimator(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        z, y = latents(n_classes=12, per_class=12, dim=16, seed=11)
        z = z * 3 + 5  # far from standardised: fit_standardization has work to do
        names = np.array(["c%02d" % i for i in range(12)])
        cls.train = (np.ascontiguousarray(z[y < 8]), names[y[y < 8]])
        cls.test = (np.ascontiguousarray(z[y >= 8]), y[y >= 8] * 10)  # unseen, other codes

    def test_fit_transform_inverse(self):
        with small() as est:
            self.assertIs(est.fit(*self.train), est)
            self.assertEqual(est.model_.step, 40)
            self.assertEqual(len(est.loss_curve_), 40)
            self.assertTrue(np.all(np.isfinite(est.loss_curve_)))
            self.assertEqual(list(est.classes_), ["c%02d" % i for i in range(8)])
            self.assertEqual(est.n_features_in_, 16)
            z = self.test[0]
            f_ide, f_sty = est.transform(z)
            self.assertEqual(f_ide.shape, (z.shape[0], est.model_.ide_dim))
            self.assertEqual(f_sty.shape, (z.shape[0], est.model_.sty_dim))
            # the wrapped model's own answer, bit for bit
            a, b = est.model_.disentangle(z)
            np.testing.assert_array_equal(f_ide, a)
            np.testing.assert_array_equal(f_sty, b)
            # the flow's E is D's inverse, standardisation included
            np.testing.assert_allclose(est.inverse_transform(f_ide, f_sty), z, atol=1e-3)
            # lists and float64 are converted, as scikit-learn estimators do
            np.testing.assert_array_equal(est.transform(z.astype(np.float64).tolist())[0], f_ide)

    def test_schedule_decays_over_the_fit(self):
        # the default preset's cosine schedule gets the fit's steps as horizon
        with small() as est:
            est.fit(*self.train)
            with est.model_.config() as cfg:
                lr = cfg["lr"]
                self.assertEqual(cfg["lr_decay"], fden.LrDecay.COSINE)
                self.assertEqual(cfg["lr_decay_steps"], 40)
            self.assertEqual(len(est.lr_curve_), 40)
            self.assertEqual(est.lr_curve_[0], lr)
            self.assertLess(est.lr_curve_[-1], lr)
            self.assertTrue(np.all(np.diff(est.lr_curve_) <= 0))
        # a horizon the config names is kept: 0, a constant rate
        with small(config=dict(SMALL, lr_decay_steps=0)) as est:
            est.fit(*self.train)
            self.assertEqual(est.model_.config()["lr_decay_steps"], 0)
            self.assertEqual(set(est.lr_curve_), {est.lr_curve_[0]})
        with small(config=dict(SMALL, LR_DECAY_STEPS=400)) as est:
            est.fit(*self.train)
            self.assertEqual(est.model_.config()["lr_decay_steps"], 400)
        # a constant schedule gets no horizon
        with small(config=dict(SMALL, lr_decay=int(fden.LrDecay.CONSTANT))) as est:
            est.fit(*self.train)
            self.assertEqual(est.model_.config()["lr_decay_steps"], 0)
            self.assertEqual(set(est.lr_curve_), {est.lr_curve_[0]})

    def test_standardize(self):
        z = self.train[0]
        with small(steps=0) as on, small(steps=0, standardize=False) as off:
            on.fit(*self.train)
            off.fit(*self.train)
            with fden.Model(dim=16, seed=3, **SMALL) as ref:
                ref.fit_standardization(z)
                np.testing.assert_array_equal(on.transform(z)[0], ref.disentangle(z)[0])
            self.assertFalse(np.array_equal(on.transform(z)[0], off.transform(z)[0]))

    def test_score_is_fewshot_eval_on_f_ide(self):
        with small() as est:
            est.fit(*self.train)
            z, y = self.test
            r = est.evaluate(z, y)
            codes = np.unique(y, return_inverse=True)[1].astype(np.int32)
            ref = fden.fewshot_eval(est.transform(z)[0], codes, ways=3, shots=1, queries=4,
                                    episodes=50, seed=1)
            self.assertEqual(r, ref)
            self.assertEqual(est.score(z, y), ref.mean)
            self.assertEqual((r.episodes, r.classes), (50, 4))
            # well-separated classes: far above chance (1/3) on unseen ones
            self.assertGreater(est.score(z, y), 0.6)
            est.set_params(score_transform="simpleshot")
            ss = fden.fewshot_eval(est.transform(z)[0], codes, ways=3, shots=1, queries=4,
                                   episodes=50, seed=1, transform="simpleshot")
            self.assertEqual(est.score(z, y), ss.mean)

    def test_same_seed_same_bits(self):
        with small() as a, small() as b, small(seed=4) as c:
            for e in (a, b, c):
                e.fit(*self.train)
            z = self.test[0]
            np.testing.assert_array_equal(a.transform(z)[0], b.transform(z)[0])
            self.assertFalse(np.array_equal(a.transform(z)[0], c.transform(z)[0]))

    @unittest.skipUnless(os.environ.get("FDEN_CLI"), "FDEN_CLI (the fden tool) not set")
    def test_same_model_as_fden_train(self):
        # the defaults (20-way 1-shot 5-query x 4, reseeded each step) and
        # the standardisation are fden train's: the same model, bit for bit
        z, y = latents(n_classes=24, per_class=12, dim=16, seed=5)
        with tempfile.TemporaryDirectory() as d:
            np.save(os.path.join(d, "z.npy"), z)
            np.save(os.path.join(d, "y.npy"), y)
            out = os.path.join(d, "m.fden")
            subprocess.run([os.environ["FDEN_CLI"], "train", "--train-images",
                            os.path.join(d, "z.npy"), "--train-labels", os.path.join(d, "y.npy"),
                            "--steps", "12", "--seed", "3", "--out", out],
                           check=True, capture_output=True)
            with fden.Model.load(out) as cli, fden.FDEN(steps=12, seed=3) as est:
                est.fit(z, y)
                self.assertEqual(est.model_.step, 12)
                np.testing.assert_array_equal(est.transform(z)[0], cli.disentangle(z)[0])
                np.testing.assert_array_equal(est.transform(z)[1], cli.disentangle(z)[1])

    def test_ways_auto(self):
        # "auto": 20, or every class with enough rows when fewer (8 here)
        with small(ways="auto") as e:
            e.fit(*self.train)
            self.assertEqual(e.model_.step, 40)
        with self.assertRaises(ValueError):
            small(ways="all").fit(*self.train)
        with self.assertRaises(ValueError):
            small(ways=1).fit(*self.train)

    def test_params(self):
        est = small()
        p = est.get_params()
        self.assertEqual(p["steps"], 40)
        self.assertEqual(p["config"], SMALL)
        self.assertEqual(set(p), {"steps", "episodes_per_step", "ways", "shots", "queries",
                                  "seed", "standardize", "config", "preset", "score_ways",
                                  "score_shots", "score_queries", "score_episodes",
                                  "score_seed", "score_transform", "val_classes",
                                  "val_every", "val_patience"})
        self.assertEqual((p["val_classes"], p["val_every"], p["val_patience"]), ("auto", 250, 4))
        self.assertIs(est.set_params(steps=5, ways=3), est)
        self.assertEqual((est.steps, est.ways), (5, 3))
        est.set_params(val_classes=0, val_every=2)
        self.assertEqual((est.val_classes, est.val_every), (0, 2))
        self.assertIn("val_classes=0", repr(est))
        with self.assertRaises(ValueError) as cm:
            est.set_params(stpes=5)
        self.assertIn("stpes", str(cm.exception))
        # a new estimator from the parameters is the same estimator
        again = fden.FDEN(**est.get_params())
        self.assertEqual(again.get_params(), est.get_params())
        self.assertIn("steps=5", repr(est))
        self.assertEqual(repr(fden.FDEN()), "FDEN()")
        # set_params takes effect at the next fit
        with est:
            est.fit(*self.train)
            self.assertEqual(est.model_.step, 5)

    def test_errors(self):
        est = small()
        with self.assertRaises(fden.NotFittedError):
            est.transform(self.test[0])
        with self.assertRaises(ValueError):  # NotFittedError is one
            est.score(*self.test)
        with self.assertRaises(ValueError):
            small(ways=20).fit(*self.train)      # 8 classes
        with self.assertRaises(ValueError):
            est.fit(self.train[0], self.train[1][:5])
        with self.assertRaises(TypeError):       # the model's own keyword check
            small(config={"flow_layer": 2}).fit(*self.train)
        with self.assertRaises(ValueError):
            small(config={"dim": 8}).fit(*self.train)
        with small() as e:
            e.fit(*self.train)
            with self.assertRaises(ValueError):
                e.transform(self.test[0][:, :8])
            bad = self.test[0].copy()
            bad[0, 0] = np.nan
            with self.assertRaises(fden.NonFiniteError):
                e.transform(bad)
            e.close()
            with self.assertRaises(fden.NotFittedError):
                e.transform(self.test[0])

    # --- validation classes (fden train --val-classes) ------------------------

    @classmethod
    def twelve(cls):
        # 12 classes: 4 held out leave 8 to train 4-way episodes on
        z, y = latents(n_classes=12, per_class=12, dim=16, seed=11)
        return np.ascontiguousarray(z * 3 + 5), y + 100

    def val_score(self, est, z, y):
        # the validation task on the held-out rows: 4-way 1-shot 11-query
        # (12 rows a class), 300 episodes seeded by the estimator's seed
        rows = np.isin(y, est.val_classes_)
        codes = np.searchsorted(est.classes_, y[rows]).astype(np.int32)
        return fden.fewshot_eval(est.transform(z[rows])[0], codes, ways=4, shots=1, queries=11,
                                 episodes=300, seed=est.seed).mean

    def test_validation_keeps_the_best(self):
        z, y = self.twelve()
        # the same schedule for any steps; flow_nll and the seed pinned: these
        # settings peak at step 50 (most others at the end)
        cfg = dict(SMALL, lr=3e-2, lr_decay_steps=80, flow_nll=3)
        with small(steps=80, config=cfg, val_classes=4, val_every=10, val_patience=0,
                   seed=5) as est:
            est.fit(z, y)
            self.assertEqual([s for s, _ in est.val_curve_], list(range(10, 81, 10)))
            acc = [a for _, a in est.val_curve_]
            self.assertEqual(est.best_step_, est.val_curve_[int(np.argmax(acc))][0])
            self.assertLess(est.best_step_, 80,
                            "these settings peaked at the end: pick ones that do not, so the "
                            "test sees the best model restored")
            self.assertEqual(est.model_.step, est.best_step_)
            self.assertFalse(est.stopped_early_)
            self.assertEqual(len(est.loss_curve_), 80)
            self.assertEqual(len(est.val_classes_), 4)
            self.assertTrue(set(est.val_classes_) <= set(est.classes_))
            self.assertEqual(len(est.classes_), 12)
            # the kept model scores what its step did on the held-out classes
            self.assertEqual(self.val_score(est, z, y), max(acc))
            # and is the model of that step: a fit that stops there, bit for bit
            with small(steps=est.best_step_, config=cfg, val_classes=4, val_every=10, seed=5,
                       val_patience=0) as short:
                short.fit(z, y)
                self.assertEqual(short.val_curve_, est.val_curve_[:len(short.val_curve_)])
                np.testing.assert_array_equal(short.transform(z)[0], est.transform(z)[0])
        # steps that are no multiple of val_every: the last model is scored too
        with small(steps=25, val_classes=4, val_every=10, val_patience=0) as est:
            est.fit(z, y)
            self.assertEqual([s for s, _ in est.val_curve_], [10, 20, 25])

    def test_validation_stops_early(self):
        # lr 0: every score is the first's, none strictly better: patience 1
        # stops at the second and keeps the first
        z, y = self.twelve()
        with small(steps=100, config=dict(SMALL, lr=0), val_classes=4, val_every=10,
                   val_patience=1) as est:
            est.fit(z, y)
            self.assertEqual([s for s, _ in est.val_curve_], [10, 20])
            self.assertEqual(est.val_curve_[0][1], est.val_curve_[1][1])
            self.assertTrue(est.stopped_early_)
            self.assertEqual(len(est.loss_curve_), 20)
            self.assertEqual(est.best_step_, 10)
            self.assertEqual(est.model_.step, 10)
        # patience 3: three scores without a better one after the first
        with small(steps=100, config=dict(SMALL, lr=0), val_classes=4, val_every=10,
                   val_patience=3) as est:
            est.fit(z, y)
            self.assertEqual([s for s, _ in est.val_curve_], [10, 20, 30, 40])
            self.assertEqual((est.best_step_, est.model_.step), (10, 10))
        # patience running out at the last step is no early stop
        with small(steps=20, config=dict(SMALL, lr=0), val_classes=4, val_every=10,
                   val_patience=1) as est:
            est.fit(z, y)
            self.assertEqual(len(est.val_curve_), 2)
            self.assertFalse(est.stopped_early_)
            self.assertEqual(est.model_.step, 10)

    def test_validation_held_out_of_training(self):
        # the held-out rows inform neither the episodes nor the standardisation
        z, y = self.twelve()
        with small(steps=0, val_classes=4) as est:
            est.fit(z, y)
            self.assertEqual((est.val_curve_, est.best_step_), ([], None))
            rows = np.isin(y, est.val_classes_)
            self.assertEqual(rows.sum(), 4 * 12)
            with fden.Model(dim=16, seed=3, **SMALL) as ref:
                ref.fit_standardization(np.ascontiguousarray(z[~rows]))
                np.testing.assert_array_equal(est.transform(z)[0], ref.disentangle(z)[0])
        # a class of one row is trained on neither (as fden train)
        zz = np.ascontiguousarray(np.concatenate([z, np.full((1, 16), 50, np.float32)]))
        yy = np.concatenate([y, [1]])
        with small(steps=0, val_classes=4) as one:
            one.fit(zz, yy)
            np.testing.assert_array_equal(one.val_classes_, est.val_classes_)
            with fden.Model(dim=16, seed=3, **SMALL) as ref:
                ref.fit_standardization(np.ascontiguousarray(z[~rows]))
                np.testing.assert_array_equal(one.transform(z)[0], ref.disentangle(z)[0])
        # the draw is the seed's
        with small(steps=0, val_classes=4) as a, small(steps=0, val_classes=4, seed=4) as b:
            a.fit(z, y)
            b.fit(z, y)
            np.testing.assert_array_equal(a.val_classes_, est.val_classes_)
            self.assertFalse(np.array_equal(a.val_classes_, b.val_classes_))

    def test_validation_auto(self):
        # fewer than 200 classes: nothing held out, nothing scored
        with small() as est:
            est.fit(*self.train)
            self.assertEqual(est.val_classes, "auto")
            self.assertEqual(len(est.val_classes_), 0)
            self.assertEqual((est.val_curve_, est.best_step_, est.stopped_early_),
                             ([], None, False))
            self.assertEqual(est.model_.step, 40)
        # 200 classes: 10% held out, and the last step scored
        z, y = latents(n_classes=200, per_class=3, dim=16, seed=5)
        with small(steps=1) as est:
            est.fit(z, y)
            self.assertEqual(len(est.val_classes_), 20)
            self.assertEqual(len(est.val_curve_), 1)
            self.assertEqual((est.best_step_, est.model_.step), (1, 1))
        mod = fden.estimator
        self.assertEqual([mod._val_auto_classes(n) for n in (5, 199, 200, 999, 1106, 5000)],
                         [0, 0, 20, 99, 100, 100])

    def test_validation_errors(self):
        z, y = self.twelve()
        for bad in ("all", "10%", -1, 1.5, True, None, 1, 11, 10):
            # 1: fewer than 2; 11: fewer than 2 left; 10: fewer than ways=4 left
            with self.subTest(val_classes=bad), self.assertRaises(ValueError):
                small(val_classes=bad).fit(z, y)
        for bad in (0, -1, 2.5, "250", True):
            with self.subTest(val_every=bad), self.assertRaises(ValueError):
                small(val_classes=4, val_every=bad).fit(z, y)
        for bad in (-1, 1.0, "4", None):
            with self.subTest(val_patience=bad), self.assertRaises(ValueError):
                small(val_classes=4, val_patience=bad).fit(z, y)
        # checked with validation off too, as fden train checks its options
        with self.assertRaises(ValueError):
            small(val_classes=0, val_every=0).fit(z, y)
        # a class needs 2 rows to be drawn: 4 of the 5 have only 1
        zz = np.ascontiguousarray(z[:16])
        yy = np.array([0] * 12 + [1, 2, 3, 4])
        with self.assertRaises(ValueError):
            small(val_classes=2, ways=2).fit(zz, yy)

    @unittest.skipIf(sklearn is None, "python3-sklearn is not installed")
    def test_sklearn_clone(self):
        est = small(steps=7)
        est.fit(*self.train)
        c = sklearn.base.clone(est)
        self.assertIsNot(c, est)
        self.assertEqual(c.get_params(), est.get_params())
        self.assertIsNot(c.config, est.config)    # deep-copied, as clone does
        self.assertFalse(hasattr(c, "model_"))    # unfitted
        c.fit(*self.train)
        np.testing.assert_array_equal(c.transform(self.test[0])[0],
                                      est.transform(self.test[0])[0])
        c.close()
        est.close()


if __name__ == "__main__":
    unittest.main()
