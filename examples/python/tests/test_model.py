"""Model: training, disentangle/entangle, predict, parts, save/load."""

import math
import os
import unittest

import numpy as np

import fden

from .util import TempDir, episodes, latents, requires, small_model

CORE = ("model_new", "model_free", "model_dim", "train_step", "disentangle", "entangle")


@requires(*CORE)
class TestModel(TempDir):
    def setUp(self):
        super().setUp()
        self.z, self.y = latents()
        self.m = small_model()

    def tearDown(self):
        self.m.close()
        super().tearDown()

    def batch(self, seed=0, n=4):
        return episodes(self.z, self.y, ways=5, shots=1, queries=1, n_episodes=n, seed=seed)

    def test_dim_and_step(self):
        self.assertEqual(self.m.dim, 16)
        self.assertEqual(self.m.step, 0)
        st = self.m.train_step(self.batch())
        self.assertEqual(st.step, 1)
        self.assertEqual(self.m.step, 1)

    def test_train_reduces_loss(self):
        first = [self.m.train_step(self.batch(seed=s)).l_r for s in range(5)]
        for s in range(5, 150):
            st = self.m.train_step(self.batch(seed=s))
        last = [self.m.train_step(self.batch(seed=s)).l_r for s in range(150, 155)]
        self.assertTrue(np.isfinite(st.loss))
        self.assertLess(np.mean(last), np.mean(first))
        self.assertGreaterEqual(st.accuracy, 0.0)
        self.assertLessEqual(st.accuracy, 1.0)
        self.assertEqual(set(st.as_dict()), set(fden.StepStats.FIELDS))

    def test_train_keywords_and_3d(self):
        b = self.batch()
        z3 = b["z"].reshape(4, 10, 16)
        st = self.m.train_step(z=z3, labels=b["labels"].reshape(4, 10), ways=5, shots=1,
                               queries=1)
        self.assertEqual(st.step, 1)

    def test_disentangle_entangle_shapes_and_determinism(self):
        ide, sty = self.m.disentangle(self.z[:7])
        self.assertEqual(ide.shape, (7, 16))
        self.assertEqual(sty.shape, (7, 16))
        self.assertEqual(ide.dtype, np.float32)
        ide2, sty2 = self.m.disentangle(self.z[:7])
        np.testing.assert_array_equal(ide, ide2)  # evaluation mode: no dropout noise
        zt = self.m.entangle(ide, sty)
        self.assertEqual(zt.shape, (7, 16))
        self.assertTrue(np.all(np.isfinite(zt)))
        with small_model() as twin:  # same seed, same parameters
            np.testing.assert_array_equal(twin.disentangle(self.z[:7])[0], ide)
        with small_model(seed=8) as other:
            self.assertFalse(np.array_equal(other.disentangle(self.z[:7])[0], ide))

    def test_flow_disentangler_widths_and_exact_inverse(self):
        with small_model(disentangler=int(fden.DisentanglerKind.FLOW), ide_dim=6,
                         flow_layers=4, flow_width=16, xcorr=0.3, sty_adv=0.3) as m:
            self.assertEqual((m.ide_dim, m.sty_dim), (6, 10))
            for s in range(30):
                st = m.train_step(self.batch(seed=s, n=8))
            self.assertEqual(st.l_r, 0.0)
            self.assertGreater(st.l_sty_adv, 0.0)
            ide, sty = m.disentangle(self.z[:9])
            self.assertEqual((ide.shape, sty.shape), ((9, 6), (9, 10)))
            back = m.entangle(ide, sty)
            np.testing.assert_allclose(back, self.z[:9], rtol=1e-4, atol=1e-4)
            with self.assertRaises(ValueError):  # widths are checked before the call
                m.entangle(sty, ide)

    def test_entangle_learns_reconstruction(self):
        def err():
            ide, sty = self.m.disentangle(self.z)
            return float(np.mean((self.m.entangle(ide, sty) - self.z) ** 2))
        before = err()
        for s in range(200):
            self.m.train_step(self.batch(seed=s, n=8))
        self.assertLess(err(), before)

    def test_argument_checks(self):
        with self.assertRaises(TypeError):
            self.m.disentangle(self.z.astype(np.float64))
        with self.assertRaises(ValueError):
            self.m.disentangle(np.asfortranarray(self.z[:4]))
        with self.assertRaises(ValueError):
            self.m.disentangle(self.z[:, :8].copy())
        b = self.batch()
        with self.assertRaises(TypeError):
            self.m.train_step(b, labels=b["labels"].astype(np.int64))
        with self.assertRaises(ValueError):
            self.m.train_step(b, ways=3)
        with self.assertRaises(TypeError):
            self.m.train_step(z=b["z"])

    def test_library_rejects_bad_labels(self):
        b = self.batch()
        b["labels"] = b["labels"].copy()
        b["labels"][0] = 7  # outside [0, ways)
        with self.assertRaises(fden.FdenError) as cm:
            self.m.train_step(b)
        self.assertIn(cm.exception.status, (fden.errors.E_INVALID, fden.errors.E_SHAPE))
        self.assertTrue(cm.exception.detail)
        self.assertEqual(self.m.step, 0)

    def test_style_classifier_reads_episode_classes(self):
        # sty_cls trains a classifier of the global class from f_sty: the
        # library needs fden_episodes.classes, n_episodes x ways ids.
        with small_model(sty_cls=1.0, sty_cls_classes=10) as m:
            b = self.batch()
            self.assertEqual(b["classes"].shape, (4, 5))
            st = m.train_step(b)
            self.assertEqual(st.step, 1)
            # at the start the classifier is near chance: log(10) nats
            self.assertTrue(1.0 < st.l_sty_cls < 4.0, st.l_sty_cls)
            self.assertTrue(0.0 <= st.sty_cls_accuracy <= 1.0)
            flat = m.train_step(dict(b, classes=b["classes"].reshape(-1)))
            self.assertEqual(flat.step, 2)
            # without classes, the library refuses the batch
            nocls = {k: v for k, v in b.items() if k != "classes"}
            with self.assertRaises(fden.InvalidArgumentError) as cm:
                m.train_step(nocls)
            self.assertIn("classes", cm.exception.detail)
            # the library reads the ids where they are: one out of range
            bad = b["classes"].copy()
            bad[1, 2] = 10
            with self.assertRaises(fden.InvalidArgumentError) as cm:
                m.train_step(b, classes=bad)
            self.assertIn("classes[7] = 10", cm.exception.detail)
            with self.assertRaises(ValueError) as cm:  # one id per episode class
                m.train_step(b, classes=b["classes"][:3].copy())
            self.assertNotIsInstance(cm.exception, fden.FdenError)  # checked before the call
            self.assertEqual(m.step, 2)
        # without the classifier the ids are not needed
        st = self.m.train_step({k: v for k, v in self.batch().items() if k != "classes"})
        self.assertEqual(st.l_sty_cls, 0.0)

    def test_between_class_share_reported(self):
        # sty_between: the share of f_sty's variance the episode classes
        # explain, in [0, 1]; (ways-1)/(rows-1) = 4/9 on average at chance
        with small_model(sty_between=2.0) as m:
            st = m.train_step(self.batch())
            self.assertTrue(0.0 < st.l_sty_between <= 1.0, st.l_sty_between)
        self.assertEqual(self.m.train_step(self.batch()).l_sty_between, 0.0)

    def test_nonfinite_rejected_model_unchanged(self):
        before = self.m.disentangle(self.z[:5])[0]
        b = self.batch()
        b["z"] = b["z"].copy()
        b["z"][3, 2] = np.nan
        with self.assertRaises(fden.FdenError) as cm:
            self.m.train_step(b)
        self.assertIn(cm.exception.status, (fden.errors.E_NONFINITE, fden.errors.E_INVALID))
        self.assertEqual(self.m.step, 0)
        np.testing.assert_array_equal(self.m.disentangle(self.z[:5])[0], before)

    @requires("predict")
    def test_predict(self):
        for s in range(100):
            self.m.train_step(self.batch(seed=s, n=8))
        rng = np.random.default_rng(3)
        classes = rng.choice(10, 5, replace=False)
        sup, sl, qry, ql = [], [], [], []
        for j, c in enumerate(classes):
            idx = rng.permutation(np.flatnonzero(self.y == c))
            sup.append(self.z[idx[:2]]); sl += [j] * 2
            qry.append(self.z[idx[2:12]]); ql += [j] * 10
        sup = np.ascontiguousarray(np.concatenate(sup))
        qry = np.ascontiguousarray(np.concatenate(qry))
        sl = np.array(sl, dtype=np.int32)
        pred, prob = self.m.predict(sup, sl, qry, return_prob=True)
        self.assertEqual(pred.shape, (50,))
        self.assertEqual(prob.shape, (50, 5))
        np.testing.assert_allclose(prob.sum(axis=1), 1.0, atol=1e-4)
        np.testing.assert_array_equal(pred, prob.argmax(axis=1))
        acc = float(np.mean(pred == np.array(ql)))
        self.assertGreater(acc, 0.4)  # chance is 0.2; the classes are well separated
        np.testing.assert_array_equal(self.m.predict(sup, sl, qry, ways=5), pred)

    @requires("model_disentangler", "model_entangler", "model_factorizer",
              "disentangler_run", "entangler_run", "factorizer_mine", "factorizer_align")
    def test_parts(self):
        ide, sty = self.m.disentangle(self.z[:20])
        d_ide, d_sty = self.m.disentangler.run(self.z[:20])
        np.testing.assert_array_equal(ide, d_ide)
        np.testing.assert_array_equal(sty, d_sty)
        np.testing.assert_array_equal(self.m.entangler.run(ide, sty), self.m.entangle(ide, sty))
        f = self.m.factorizer
        est = f.mine(ide, sty, seed=1)
        self.assertTrue(np.isfinite(est))
        self.assertEqual(est, f.mine(ide, sty, seed=1))
        lab = np.arange(5, dtype=np.int32)
        prob = f.align(ide[:5], lab, ide[5:9])
        self.assertEqual(prob.shape, (4, 5))
        np.testing.assert_allclose(prob.sum(axis=1), 1.0, atol=1e-4)
        part = self.m.disentangler
        self.m.close()
        with self.assertRaises(fden.FdenError):
            part.run(self.z[:2])

    @requires("model_save", "model_load")
    def test_save_load_roundtrip(self):
        for s in range(3):
            self.m.train_step(self.batch(seed=s))
        path = os.path.join(self.tmp, "m.fden")
        self.m.save(path)
        with fden.Model.load(path) as m2:
            self.assertEqual(m2.dim, 16)
            self.assertEqual(m2.step, 3)
            for a, b in zip(self.m.disentangle(self.z), m2.disentangle(self.z)):
                np.testing.assert_array_equal(a, b)
            # the saved optimiser and random state continue identically
            s1 = self.m.train_step(self.batch(seed=9))
            s2 = m2.train_step(self.batch(seed=9))
            self.assertEqual(s1.loss, s2.loss)

    @requires("model_load")
    def test_load_errors(self):
        with self.assertRaises(fden.FileError) as cm:
            fden.Model.load(os.path.join(self.tmp, "missing.fden"))
        self.assertEqual(cm.exception.status, fden.errors.E_IO)
        self.assertIn("missing.fden", cm.exception.detail)
        bad = os.path.join(self.tmp, "bad.fden")
        with open(bad, "wb") as f:
            f.write(b"not a checkpoint at all" * 10)
        with self.assertRaises(fden.FileError) as cm:
            fden.Model.load(bad)
        self.assertIn(cm.exception.status, (fden.errors.E_FORMAT, fden.errors.E_CORRUPT,
                                            fden.errors.E_VERSION))

    @requires("model_config")
    def test_config_copy(self):
        with self.m.config() as cfg:
            self.assertEqual(cfg["dim"], 16)
            self.assertEqual(cfg["seed"], 7)

    @requires("model_set_param", "model_config")
    def test_set_param_changes_the_schedule(self):
        # small_model: the default preset's cosine schedule, no horizon yet
        lr, f = 1e-3, 0.1
        with self.m.config() as cfg:
            self.assertEqual(cfg["lr_decay"], fden.LrDecay.COSINE)
            self.assertEqual((cfg["lr"], cfg["lr_decay_steps"], cfg["lr_decay_factor"]),
                             (lr, 0, f))
        self.assertEqual(self.m.train_step(self.batch()).lr, lr)  # no horizon: constant
        self.m.set_param("lr_decay_steps", 4)
        rates = [self.m.train_step(self.batch(seed=s)).lr for s in range(1, 7)]
        # the rate of step t+1 is lr (f + (1 - f) (1 + cos(pi min(t, T) / T)) / 2)
        for t, got in enumerate(rates, start=1):
            want = lr * (f + (1 - f) * 0.5 * (1 + math.cos(math.pi * min(t, 4) / 4)))
            self.assertAlmostEqual(got, want, delta=1e-15, msg="step %d" % (t + 1))
        self.assertLess(rates[0], lr)
        self.assertAlmostEqual(rates[-1], f * lr, delta=1e-15)  # at the floor past T
        with self.m.config() as cfg:
            self.assertEqual(cfg["lr_decay_steps"], 4)
        # a Param key and an enum value; the step schedule: lr f^floor(t / T)
        self.m.set_param(fden.Param.LR_DECAY, fden.LrDecay.STEP)
        self.m.set_param(int(fden.Param.LR_DECAY_FACTOR), 0.5)
        self.assertAlmostEqual(self.m.train_step(self.batch(seed=9)).lr, lr * 0.5, delta=1e-15)
        # saved with the model
        path = os.path.join(self.tmp, "sched.fden")
        self.m.save(path)
        with fden.Model.load(path) as again, again.config() as cfg:
            self.assertEqual((cfg["lr_decay"], cfg["lr_decay_steps"], cfg["lr_decay_factor"]),
                             (fden.LrDecay.STEP, 4, 0.5))

    @requires("model_set_param")
    def test_set_param_first_step_at_lr(self):
        # a horizon set before the first step: step 1 runs at lr itself
        self.m.set_param(fden.Param.LR_DECAY_STEPS, 10)
        self.assertEqual(self.m.train_step(self.batch()).lr, 1e-3)
        self.assertLess(self.m.train_step(self.batch(seed=1)).lr, 1e-3)

    @requires("model_set_param", "model_config")
    def test_set_param_rejects_fixed_keys_and_bad_values(self):
        for key, value in (("lr", 1e-2), ("dim", 8), (fden.Param.SEED, 3)):
            with self.assertRaises(fden.InvalidArgumentError) as cm:
                self.m.set_param(key, value)
            e = cm.exception
            self.assertEqual(e.status, fden.errors.E_INVALID)
            name = fden.key_name(fden.config.resolve_key(key))
            self.assertIn("(%s) is fixed when the model is made" % name, e.detail)
            self.assertIn("lr_decay_steps", e.detail)  # names what may change
            self.assertEqual(self.m.last_error, e.detail)
        for key, value, why in (("lr_decay_factor", 2, "outside [0, 1]"),
                                ("lr_decay_steps", -1, "outside"),
                                ("lr_decay_steps", 2.5, "not an integer"),
                                ("lr_decay", 3, "outside [0, 2]")):
            with self.assertRaises(fden.InvalidArgumentError) as cm:
                self.m.set_param(key, value)
            self.assertIn("(%s)" % key, cm.exception.detail)
            self.assertIn(why, cm.exception.detail)
        with self.assertRaises(fden.InvalidArgumentError) as cm:
            self.m.set_param(9999, 1)
        self.assertIn("unknown key 9999", cm.exception.detail)
        with self.assertRaises(KeyError):
            self.m.set_param("no_such_key", 1)
        with self.m.config() as cfg:  # nothing changed
            self.assertEqual((cfg["lr"], cfg["dim"], cfg["lr_decay_factor"],
                              cfg["lr_decay_steps"], cfg["lr_decay"]), (1e-3, 16, 0.1, 0, 1))
        self.assertEqual(self.m.train_step(self.batch()).lr, 1e-3)

    @requires("model_set_standardization")
    def test_standardization(self):
        ide0 = self.m.disentangle(self.z[:4])[0]
        mean = self.z.mean(axis=0).astype(np.float32)
        std = self.z.std(axis=0).astype(np.float32)
        self.m.set_standardization(mean, std)
        ide1 = self.m.disentangle(self.z[:4])[0]
        self.assertFalse(np.array_equal(ide0, ide1))
        self.m.set_standardization(None, None)
        np.testing.assert_array_equal(self.m.disentangle(self.z[:4])[0], ide0)
        with self.assertRaises(ValueError):
            self.m.set_standardization(mean[:3].copy(), std[:3].copy())

    @requires("model_set_log")
    def test_set_log_accepts_and_removes(self):
        lines = []
        self.m.set_log(lambda level, msg: lines.append((level, msg)))
        self.m.train_step(self.batch())
        bad = self.batch()
        bad["z"] = bad["z"].copy()
        bad["z"][0, :] = 3e38  # finite input, but the loss overflows
        with self.assertRaises(fden.NonFiniteError):
            self.m.train_step(bad)  # a rejected step is logged at FDEN_LOG_ERROR
        self.assertIn(10, [level for level, _ in lines])
        for level, msg in lines:
            self.assertIsInstance(msg, str)
            self.assertNotIn("%", msg)  # formatted from the va_list
        n = len(lines)
        self.m.set_log(None)
        with self.assertRaises(fden.NonFiniteError):
            self.m.train_step(bad)
        self.assertEqual(len(lines), n)
        self.assertEqual(self.m.step, 1)

    def test_concurrent_inference(self):
        for s in range(5):
            self.m.train_step(self.batch(seed=s))
        want = self.m.disentangle(self.z)
        import threading
        bad = []

        def work():
            for _ in range(10):
                got = self.m.disentangle(self.z)  # ctypes drops the GIL in C
                if not (np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])):
                    bad.append(1)
        ts = [threading.Thread(target=work) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(bad, [])

    def test_model_from_config(self):
        with fden.Config(dim=8, dis_width=16, seed=1) as cfg:
            m = fden.Model(cfg)
        self.assertEqual(m.dim, 8)
        m.close()
        with self.assertRaises(TypeError):
            fden.Model(fden.Config(), dim=8)


if __name__ == "__main__":
    unittest.main()
