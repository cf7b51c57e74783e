#!/usr/bin/python3
"""The conv autoencoder's training speed: libfden (fden_invnet_fit_conv)
against the same network, batch, loss and optimizer in PyTorch, on the same
thread count, interleaved in one run (libfden, torch, libfden, torch, ...).

Network (fden_conv_options_default, 28 x 28 x 1 images, latent 64):
  enc  Conv 4x4 s2 p1 1->32 (no bias) BN LReLU(0.2) -> Conv 4x4 s2 p1 32->64
       (no bias) BN LReLU -> flatten 3136 -> Linear 64
  dec  Linear 64->3136 (no bias) BN1d LReLU -> 64x7x7 -> ConvT 4x4 s2 p1
       64->32 (no bias) BN LReLU -> ConvT 4x4 s2 p1 32->1 (bias) -> sigmoid
  loss mean (sigmoid(u) - x)^2; Adam lr 2e-3, betas (0.9, 0.999), eps 1e-8
(libfden is channels last, torch channels first: the same arithmetic.)
Random [0, 1] images; a libfden round is one fit of --steps steps (its
setup included); torch runs the same number of steps.

--contrast W (the library's default host, W = 0.1): both sides add the
contrastive term: a warped view of each image (random affine, rotation
10 degrees, scale 10%, shift 2 px; torch: affine_grid + grid_sample), the
encoder on both views (2 x batch rows), a head Linear 64->256 (no bias)
BN1d ReLU Linear 256->64, and W times NT-Xent at temperature 0.2.

  bench/conv_peer.py [--steps 40] [--batch 64] [--threads 2] [--rounds 3]
                     [--contrast W]
Prints steps/s of each per round, the medians and the ratio."""
import argparse
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "examples", "python"))


def torch_net(torch):
    nn = torch.nn
    enc = nn.Sequential(
        nn.Conv2d(1, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32, eps=1e-5, momentum=0.1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(32, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64, eps=1e-5, momentum=0.1),
        nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(3136, 64))
    dec = nn.Sequential(
        nn.Linear(64, 3136, bias=False), nn.BatchNorm1d(3136, eps=1e-5, momentum=0.1),
        nn.LeakyReLU(0.2), nn.Unflatten(1, (64, 7, 7)),
        nn.ConvTranspose2d(64, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32), nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(32, 1, 4, 2, 1, bias=True))
    return enc, dec


def torch_round(torch, x, steps, batch, contrast=0.0):
    import math
    import torch.nn.functional as F
    nn = torch.nn
    enc, dec = torch_net(torch)
    params = list(enc.parameters()) + list(dec.parameters())
    if contrast > 0:
        head = nn.Sequential(nn.Linear(64, 256, bias=False), nn.BatchNorm1d(256), nn.ReLU(),
                             nn.Linear(256, 64))
        params += list(head.parameters())
    opt = torch.optim.Adam(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8)
    xt = torch.from_numpy(x.reshape(-1, 1, 28, 28))

    def aug(xb):
        n = xb.shape[0]
        ang = (torch.rand(n) * 2 - 1) * 10 * math.pi / 180
        sc = 1 + (torch.rand(n) * 2 - 1) * 0.1
        tx, ty = [(torch.rand(n) * 2 - 1) * 2 * 2 / 28 for _ in range(2)]
        c, s_ = torch.cos(ang) / sc, torch.sin(ang) / sc
        th = torch.stack([torch.stack([c, -s_, tx], 1), torch.stack([s_, c, ty], 1)], 1)
        g = F.affine_grid(th, xb.shape, align_corners=False)
        return F.grid_sample(xb, g, align_corners=False, padding_mode="zeros")

    def nce(h):
        h = F.normalize(h, dim=1)
        n = h.shape[0] // 2
        sim = h @ h.t() / 0.2
        sim.fill_diagonal_(-1e9)
        t = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
        return F.cross_entropy(sim, t)

    t0 = time.perf_counter()
    for s in range(steps):
        xb = xt[s * batch:(s + 1) * batch]
        opt.zero_grad(set_to_none=True)
        if contrast > 0:
            z = enc(torch.cat([xb, aug(xb)]))
            y = torch.sigmoid(dec(z[:batch]))
            loss = torch.mean((y - xb) ** 2) + contrast * nce(head(z))
        else:
            y = torch.sigmoid(dec(enc(xb)))
            loss = torch.mean((y - xb) ** 2)
        loss.backward()
        opt.step()
    return steps / (time.perf_counter() - t0)


def fden_round(InvNet, x, steps, batch, threads, contrast=0.0):
    t0 = time.perf_counter()
    InvNet.fit_conv(x[:steps * batch], 64, epochs=1, batch=batch, threads=threads, seed=1,
                    contrast=contrast)
    return steps / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--contrast", type=float, default=0.0)
    a = ap.parse_args()
    import torch
    from fden.invnet import InvNet
    torch.set_num_threads(a.threads)
    x = np.random.default_rng(1).random((a.steps * a.batch, 784), dtype=np.float32)
    fr, tr = [], []
    fden_round(InvNet, x, 2, a.batch, a.threads, a.contrast)  # warm-up both
    torch_round(torch, x, 2, a.batch, a.contrast)
    for r in range(a.rounds):
        fr.append(fden_round(InvNet, x, a.steps, a.batch, a.threads, a.contrast))
        tr.append(torch_round(torch, x, a.steps, a.batch, a.contrast))
        print("round %d: libfden %.2f steps/s, torch %s %.2f steps/s" %
              (r + 1, fr[-1], torch.__version__, tr[-1]), flush=True)
    f, t = statistics.median(fr), statistics.median(tr)
    print("conv AE%s, batch %d, %d threads: libfden %.2f steps/s, torch %.2f steps/s, "
          "ratio %.2fx" % (", contrast %g" % a.contrast if a.contrast > 0 else "", a.batch,
                           a.threads, f, t, f / t))


if __name__ == "__main__":
    main()
