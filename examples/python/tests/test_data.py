"""Data sets, splits, NPY/IDX loading and the episode sampler."""

import os
import struct
import unittest

import numpy as np

import fden

from .util import TempDir, requires


def tagged(n_classes=8, per_class=6, dim=5):
    """Rows whose first column is their label and second a row index."""
    labels = np.repeat(np.arange(n_classes, dtype=np.int32), per_class)
    x = np.zeros((labels.size, dim), dtype=np.float32)
    x[:, 0] = labels
    x[:, 1] = np.arange(labels.size)
    return x, labels


@requires("dataset_new", "dataset_size", "dataset_dim", "dataset_data", "dataset_labels")
class TestDataset(TempDir):
    def test_from_arrays_copies(self):
        x, y = tagged()
        with fden.Dataset.from_arrays(x, y) as ds:
            x[0, 0] = 99  # the data set holds its own copy
            self.assertEqual(len(ds), 48)
            self.assertEqual(ds.dim, 5)
            self.assertEqual(ds.x[0, 0], 0)
            np.testing.assert_array_equal(ds.labels, y)

    @requires("dataset_select", "dataset_split")
    def test_select_split(self):
        x, y = tagged()
        with fden.Dataset.from_arrays(x, y) as ds:
            with ds.select([2, 5]) as sel:
                self.assertEqual(len(sel), 12)
                self.assertEqual(set(sel.labels.tolist()), {2, 5})
            tr, te = ds.split(5)
            with tr, te:
                self.assertEqual(len(tr) + len(te), 48)
                self.assertTrue(np.all(tr.labels < 5))
                self.assertTrue(np.all(te.labels >= 5))

    @requires("dataset_load_npy", "npy_save_f32", "npy_save_i32")
    def test_npy_roundtrip_both_writers(self):
        x, y = tagged()
        xp, yp = os.path.join(self.tmp, "x.npy"), os.path.join(self.tmp, "y.npy")
        fden.save_npy(xp, x)
        fden.save_npy(yp, y)
        np.testing.assert_array_equal(np.load(xp), x)  # NumPy reads libfden's files
        np.testing.assert_array_equal(np.load(yp), y)
        np.save(xp, x.astype(np.float64))              # libfden reads NumPy's
        np.save(yp, y.astype(np.int64))
        with fden.Dataset.load_npy(xp, yp) as ds:
            np.testing.assert_array_equal(ds.x, x)
            np.testing.assert_array_equal(ds.labels, y)

    @requires("dataset_load_idx")
    def test_idx(self):
        rng = np.random.default_rng(0)
        imgs = rng.integers(0, 256, (7, 3, 4), dtype=np.uint8)
        labs = np.arange(7, dtype=np.uint8)
        ip, lp = os.path.join(self.tmp, "i.idx"), os.path.join(self.tmp, "l.idx")
        with open(ip, "wb") as f:
            f.write(struct.pack(">BBBB3I", 0, 0, 0x08, 3, 7, 3, 4) + imgs.tobytes())
        with open(lp, "wb") as f:
            f.write(struct.pack(">BBBBI", 0, 0, 0x08, 1, 7) + labs.tobytes())
        with fden.Dataset.load_idx(ip, lp, scale=1 / 255) as ds:
            self.assertEqual((len(ds), ds.dim), (7, 12))
            np.testing.assert_allclose(ds.x, imgs.reshape(7, 12) / 255.0, rtol=1e-6)
            np.testing.assert_array_equal(ds.labels, labs)
        with self.assertRaises(fden.FileError):
            fden.Dataset.load_idx(os.path.join(self.tmp, "nope"))


@requires("dataset_new", "sampler_new", "sampler_next", "sampler_free")
class TestSampler(unittest.TestCase):
    def test_episode_layout(self):
        x, y = tagged()
        ds = fden.Dataset.from_arrays(x, y)
        s = fden.Sampler(ds, ways=3, shots=2, queries=1, seed=5)
        del ds  # the sampler keeps it alive
        ep = s.next(4)
        self.assertEqual(ep["z"].shape, (4 * 3 * 3, 5))
        per = 9
        for e in range(4):
            rows = ep["z"][e * per:(e + 1) * per]
            lab = ep["labels"][e * per:(e + 1) * per]
            cls = ep["classes"][e]
            self.assertEqual(len(set(cls.tolist())), 3)
            sup, qry = lab[:6], lab[6:]
            self.assertEqual(np.bincount(sup, minlength=3).tolist(), [2, 2, 2])
            self.assertEqual(np.bincount(qry, minlength=3).tolist(), [1, 1, 1])
            # every row is a real row of its class; support and query rows differ
            np.testing.assert_array_equal(rows[:, 0], cls[lab])
            self.assertEqual(len(set(rows[:, 1].tolist())), per)

    def test_closed_dataset_guard(self):
        x, y = tagged()
        ds = fden.Dataset.from_arrays(x, y)
        s = fden.Sampler(ds, 3, 1, 1)
        ds.close()
        with self.assertRaises(fden.FdenError) as cm:
            s.next(1)
        self.assertEqual(cm.exception.status, fden.errors.E_STATE)

    def test_seeded(self):
        x, y = tagged()
        ds = fden.Dataset.from_arrays(x, y)
        a = fden.Sampler(ds, 3, 1, 1, seed=1).next(3)
        b = fden.Sampler(ds, 3, 1, 1, seed=1).next(3)
        c = fden.Sampler(ds, 3, 1, 1, seed=2).next(3)
        np.testing.assert_array_equal(a["z"], b["z"])
        self.assertFalse(np.array_equal(a["z"], c["z"]))

    def test_reset(self):
        x, y = tagged()
        ds = fden.Dataset.from_arrays(x, y)
        s = fden.Sampler(ds, 3, 1, 1, seed=1)
        s.next(5)
        s.reset(2)
        np.testing.assert_array_equal(s.next(3)["z"], fden.Sampler(ds, 3, 1, 1, seed=2).next(3)["z"])

    def test_too_few_classes(self):
        x, y = tagged(n_classes=2)
        ds = fden.Dataset.from_arrays(x, y)
        with self.assertRaises(fden.FdenError):
            s = fden.Sampler(ds, ways=3, shots=1, queries=1)
            s.next(1)

    @requires("sampler_new_except")
    def test_exclude(self):
        x, y = tagged(n_classes=8, per_class=6)
        ds = fden.Dataset.from_arrays(x, y)
        excl = [6, 1, 6, 42]  # any order, a duplicate, a label the set lacks
        s = fden.Sampler(ds, 3, 1, 2, seed=4, exclude=excl)
        kept = [c for c in range(8) if c not in excl]
        ref = fden.Sampler(ds.select(kept), 3, 1, 2, seed=4)
        for rnd in range(3):
            if rnd == 2:  # the exclusion outlives a reset
                s.reset(9)
                ref.reset(9)
            a, b = s.next(40), ref.next(40)
            self.assertFalse(np.isin(a["classes"], excl).any())
            self.assertFalse(np.isin(a["z"][:, 0], excl).any())
            for k in ("z", "labels", "classes"):  # the draws of the copy without them
                np.testing.assert_array_equal(a[k], b[k])
        # nothing excluded: the plain sampler's draws
        none = fden.Sampler(ds, 3, 1, 2, seed=4, exclude=[]).next(5)
        np.testing.assert_array_equal(none["z"], fden.Sampler(ds, 3, 1, 2, seed=4).next(5)["z"])
        with self.assertRaises(fden.FdenError) as cm:
            fden.Sampler(ds, 3, 1, 2, exclude=range(6))  # 2 classes left
        self.assertIn("excluded", str(cm.exception))

    @requires("model_new", "train_step")
    def test_feeds_train_step(self):
        from .util import latents, small_model
        z, y = latents()
        with fden.Dataset.from_arrays(z, y) as ds, small_model() as m:
            s = fden.Sampler(ds, 5, 1, 2, seed=0)
            st = m.train_step(s.next(4))
            self.assertEqual(st.step, 1)
            s.close()


if __name__ == "__main__":
    unittest.main()
