#!/usr/bin/python3
"""Prototype: does a contrastive (SimCLR-style) term or augmentation in the
conv host's fit lift raw-z few-shot on unseen classes?"""
import argparse, gzip, time, sys
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--data", default="/work/main/data/glyphs")
p.add_argument("--mode", default="plain")  # plain | denoise | simclr
p.add_argument("--lam", type=float, default=1.0)
p.add_argument("--tau", type=float, default=0.2)
p.add_argument("--time", type=float, default=180)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--shift", type=float, default=2.0)
p.add_argument("--rot", type=float, default=10.0)
p.add_argument("--scale", type=float, default=0.1)
p.add_argument("--latent", type=int, default=64)
p.add_argument("--seed", type=int, default=1)
p.add_argument("--cdims", type=int, default=0)  # latent columns the head sees (0: all)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)
np.random.seed(a.seed)

def idx(path):
    b = gzip.open(path).read()
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    dt = {8: np.uint8, 11: ">i2", 12: ">i4"}[b[2]]
    return np.frombuffer(b, dt, offset=4 + 4 * nd).reshape(dims)

xtr = idx(a.data + "/train-images-idx3-ubyte.gz").astype(np.float32) / 255
xte = idx(a.data + "/test-images-idx3-ubyte.gz").astype(np.float32) / 255
yte = idx(a.data + "/test-labels-idx1-ubyte.gz").astype(np.int64)
H = xtr.shape[1]
L = a.latent
enc = nn.Sequential(
    nn.Conv2d(1, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32), nn.LeakyReLU(0.2),
    nn.Conv2d(32, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.LeakyReLU(0.2),
    nn.Flatten(), nn.Linear(64 * (H // 4) ** 2, L))
dec = nn.Sequential(
    nn.Linear(L, 64 * (H // 4) ** 2, bias=False), nn.BatchNorm1d(64 * (H // 4) ** 2), nn.LeakyReLU(0.2),
    nn.Unflatten(1, (64, H // 4, H // 4)),
    nn.ConvTranspose2d(64, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32), nn.LeakyReLU(0.2),
    nn.ConvTranspose2d(32, 1, 4, 2, 1))
CD = a.cdims or L
head = nn.Sequential(nn.Linear(CD, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Linear(256, 64))
params = list(enc.parameters()) + list(dec.parameters()) + (list(head.parameters()) if a.mode.startswith("simclr") else [])
opt = torch.optim.Adam(params, lr=2e-3)

def aug(x):
    n = x.shape[0]
    ang = (torch.rand(n) * 2 - 1) * a.rot * np.pi / 180
    sc = 1 + (torch.rand(n) * 2 - 1) * a.scale
    tx = (torch.rand(n) * 2 - 1) * a.shift * 2 / H
    ty = (torch.rand(n) * 2 - 1) * a.shift * 2 / H
    c, s = torch.cos(ang) / sc, torch.sin(ang) / sc
    th = torch.stack([torch.stack([c, -s, tx], 1), torch.stack([s, c, ty], 1)], 1)
    g = F.affine_grid(th, x.shape, align_corners=False)
    return F.grid_sample(x, g, align_corners=False, padding_mode="zeros")

def nce(h1, h2):
    h1 = F.normalize(h1, dim=1); h2 = F.normalize(h2, dim=1)
    h = torch.cat([h1, h2]); n = h1.shape[0]
    s = h @ h.t() / a.tau
    s.fill_diagonal_(-1e9)
    t = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(s, t)

X = torch.from_numpy(xtr).unsqueeze(1)
N = X.shape[0]; B = 64
t0 = time.time(); step = 0; ep = 0
while time.time() - t0 < a.time:
    perm = torch.randperm(N); ep += 1
    for r in range(0, N - B + 1, B):
        xb = X[perm[r:r + B]]
        opt.zero_grad()
        if a.mode == "plain":
            loss = ((torch.sigmoid(dec(enc(xb))) - xb) ** 2).mean(); ln = 0
        elif a.mode == "denoise":
            loss = ((torch.sigmoid(dec(enc(aug(xb)))) - xb) ** 2).mean(); ln = 0
        else:
            x1, x2 = (xb, aug(xb)) if a.mode == "simclr2" else (aug(xb), aug(xb))
            z = enc(torch.cat([x1, x2]))
            rec = ((torch.sigmoid(dec(z[:B])) - x1) ** 2).mean()
            ln = nce(head(z[:B, :CD]), head(z[B:, :CD]))
            loss = rec + a.lam * ln
        loss.backward(); opt.step(); step += 1
        if time.time() - t0 >= a.time: break
print(f"mode {a.mode} lam {a.lam} cdims {CD} steps {step} epochs {ep} fit {time.time()-t0:.0f}s", flush=True)
enc.eval(); dec.eval()
with torch.no_grad():
    Xt = torch.from_numpy(xte).unsqueeze(1)
    z = torch.cat([enc(Xt[i:i + 512]) for i in range(0, len(Xt), 512)]).numpy()
    xh = torch.cat([torch.sigmoid(dec(enc(Xt[i:i + 512]))) for i in range(0, len(Xt), 512)]).numpy()
    ztr = torch.cat([enc(X[i:i + 512]) for i in range(0, 8192, 512)]).numpy()
mse = ((xh[:, 0] - xte) ** 2).mean()
print(f"psnr unseen {10*np.log10(1/mse):.2f}")
cls = np.unique(yte); byc = {c: np.where(yte == c)[0] for c in cls}
def fs(feat, ways, shots, q=15, eps=1000):
    rng = np.random.default_rng(0); acc = []
    for e in range(eps):
        cs = rng.choice(cls, ways, replace=False)
        P = []; Q = []; QL = []
        for k, c in enumerate(cs):
            ii = rng.permutation(byc[c])
            P.append(feat[ii[:shots]].mean(0)); Q.append(feat[ii[shots:shots + q]]); QL += [k] * len(ii[shots:shots + q])
        P = np.stack(P); Q = np.concatenate(Q)
        d = ((Q[:, None] - P[None]) ** 2).sum(-1)
        acc.append((d.argmin(1) == np.array(QL)).mean())
    return 100 * np.mean(acc)
mu = ztr.mean(0)
zs = (z - mu); zs /= np.linalg.norm(zs, axis=1, keepdims=True)
pix = xte.reshape(len(xte), -1)
print(f"rawz ncm 5w1s {fs(z,5,1):.1f} 20w1s {fs(z,20,1):.1f} | simpleshot 5w1s {fs(zs,5,1):.1f} 20w1s {fs(zs,20,1):.1f}")
if CD < L:
    zc = z[:, :CD]; zcs = zc - ztr[:, :CD].mean(0); zcs /= np.linalg.norm(zcs, axis=1, keepdims=True)
    print(f"first {CD} columns: ncm 5w1s {fs(zc,5,1):.1f} 20w1s {fs(zc,20,1):.1f} | simpleshot 5w1s {fs(zcs,5,1):.1f} 20w1s {fs(zcs,20,1):.1f}")
if a.mode == "plain" and a.seed == 1:
    print(f"pixels ncm 5w1s {fs(pix,5,1):.1f} 20w1s {fs(pix,20,1):.1f}")
import os
if os.environ.get("SAVE"):
    d = os.environ["SAVE"]; os.makedirs(d, exist_ok=True)
    with torch.no_grad():
        zt = torch.cat([enc(X[i:i + 512]) for i in range(0, N, 512)]).numpy()
    np.save(d + "/ztrain.npy", zt.astype(np.float32)); np.save(d + "/ztest.npy", z.astype(np.float32))
    print("saved", zt.shape, z.shape)
