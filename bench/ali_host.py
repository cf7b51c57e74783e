#!/usr/bin/env python3
"""Fit the built-in ALI host on the training classes of a set and measure it
on the unseen classes, as issue 13's host table asks:

  - reconstruction PSNR of decode(encode(x)) on unseen-class test rows
    (10 log10(1 / MSE), MSE over all pixels of up to 2000 rows, peak 1);
  - raw-z few-shot, 5-way 1-shot and 20-way 1-shot, nearest class mean
    (1 shot: the support row) by Euclidean distance, 15 queries per class,
    1000 seeded episodes, mean and 95% interval;
  - the same few-shot on raw pixels and the PSNR of the mean image: the
    simplest baselines;
  - per-step curves (D and G losses, D accuracy, reconstruction MSE) to a
    CSV and a PNG, a grid of reconstructions and one of samples G_x(z).

  bench/ali_host.py --set glyphs|fashion --l2 W --time S --out DIR

Uses the Python binding (examples/python; FDEN_BUILD_DIR picks the build).
"""
import argparse
import csv
import gzip
import json
import os
import re
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "examples", "python"))
import fden  # noqa: E402


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    nd = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    dt = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4"}[data[2]]
    return np.frombuffer(data, dt, offset=4 + 4 * nd).reshape(dims)


def load(which):
    if which == "glyphs":
        d = "/work/main/data/glyphs"
        xtr = idx(d + "/train-images-idx3-ubyte.gz")
        xte, yte = idx(d + "/test-images-idx3-ubyte.gz"), idx(d + "/test-labels-idx1-ubyte.gz")
        ytr = idx(d + "/train-labels-idx1-ubyte.gz")
    else:
        d = "/usr/share/datasets/fashion-mnist"
        xtr, ytr = idx(d + "/train-images-idx3-ubyte.gz"), idx(d + "/train-labels-idx1-ubyte.gz")
        xte, yte = idx(d + "/t10k-images-idx3-ubyte.gz"), idx(d + "/t10k-labels-idx1-ubyte.gz")
        keep = ytr < 5  # training classes 0-4 (--split 5); unseen 5-9
        xtr, ytr = xtr[keep], ytr[keep]
        keep = yte >= 5
        xte, yte = xte[keep], yte[keep]
    f = lambda x: np.ascontiguousarray(x.reshape(len(x), -1), dtype=np.float32) / 255.0
    return f(xtr), ytr.astype(np.int64), f(xte), yte.astype(np.int64)


def fewshot(z, y, ways, shots=1, queries=15, episodes=1000, seed=1):
    rng = np.random.default_rng(seed)
    classes = [c for c in np.unique(y) if np.sum(y == c) >= shots + queries]
    by = {c: np.flatnonzero(y == c) for c in classes}
    acc = []
    for _ in range(episodes):
        cs = rng.choice(classes, ways, replace=False)
        protos, qs, ql = [], [], []
        for k, c in enumerate(cs):
            r = rng.choice(by[c], shots + queries, replace=False)
            protos.append(z[r[:shots]].mean(0))
            qs.append(z[r[shots:]])
            ql += [k] * queries
        P, Q = np.stack(protos), np.concatenate(qs)
        d = ((Q[:, None, :] - P[None]) ** 2).sum(-1)
        acc.append(np.mean(d.argmin(1) == np.array(ql)))
    acc = np.array(acc)
    return 100 * acc.mean(), 196 * acc.std() / np.sqrt(len(acc))


def psnr(x, y):
    return 10 * np.log10(1.0 / np.mean((x.astype(np.float64) - y) ** 2))


def grid(rows, side, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(len(rows[0]) * 0.6, len(rows) * 0.7))
    img = np.concatenate([np.concatenate([r.reshape(side, side) for r in row], 1)
                          for row in rows], 0)
    ax.imshow(img, cmap="gray", vmin=0, vmax=1)
    ax.set_axis_off()
    ax.set_title(title, fontsize=8)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def curves(csvpath, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = list(csv.DictReader(open(csvpath)))
    s = [int(r["step"]) for r in rows]
    fig, ax = plt.subplots(1, 3, figsize=(12, 3))
    ax[0].plot(s, [float(r["d_loss"]) for r in rows], label="D loss")
    ax[0].plot(s, [float(r["g_loss"]) for r in rows], label="G loss (adversarial)")
    ax[0].legend(fontsize=7)
    ax[1].plot(s, [float(r["d_acc"]) for r in rows])
    ax[1].set_ylim(0, 1.02)
    ax[1].set_title("D accuracy", fontsize=8)
    ax[2].plot(s, [float(r["recon_mse"]) for r in rows])
    ax[2].set_title("reconstruction MSE (eval mode, 256 train rows)", fontsize=8)
    for a in ax:
        a.set_xlabel("step", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", choices=("glyphs", "fashion"), required=True)
    ap.add_argument("--l2", type=float, default=0.0)
    ap.add_argument("--time", type=float, default=180.0)
    ap.add_argument("--latent", type=int, default=64)
    ap.add_argument("--channels", type=int, default=8)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--log-steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    tag = "%s-l2%g" % (a.set, a.l2)
    xtr, ytr, xte, yte = load(a.set)
    pat = re.compile(r"ali (?:step (\d+)|epoch (\d+)/\d+): (.*)")
    rows = []

    def log(level, msg):
        print(msg, flush=True)
        m = pat.match(msg)
        if not m or "D loss" not in msg:
            return
        f = dict(re.findall(r"(D loss|G loss|D acc|recon mse|train l2) ([-\d.e+]+)", msg))
        t = re.search(r"\(([\d.]+) s", msg)
        rows.append({"step": m.group(1) or "", "epoch_end": m.group(2) or "",
                     "seconds": t.group(1) if t else "", "d_loss": f["D loss"],
                     "g_loss": f["G loss"], "d_acc": f["D acc"],
                     "recon_mse": f["recon mse"], "train_l2": f["train l2"]})

    t0 = time.time()
    net = fden.InvNet.fit_ali(xtr, a.latent, base_channels=a.channels, batch=a.batch, lr=a.lr,
                              l2_weight=a.l2, time_budget=a.time, log_steps=a.log_steps,
                              threads=a.threads, seed=1, log=log)
    fit_s = time.time() - t0
    net.save(os.path.join(a.out, tag + ".fden"))
    steps = [r for r in rows if r["step"]]
    with open(os.path.join(a.out, tag + ".csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(steps)
    n_steps = int(steps[-1]["step"]) if steps else 0
    curves(os.path.join(a.out, tag + ".csv"), os.path.join(a.out, tag + "-curves.png"),
           "ALI on %s, l2 weight %g: %d steps in %.0f s" % (a.set, a.l2, n_steps, fit_s))
    rng = np.random.default_rng(0)
    pick = rng.choice(len(xte), min(2000, len(xte)), replace=False)
    xt = xte[pick]
    zt = net.encode(xt)
    rec = net.decode(zt)
    zall = net.encode(xte)
    res = {
        "set": a.set, "l2": a.l2, "fit_seconds": round(fit_s, 1), "steps": n_steps,
        "epochs": round(n_steps * a.batch / len(xtr), 3), "train_rows": len(xtr),
        "psnr_unseen": round(psnr(rec, xt), 2),
        "psnr_mean_image": round(psnr(np.broadcast_to(xtr.mean(0), xt.shape), xt), 2),
    }
    for ways in (5, 20):
        if len(np.unique(yte)) >= ways:
            m, ci = fewshot(zall, yte, ways)
            res["rawz_%dw1s" % ways] = [round(m, 1), round(ci, 1)]
            m, ci = fewshot(xte, yte, ways)
            res["pixels_%dw1s" % ways] = [round(m, 1), round(ci, 1)]
    samples = net.decode(np.random.default_rng(1).normal(size=(16, a.latent)).astype(np.float32))
    side = int(round(np.sqrt(xtr.shape[1])))
    grid([xt[:12], rec[:12]], side, os.path.join(a.out, tag + "-recon.png"),
         "%s unseen classes: inputs (top), ALI reconstructions (bottom), l2 %g" % (a.set, a.l2))
    grid([samples[:8], samples[8:]], side, os.path.join(a.out, tag + "-samples.png"),
         "%s: samples G_x(z), z ~ N(0, I), l2 %g" % (a.set, a.l2))
    print(json.dumps(res))
    with open(os.path.join(a.out, tag + ".json"), "w") as f:
        json.dump(res, f)
    net.close()


if __name__ == "__main__":
    main()
