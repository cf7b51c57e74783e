#!/usr/bin/env python3
"""Host table: fit each built-in invertible network on the training classes
only, then on the unseen test classes measure reconstruction PSNR of
decode(encode(x)) and raw-z few-shot accuracy (nearest class mean,
C-way 1-shot, 15 queries a class, 1000 seeded episodes, the same episodes
for every host).

  bench/host_table.py --data glyphs|fashion [--hosts pca,ae,conv]
                      [--budget SECONDS] [--threads N] [--latent 64]

Every host gets the same fit time (--budget); pca takes what it takes.
Prints one line per host and a markdown table."""
import argparse
import gzip
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "examples", "python"))
from fden.invnet import InvNet  # noqa: E402


def idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    dt = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4"}[raw[2]]
    return np.frombuffer(raw, dt, offset=4 + 4 * nd).reshape(dims)


def load(which):
    if which == "glyphs":
        d = "/work/main/data/glyphs"
        xs = [idx(os.path.join(d, f)) for f in ("train-images-idx3-ubyte.gz",
                                                  "test-images-idx3-ubyte.gz")]
        ys = [idx(os.path.join(d, f)) for f in ("train-labels-idx1-ubyte.gz",
                                                  "test-labels-idx1-ubyte.gz")]
        x, y = np.concatenate(xs), np.concatenate(ys).astype(np.int64)
        split = 1106
    else:
        d = "/usr/share/datasets/fashion-mnist"
        x = np.concatenate([idx(os.path.join(d, "train-images-idx3-ubyte.gz")),
                            idx(os.path.join(d, "t10k-images-idx3-ubyte.gz"))])
        y = np.concatenate([idx(os.path.join(d, "train-labels-idx1-ubyte.gz")),
                            idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz"))]).astype(np.int64)
        split = 5
    x = x.reshape(len(x), -1).astype(np.float32) / 255.0
    tr = y < split
    return x[tr], y[tr], x[~tr], y[~tr]


def psnr(a, b):
    """10 log10(1 / MSE), the MSE over every pixel of every test image (as fden eval)"""
    mse = np.mean((a.astype(np.float64) - b) ** 2)
    return float(10 * np.log10(1.0 / max(mse, 1e-12)))


def episodes(y, ways, seed, n=1000, queries=15):
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    by = {c: np.flatnonzero(y == c) for c in classes}
    out = []
    for _ in range(n):
        cs = rng.choice(classes, ways, replace=False)
        sup, qry = [], []
        for c in cs:
            idxs = rng.choice(by[c], 1 + queries, replace=False)
            sup.append(idxs[:1])
            qry.append(idxs[1:])
        out.append((np.stack(sup), np.stack(qry)))
    return out


def fewshot(z, eps):
    acc = []
    for sup, qry in eps:
        proto = z[sup].mean(axis=1)                        # ways x d
        q = z[qry.reshape(-1)]                             # ways*queries x d
        d2 = ((q[:, None, :] - proto[None]) ** 2).sum(-1)
        pred = d2.argmin(1)
        truth = np.repeat(np.arange(len(sup)), qry.shape[1])
        acc.append(np.mean(pred == truth))
    acc = np.array(acc)
    return 100 * acc.mean(), 196 * acc.std() / np.sqrt(len(acc))


def ae_epochs(x, latent, threads, seconds):
    """Epochs of the MLP autoencoder (which has no time budget) that fill
    `seconds`, sized from a timed epoch over 4,096 rows."""
    t = time.time()
    InvNet.fit_autoencoder(x[:4096], latent, epochs=1, threads=threads)
    per_row = (time.time() - t) / 4096
    return max(1, int(seconds / (per_row * len(x))))


def fit(kind, x, args):
    c0 = time.process_time()
    t0 = time.time()
    if kind == "pca":
        net = InvNet.fit_pca(x, args.latent, seed=1)
    elif kind == "ae":
        # the MLP autoencoder has no time budget: epochs sized from a timed
        # epoch so it uses the same fit time
        ep = args.ae_epochs or ae_epochs(x, args.latent, args.threads, args.budget)
        t0 = time.time()
        net = InvNet.fit_autoencoder(x, args.latent, epochs=ep, threads=args.threads)
    else:
        net = InvNet.fit_conv(x, args.latent, epochs=args.epochs or 1000, threads=args.threads,
                              time_budget=args.budget, loss=args.loss, lr=args.lr,
                              batch=args.batch, base_channels=args.channels,
                              levels=args.levels,
                              log=(lambda lv, m: print("  ", m, flush=True)) if args.verbose
                              else None)
    return net, time.time() - t0, time.process_time() - c0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="glyphs")
    ap.add_argument("--hosts", default="pca,ae,conv")
    ap.add_argument("--budget", type=float, default=180)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--latent", type=int, default=64)
    ap.add_argument("--loss", default="l2")
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--channels", type=int, default=None)
    ap.add_argument("--levels", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=0, help="conv epochs (0: budget only)")
    ap.add_argument("--ae-epochs", type=int, default=0, help="ae epochs (0: from the budget)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    xtr, ytr, xte, yte = load(args.data)
    print("%s: %d train rows (%d classes), %d test rows (%d classes)" %
          (args.data, len(xtr), len(np.unique(ytr)), len(xte), len(np.unique(yte))), flush=True)
    eps = {w: episodes(yte, w, seed=1) for w in (5, 20) if len(np.unique(yte)) >= w}
    rows = []
    for kind in args.hosts.split(","):
        net, secs, cpu = fit(kind, xtr, args)
        z = np.concatenate([net.encode(xte[i:i + 2048]) for i in range(0, len(xte), 2048)])
        xh = np.concatenate([net.decode(z[i:i + 2048]) for i in range(0, len(z), 2048)])
        r = {"host": kind, "fit": secs, "cpu": cpu, "psnr": psnr(xh, xte)}
        for w, e in eps.items():
            r["%dw" % w] = fewshot(z, e)
        rows.append(r)
        print("%-5s fit %6.1f s (cpu %6.1f s)  PSNR %5.2f dB  " % (kind, secs, cpu, r["psnr"]) +
              "  ".join("%s %.1f +- %.1f" % (k, *r[k]) for k in ("5w", "20w") if k in r),
              flush=True)
    print("\n| host | fit (s) | PSNR unseen (dB) | raw z 5-way 1-shot | raw z 20-way 1-shot |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| %s | %.0f | %.1f | %s | %s |" % (
            r["host"], r["fit"], r["psnr"],
            "%.1f ± %.1f" % r["5w"] if "5w" in r else "—",
            "%.1f ± %.1f" % r["20w"] if "20w" in r else "—"))


if __name__ == "__main__":
    main()
