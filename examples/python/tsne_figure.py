#!/usr/bin/python3
"""Figure 3 of the FDEN paper: t-SNE of the identity factor f_ide and of the
style factor f_sty for 5 unseen classes x 20 samples, side by side, coloured
by class. A good disentanglement clusters classes in f_ide and mixes them
in f_sty.

Inputs are what ``fden demo`` writes (out/demo/net.fden, out/demo/model.fden)
and the Fashion-MNIST test split; every path is an argument::

    examples/python/tsne_figure.py --model out/demo/model.fden \\
        --invnet out/demo/net.fden --out out/demo/tsne.png

or, with latents already encoded by your own network::

    examples/python/tsne_figure.py --model M.fden --latents z.npy \\
        --latent-labels y.npy --out tsne.png

It also prints the leave-one-out 1-nearest-neighbour class accuracy of z,
f_ide and f_sty on the plotted points (chance is 1/classes).

Needs Debian's python3-numpy, python3-sklearn and python3-matplotlib and a
built libfden (FDEN_LIBRARY / FDEN_BUILD_DIR, see the fden package).
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fden  # noqa: E402

FMNIST = "/usr/share/datasets/fashion-mnist"
FMNIST_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                "Sneaker", "Bag", "Ankle boot"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="out/demo/model.fden", help="saved FDEN model")
    p.add_argument("--invnet", default="out/demo/net.fden",
                   help="saved built-in invertible network (ignored with --latents)")
    p.add_argument("--images", default=os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz"),
                   help="IDX images (scaled by --scale)")
    p.add_argument("--labels", default=os.path.join(FMNIST, "t10k-labels-idx1-ubyte.gz"),
                   help="IDX labels")
    p.add_argument("--scale", type=float, default=1 / 255, help="image scale (1/255)")
    p.add_argument("--latents", help="latents .npy instead of images + invnet")
    p.add_argument("--latent-labels", help="labels .npy for --latents")
    p.add_argument("--classes", default=None,
                   help="comma-separated classes to plot (default: the 5 highest labels, "
                        "the unseen classes of `fden demo`)")
    p.add_argument("--per-class", type=int, default=20, help="samples per class (20)")
    p.add_argument("--perplexity", type=float, default=15.0, help="t-SNE perplexity (15)")
    p.add_argument("--seed", type=int, default=0, help="sample and t-SNE seed (0)")
    p.add_argument("--names", choices=["fashion-mnist", "numbers"], default=None,
                   help="legend labels (default: fashion-mnist for the default data)")
    p.add_argument("--out", default="out/demo/tsne.png", help="output PNG")
    return p.parse_args(argv)


def load_points(args):
    """(z, labels) of per_class samples of each chosen class."""
    if args.latents:
        z = np.load(args.latents).astype(np.float32)
        if args.latent_labels is None:
            raise SystemExit("--latents needs --latent-labels")
        y = np.load(args.latent_labels).astype(np.int32).reshape(-1)
        x, net = None, None
    else:
        with fden.Dataset.load_idx(args.images, args.labels, scale=args.scale) as ds:
            x, y = ds.x, ds.labels
        net = fden.InvNet.load(args.invnet)
        z = None
    classes = (sorted(np.unique(y))[-5:] if args.classes is None
               else [int(c) for c in args.classes.split(",")])
    rng = np.random.default_rng(args.seed)
    idx = []
    for c in classes:
        rows = np.flatnonzero(y == c)
        if rows.size < args.per_class:
            raise SystemExit("class %d has only %d samples" % (c, rows.size))
        idx.append(rng.choice(rows, args.per_class, replace=False))
    idx = np.concatenate(idx)
    if z is None:
        with net:
            z = net.encode(np.ascontiguousarray(x[idx]))
    else:
        z = np.ascontiguousarray(z[idx])
    return z, y[idx], classes


def loo_1nn(f, y):
    """Leave-one-out 1-nearest-neighbour accuracy (Euclidean)."""
    d = ((f[:, None, :] - f[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    return float(np.mean(y[d.argmin(axis=1)] == y))


def main(argv=None):
    args = parse_args(argv)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    z, y, classes = load_points(args)
    with fden.Model.load(args.model) as model:
        if model.dim != z.shape[1]:
            raise SystemExit("model Dim %d != latent width %d" % (model.dim, z.shape[1]))
        f_ide, f_sty = model.disentangle(z)

    acc = {name: loo_1nn(v.astype(np.float64), y)
           for name, v in (("z", z), ("f_ide", f_ide), ("f_sty", f_sty))}
    print("leave-one-out 1-NN class accuracy on %d points of %d classes (chance %.2f): %s"
          % (len(y), len(classes), 1 / len(classes),
             ", ".join("%s %.3f" % kv for kv in acc.items())))

    names = args.names or ("fashion-mnist" if not args.latents and
                           args.images.startswith(FMNIST) else "numbers")
    label = (lambda c: FMNIST_NAMES[c]) if names == "fashion-mnist" else str
    cmap = plt.get_cmap("tab10")
    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    for ax, (title, f) in zip(axes, (("identity factor $f_{ide}$", f_ide),
                                     ("style factor $f_{sty}$", f_sty))):
        emb = TSNE(n_components=2, perplexity=min(args.perplexity, len(y) - 1),
                   init="pca", learning_rate="auto", random_state=args.seed).fit_transform(
            f.astype(np.float64))
        for k, c in enumerate(classes):
            m = y == c
            ax.scatter(emb[m, 0], emb[m, 1], s=18, color=cmap(k % 10), label=label(c))
        key = "f_ide" if "ide" in title else "f_sty"
        ax.set_title("%s (1-NN acc. %.2f)" % (title, acc[key]))
        ax.set_xticks([])
        ax.set_yticks([])
    axes[1].legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.suptitle("t-SNE of FDEN factors: %d unseen classes x %d samples"
                 % (len(classes), args.per_class))
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=120)
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
