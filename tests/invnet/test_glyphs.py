#!/usr/bin/python3
"""Check scripts/make-glyphs.py on a small run: IDX files well formed (int16
labels beyond 255 classes), split by class, every class with its samples,
ink in every image, classes.tsv consistent, same seed -> same bytes.
Exit 77 (skipped) without PIL/numpy/fonts or under valgrind (CK_FORK=no)."""
import gzip
import os
import struct
import subprocess
import sys
import tempfile

if os.environ.get("CK_FORK") == "no":
    sys.exit(77)
try:
    import numpy as np
    import PIL  # noqa: F401
except ImportError:
    sys.exit(77)

ROOT = os.environ.get("FDEN_SOURCE_ROOT",
                      os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
GEN = os.path.join(ROOT, "scripts", "make-glyphs.py")
SAMPLES = 3


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, typ, nd = struct.unpack(">HBB", data[:4])
    assert zero == 0, path
    dims = struct.unpack(">%dI" % nd, data[4:4 + 4 * nd])
    dt = {0x08: ">u1", 0x0B: ">i2", 0x0C: ">i4"}[typ]
    arr = np.frombuffer(data[4 + 4 * nd:], dtype=dt)
    assert arr.size == int(np.prod(dims)), "%s: %d values for dims %s" % (path, arr.size, dims)
    return typ, arr.reshape(dims)


def run(out):
    r = subprocess.run([sys.executable, GEN, out, "--per-block", "8", "--samples",
                        str(SAMPLES), "--quiet", "--seed", "5"], capture_output=True, text=True)
    if r.returncode == 1 and "font faces" in r.stderr:
        sys.exit(77)  # fonts not installed
    assert r.returncode == 0, r.stderr


def main():
    with tempfile.TemporaryDirectory() as tmp:
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        run(a)
        ti_t, tr_x = read_idx(os.path.join(a, "train-images-idx3-ubyte.gz"))
        tl_t, tr_y = read_idx(os.path.join(a, "train-labels-idx1-ubyte.gz"))
        _, te_x = read_idx(os.path.join(a, "test-images-idx3-ubyte.gz"))
        el_t, te_y = read_idx(os.path.join(a, "test-labels-idx1-ubyte.gz"))
        with open(os.path.join(a, "classes.tsv"), encoding="utf-8") as f:
            rows = [line.rstrip("\n").split("\t") for line in f][1:]
        n = len(rows)
        n_train = sum(1 for r in rows if r[6] == "train")
        assert n > 255, "only %d classes" % n
        assert ti_t == 0x08 and tl_t == 0x0B and el_t == 0x0B, (ti_t, tl_t, el_t)
        assert tr_x.shape == (n_train * SAMPLES, 28, 28), tr_x.shape
        assert te_x.shape == ((n - n_train) * SAMPLES, 28, 28), te_x.shape
        assert abs(n_train / n - 0.75) < 0.01, (n_train, n)
        assert sorted(set(tr_y.tolist())) == list(range(n_train))
        assert sorted(set(te_y.tolist())) == list(range(n_train, n))
        assert all(c == SAMPLES for c in np.bincount(tr_y.astype(np.int64)))
        assert all(c == SAMPLES for c in np.bincount(te_y.astype(np.int64) - n_train))
        assert len({r[1] for r in rows}) == n, "duplicate code points"
        assert [int(r[0]) for r in rows] == list(range(n))
        for x in (tr_x, te_x):
            ink = x.reshape(len(x), -1)
            assert ink.max(axis=1).min() >= 200, "an image without ink"
            assert ink.mean(axis=1).max() < 128, "an image that is mostly ink"
        # samples of one class differ (fonts, jitter), classes differ from each other
        assert not np.array_equal(tr_x[0], tr_x[1])
        run(b)
        for f in sorted(os.listdir(a)):
            with open(os.path.join(a, f), "rb") as fa, open(os.path.join(b, f), "rb") as fb:
                assert fa.read() == fb.read(), "%s differs between two runs" % f
        print("make-glyphs: %d classes (%d train), %d + %d images, deterministic"
              % (n, n_train, len(tr_x), len(te_x)))


if __name__ == "__main__":
    main()
