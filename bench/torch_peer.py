#!/usr/bin/python3
"""PyTorch peer of bench_fden: the same FDEN network and training step.

Architecture (FDEN_PRESET_PAPER, Appendix B of the paper), Dim = d:
  D_dec  d   -> 512(BN) -> 512 -> 512 -> 2d (linear)
  D_ide  2d  -> 512(BN) -> 512 -> d (linear)          D_sty the same
  T      2d  -> 1024(BN) -> 256 -> 64 -> 1 (linear)   statistician (MINE)
  E_ide  d   -> 256(BN) -> 256 -> d (linear)          E_sty the same
  E_enc  2d  -> 512(BN) -> 512 -> 512 -> d (linear)
each layer: dense (no bias when batch norm follows) -> [BN] -> leaky ReLU
0.01 (hidden) -> dropout 0.2 (every layer, outputs included, as the paper's
table).  Adam lr 1e-4, betas (0.5, 0.999), eps 1e-8.

One step, as libfden's fden_train_step:
  f_ide, f_sty = D(z)
  z~  = E(f_ide, f_sty);            L_R = mean_rows ||z - z~||^2
  L_C = prototypical cross entropy per episode on f_ide (queries vs class means)
  L_M = mean T(f_ide, f_sty) - log mean exp T(f_ide, f_sty[perm])
        (joint and marginal rows stacked into one 2n-row pass of T)
  E, T: gradients of a L_R + b L_C - g L_M (T ascends L_M)
  D:    g_u from a L_R + b L_C, g_m from the MINE term through the GRL
        (times -lambda), g = g_u + min(|g_u|, |g_m|) g_m / |g_m| per tensor
  gradient norms of every part (also the finiteness check), then Adam.

--preset default: the default configuration (FDEN_PRESET_DEFAULT, what
`fden train` runs), as libfden computes it (libfden/fden/train.c, flow.c):
  D  --flow-layers affine couplings (RealNVP; libfden's default 12):
     x = x[:, perm_l]; [r, t] = g_l(x1);
     s = 2 tanh(r / 2); y = [x1, x2 exp(s) + t]; g_l: Linear(d1, 256) ->
     leaky 0.01 -> Linear(256, 256) -> leaky -> Linear(256, 2 d2), He
     init, last layer zero; E = the exact inverse (no parameters, L_R = 0)
  T  Dim -> 1024(BN) -> 256 -> 64 -> 1, first product split into its f_ide
     and f_sty blocks (as libfden: the shuffle applies to the f_sty part)
  g_u: prototypical cross entropy (20-way 1-shot 5-query episodes)
       + 10 L_X (mean squared correlation of batch-standardised f_ide and
       f_sty columns) + 3 L_N (||F||^2 / 2 - log|det|, per row and Dim;
       libfden's default weight is 1: the same FLOPs)
  g_m: the MINE term through the GRL; per-tensor clipping; Adam 1e-3
  no dropout.

Modes (one JSON line on stdout per measurement):
  train  --dim D --batch N --threads T
  infer  --dim D --threads T --batches 1,16,256,4096
  gemm   --threads T   (torch.mm rates, to show torch reaches the same BLIS)
Run one configuration per process: the runner reads the peak RSS of each
child.  Set BLIS_NUM_THREADS / OMP_NUM_THREADS in the environment too (the
runner does): Debian's torch calls sgemm through libblas.so.3 -> BLIS, which
reads its thread count from the environment.
"""
import argparse
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn as nn


def layer_stack(din, widths, bn_first, slope, drop):
	mods = []
	n = len(widths)
	for i, w in enumerate(widths):
		bn = bn_first and i == 0
		mods.append(nn.Linear(din, w, bias=not bn))
		if bn:
			mods.append(nn.BatchNorm1d(w, eps=1e-3, momentum=0.01))
		if i < n - 1:
			mods.append(nn.LeakyReLU(slope))
		if drop > 0:
			mods.append(nn.Dropout(drop))
		din = w
	return nn.Sequential(*mods)


def trunc_normal_init(module, sigma):
	for m in module.modules():
		if isinstance(m, nn.Linear):
			nn.init.trunc_normal_(m.weight, 0.0, sigma, -2 * sigma, 2 * sigma)
			if m.bias is not None:
				nn.init.zeros_(m.bias)


class FDEN(nn.Module):
	def __init__(self, dim, drop=0.2, slope=0.01, dw=512, sw=(1024, 256, 64),
		     ebw=256, etw=512):
		super().__init__()
		self.dim = dim
		self.d_dec = layer_stack(dim, [dw, dw, dw, 2 * dim], True, slope, drop)
		self.d_ide = layer_stack(2 * dim, [dw, dw, dim], True, slope, drop)
		self.d_sty = layer_stack(2 * dim, [dw, dw, dim], True, slope, drop)
		self.stat = layer_stack(2 * dim, list(sw) + [1], True, slope, drop)
		self.e_ide = layer_stack(dim, [ebw, ebw, dim], True, slope, drop)
		self.e_sty = layer_stack(dim, [ebw, ebw, dim], True, slope, drop)
		self.e_enc = layer_stack(2 * dim, [etw, etw, etw, dim], True, slope, drop)
		trunc_normal_init(self, 0.001)

	def d_params(self):
		return (list(self.d_dec.parameters()) + list(self.d_ide.parameters())
			+ list(self.d_sty.parameters()))

	def e_params(self):
		return (list(self.e_ide.parameters()) + list(self.e_sty.parameters())
			+ list(self.e_enc.parameters()))

	def disentangle(self, z):
		h = self.d_dec(z)
		return self.d_ide(h), self.d_sty(h)

	def entangle(self, fi, fs):
		return self.e_enc(torch.cat([self.e_ide(fi), self.e_sty(fs)], 1))


class Coupling(nn.Module):
	def __init__(self, dim, perm, width=256, depth=2, clamp=2.0, slope=0.01):
		super().__init__()
		self.d1 = dim // 2
		self.d2 = dim - self.d1
		self.c = clamp
		ws = [width] * depth + [2 * self.d2]
		mods, din = [], self.d1
		for i, w in enumerate(ws):
			mods.append(nn.Linear(din, w))
			if i < len(ws) - 1:
				mods.append(nn.LeakyReLU(slope))
			din = w
		self.g = nn.Sequential(*mods)
		for m in self.g:
			if isinstance(m, nn.Linear):
				nn.init.kaiming_normal_(m.weight)
				nn.init.zeros_(m.bias)
		nn.init.zeros_(self.g[-1].weight)
		self.register_buffer("perm", perm)
		self.register_buffer("iperm", torch.argsort(perm))

	def forward(self, x):
		x = x[:, self.perm]
		x1, x2 = x[:, :self.d1], x[:, self.d1:]
		h = self.g(x1)
		s = self.c * torch.tanh(h[:, :self.d2] / self.c)
		return torch.cat([x1, x2 * torch.exp(s) + h[:, self.d2:]], 1), s.sum()

	def inverse(self, y):
		y1, y2 = y[:, :self.d1], y[:, self.d1:]
		h = self.g(y1)
		s = self.c * torch.tanh(h[:, :self.d2] / self.c)
		return torch.cat([y1, (y2 - h[:, self.d2:]) * torch.exp(-s)], 1)[:, self.iperm]


class FlowFDEN(nn.Module):
	"""The default configuration: flow D (E its inverse) and the statistician."""

	def __init__(self, dim, layers=8, sw=(1024, 256, 64), slope=0.01):
		super().__init__()
		self.dim = dim
		self.di = dim // 2
		g = torch.Generator().manual_seed(0xf10f)
		self.flow = nn.ModuleList([Coupling(dim, torch.randperm(dim, generator=g))
					   for _ in range(layers)])
		self.stat = layer_stack(dim, list(sw) + [1], True, slope, 0.0)
		for m in self.stat.modules():
			if isinstance(m, nn.Linear):
				nn.init.kaiming_normal_(m.weight)
				if m.bias is not None:
					nn.init.zeros_(m.bias)

	def d_params(self):
		return list(self.flow.parameters())

	def forward_ld(self, z):
		ld = 0
		for c in self.flow:
			z, l = c(z)
			ld = ld + l
		return z, ld

	def disentangle(self, z):
		for c in self.flow:
			z, _ = c(z)
		return z[:, :self.di], z[:, self.di:]

	def entangle(self, fi, fs):
		y = torch.cat([fi, fs], 1)
		for c in reversed(self.flow):
			y = c.inverse(y)
		return y


def xcorr(a, b, eps=1e-5):
	"""mean squared correlation of the batch-standardised columns of a and b"""
	n = a.shape[0]
	ah = (a - a.mean(0)) / torch.sqrt(a.var(0, unbiased=False) + eps)
	bh = (b - b.mean(0)) / torch.sqrt(b.var(0, unbiased=False) + eps)
	r = ah.t() @ bh / n
	return (r * r).mean()


class DefaultTrainer:
	def __init__(self, model, n_ep, ways, shots, queries, beta=1.0, gamma=0.5, grl=1.0,
		     xw=10.0, nw=3.0, foreach=None):
		self.m = model
		self.n_ep, self.ways, self.shots, self.queries = n_ep, ways, shots, queries
		self.b, self.g, self.lam, self.xw, self.nw = beta, gamma, grl, xw, nw
		self.dp = model.d_params()
		self.tp = list(model.stat.parameters())
		self.opt = torch.optim.Adam(self.dp + self.tp, lr=1e-3, betas=(0.5, 0.999),
					    eps=1e-8, foreach=foreach)
		self.qlab = torch.arange(ways).repeat_interleave(queries).repeat(n_ep)

	def step(self, z):
		m = self.m
		n, dim = z.shape
		di = m.di
		E, W, S, Q = self.n_ep, self.ways, self.shots, self.queries
		self.opt.zero_grad(set_to_none=True)
		F, ld = m.forward_ld(z)
		fi, fs = F[:, :di], F[:, di:]
		fiu = fi.detach().requires_grad_()
		fsu = fs.detach().requires_grad_()
		ep = fiu.view(E, W * (S + Q), di)
		proto = ep[:, :W * S].reshape(E, W, S, di).mean(2)
		qry = ep[:, W * S:]
		logits = -((qry.unsqueeze(2) - proto.unsqueeze(1)) ** 2).sum(-1)
		logits = logits.reshape(E * W * Q, W)
		l_c = nn.functional.cross_entropy(logits, self.qlab)
		acc = (logits.argmax(1) == self.qlab).float().mean()
		l_x = xcorr(fiu, fsu)
		k = 1.0 / (n * dim)
		sq = (fiu * fiu).sum() + (fsu * fsu).sum()
		(self.b * l_c + self.xw * l_x + self.nw * k * 0.5 * sq).backward()
		gu_i, gu_s = fiu.grad, fsu.grad
		l_n = k * (0.5 * sq.detach() - ld.detach())
		# statistician, its first product split as libfden does it
		fim = fi.detach().requires_grad_()
		fsm = fs.detach().requires_grad_()
		perm = torch.randperm(n)
		w = m.stat[0].weight
		a = fim @ w[:, :di].t()
		b = fsm @ w[:, di:].t()
		t = m.stat[1:](torch.cat([a + b, a + b[perm]], 0)).squeeze(1)
		l_m = t[:n].mean() - (torch.logsumexp(t[n:], 0) - math.log(n))
		(-self.g * l_m).backward()
		gm_i, gm_s = -self.lam * fim.grad, -self.lam * fsm.grad
		# g_u: the factors' gradient and the log-det's (-nw/(n dim) on every s)
		gu = torch.autograd.grad([fi, fs, ld], self.dp,
					 [gu_i, gu_s, torch.tensor(-self.nw * k)], retain_graph=True)
		gm = torch.autograd.grad([fi, fs], self.dp, [gm_i, gm_s])
		nu = torch._foreach_norm(gu)
		nm = torch._foreach_norm(gm)
		scales = []
		for p, a_, b_, na, nb in zip(self.dp, gu, gm, nu, nm):
			s = torch.minimum(na, nb) / nb.clamp_min(1e-30)
			p.grad = a_.add_(b_.mul_(s))
			scales.append(s)
		clip = torch.stack(scales).mean()
		gn_d = torch.linalg.vector_norm(torch.stack(torch._foreach_norm([p.grad for p in self.dp])))
		gn_t = torch.linalg.vector_norm(torch.stack(torch._foreach_norm([p.grad for p in self.tp])))
		loss = self.b * l_c - self.g * l_m + self.xw * l_x + self.nw * l_n
		stats = torch.stack([loss, l_c, l_m, l_x, l_n, acc, gn_d, gn_t, clip])
		if not bool(torch.isfinite(stats).all()):
			raise FloatingPointError("non-finite step")
		self.opt.step()
		return stats


class Trainer:
	def __init__(self, model, n_ep, ways, shots, queries, alpha=1.0, beta=1.0,
		     gamma=0.5, grl=1.0, foreach=None, split_t=False):
		self.m = model
		self.split_t = split_t
		self.n_ep, self.ways, self.shots, self.queries = n_ep, ways, shots, queries
		self.a, self.b, self.g, self.lam = alpha, beta, gamma, grl
		self.dp = model.d_params()
		self.ep = model.e_params()
		self.tp = list(model.stat.parameters())
		self.opt = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.5, 0.999),
					    eps=1e-8, foreach=foreach)
		# query labels per episode, class-major (the C benchmark's layout)
		self.qlab = torch.arange(ways).repeat_interleave(queries).repeat(n_ep)

	def step(self, z):
		m = self.m
		n, dim = z.shape
		E, W, S, Q = self.n_ep, self.ways, self.shots, self.queries
		self.opt.zero_grad(set_to_none=True)
		fi, fs = m.disentangle(z)
		# cut the graph at the factors: D gets g_u and g_m separately
		fiu = fi.detach().requires_grad_()
		fsu = fs.detach().requires_grad_()
		zt = m.entangle(fiu, fsu)
		l_r = ((z - zt) ** 2).sum(1).mean()
		ep = fiu.view(E, W * (S + Q), dim)
		proto = ep[:, :W * S].reshape(E, W, S, dim).mean(2)
		qry = ep[:, W * S:]
		logits = -((qry.unsqueeze(2) - proto.unsqueeze(1)) ** 2).sum(-1)
		logits = logits.reshape(E * W * Q, W)
		l_c = nn.functional.cross_entropy(logits, self.qlab)
		acc = (logits.argmax(1) == self.qlab).float().mean()
		(self.a * l_r + self.b * l_c).backward()
		gu_i, gu_s = fiu.grad, fsu.grad
		# statistician on joint and shuffled rows, through the GRL
		fim = fi.detach().requires_grad_()
		fsm = fs.detach().requires_grad_()
		perm = torch.randperm(n)
		if self.split_t:
			# libfden's way: T's first product split into its f_ide and
			# f_sty column blocks, the shuffle applied to the f_sty part
			w = m.stat[0].weight
			a = fim @ w[:, :dim].t()
			b = fsm @ w[:, dim:].t()
			t = m.stat[1:](torch.cat([a + b, a + b[perm]], 0)).squeeze(1)
		else:
			x = torch.cat([torch.cat([fim, fsm], 1), torch.cat([fim, fsm[perm]], 1)], 0)
			t = m.stat(x).squeeze(1)
		l_m = t[:n].mean() - (torch.logsumexp(t[n:], 0) - math.log(n))
		(-self.g * l_m).backward()
		gm_i, gm_s = -self.lam * fim.grad, -self.lam * fsm.grad
		gu = torch.autograd.grad([fi, fs], self.dp, [gu_i, gu_s], retain_graph=True)
		gm = torch.autograd.grad([fi, fs], self.dp, [gm_i, gm_s])
		# adaptive clipping per tensor: g = g_u + min(|g_u|,|g_m|) g_m/|g_m|
		nu = torch._foreach_norm(gu)
		nm = torch._foreach_norm(gm)
		scales = []
		for p, a, b, na, nb in zip(self.dp, gu, gm, nu, nm):
			s = torch.minimum(na, nb) / nb.clamp_min(1e-30)
			p.grad = a.add_(b.mul_(s))
			scales.append(s)
		clip = torch.stack(scales).mean()
		# gradient norms per part (also the non-finite check), then Adam
		gn_d = torch.linalg.vector_norm(torch.stack(torch._foreach_norm([p.grad for p in self.dp])))
		gn_e = torch.linalg.vector_norm(torch.stack(torch._foreach_norm([p.grad for p in self.ep])))
		gn_t = torch.linalg.vector_norm(torch.stack(torch._foreach_norm([p.grad for p in self.tp])))
		loss = self.a * l_r + self.b * l_c - self.g * l_m
		stats = torch.stack([loss, l_r, l_c, l_m, acc, gn_d, gn_e, gn_t, clip])
		if not bool(torch.isfinite(stats).all()):
			raise FloatingPointError("non-finite step")
		self.opt.step()
		return stats


def make_batch(n_ep, ways, shots, queries, dim, seed):
	g = torch.Generator().manual_seed(seed)
	return torch.randn(n_ep * ways * (shots + queries), dim, generator=g)


def timeit(fn, warmup, reps, min_time):
	"""Warm up, pick k so one repetition lasts >= min_time, time reps blocks
	of k calls; seconds per call for each repetition."""
	t0 = time.perf_counter()
	done = 0
	while done < warmup or time.perf_counter() - t0 < min_time:
		fn()
		done += 1
	per = (time.perf_counter() - t0) / done
	k = max(1, int(math.ceil(min_time / max(per, 1e-9))))
	out, cpu = [], []
	for _ in range(reps):
		t = time.perf_counter()
		c = time.process_time()
		for _ in range(k):
			fn()
		out.append((time.perf_counter() - t) / k)
		cpu.append((time.process_time() - c) / k)
	timeit.cpu = sorted(cpu)[len(cpu) // 2] if len(cpu) % 2 else 0.5 * (sorted(cpu)[len(cpu) // 2 - 1] + sorted(cpu)[len(cpu) // 2])
	return out, k


def summary(ts):
	"""median, min, max wall seconds per call; cpu: median process CPU
	seconds per call (all threads) of the same repetitions"""
	s = sorted(ts)
	return {"median": s[len(s) // 2] if len(s) % 2 else 0.5 * (s[len(s) // 2 - 1] + s[len(s) // 2]),
		"min": s[0], "max": s[-1], "cpu": timeit.cpu}


def rss_kb():
	with open("/proc/self/status") as f:
		for line in f:
			if line.startswith("VmRSS:"):
				return int(line.split()[1])
	return 0


def layout(batch, dflt=False):
	"""Default preset: 20-way 1-shot 5-query episodes (120 rows: 480 -> 4,
	1920 -> 16 episodes). Paper preset: Episodes for a batch of rows: 4-way, 2 shots + 2 queries per class,
	16 rows an episode (16 -> 1, 64 -> 4, 256 -> 16, 1024 -> 64 episodes);
	the C benchmark uses the same layout."""
	ways, shots, queries = (20, 1, 5) if dflt else (4, 2, 2)
	per = ways * (shots + queries)
	if batch % per:
		raise SystemExit("batch must be a multiple of %d" % per)
	return batch // per, ways, shots, queries


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("mode", choices=["train", "infer", "gemm"])
	ap.add_argument("--dim", type=int, default=512)
	ap.add_argument("--batch", type=int, default=16)
	ap.add_argument("--batches", default="1,16,256,4096")
	ap.add_argument("--threads", type=int, default=1)
	ap.add_argument("--warmup", type=int, default=3)
	ap.add_argument("--reps", type=int, default=5)
	ap.add_argument("--min-time", type=float, default=0.2)
	ap.add_argument("--dropout", type=float, default=0.2)
	ap.add_argument("--foreach", choices=["default", "on", "off"], default="default")
	ap.add_argument("--split-t", action="store_true",
			help="split T's first product as libfden does (f_ide and f_sty blocks)")
	ap.add_argument("--seed", type=int, default=1)
	ap.add_argument("--preset", choices=["paper", "default"], default="paper")
	ap.add_argument("--flow-layers", type=int, default=12,
			help="couplings of the default preset's flow (run.py passes libfden's)")
	a = ap.parse_args()

	torch.set_num_threads(a.threads)
	torch.manual_seed(a.seed)
	base_rss = rss_kb()
	common = {"side": "torch", "threads": a.threads, "torch": torch.__version__,
		  "base_rss_kb": base_rss, "preset": a.preset, "flow_layers": a.flow_layers,
		  "blis_arch": os.environ.get("BLIS_ARCH_TYPE", "")}

	if a.mode == "gemm":
		shapes = [(2048, 2048, 2048), (1024, 512, 512), (1024, 1024, 512),
			  (16, 512, 1024), (4096, 512, 512)]
		for (m_, n_, k_) in shapes:
			A = torch.randn(m_, k_)
			B = torch.randn(k_, n_)
			C = torch.empty(m_, n_)
			ts, k = timeit(lambda: torch.mm(A, B, out=C), a.warmup, a.reps, a.min_time)
			r = dict(common, mode="gemm", m=m_, n=n_, k=k_, calls=k, **summary(ts))
			r["gflops"] = 2.0 * m_ * n_ * k_ / r["median"] / 1e9
			print(json.dumps(r), flush=True)
		return

	dflt = a.preset == "default"
	model = FlowFDEN(a.dim, layers=a.flow_layers) if dflt else FDEN(a.dim, drop=a.dropout)
	if a.mode == "train":
		foreach = {"default": None, "on": True, "off": False}[a.foreach]
		n_ep, ways, shots, queries = layout(a.batch, dflt)
		if dflt:
			tr = DefaultTrainer(model, n_ep, ways, shots, queries, foreach=foreach)
		else:
			tr = Trainer(model, n_ep, ways, shots, queries, foreach=foreach, split_t=a.split_t)
		z = make_batch(n_ep, ways, shots, queries, a.dim, a.seed)
		model.train()
		ts, k = timeit(lambda: tr.step(z), a.warmup, a.reps, a.min_time)
		r = dict(common, mode="train", dim=a.dim, batch=a.batch, episodes=n_ep, ways=ways,
			 shots=shots, queries=queries, calls=k, **summary(ts))
		r["peak_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
		print(json.dumps(r), flush=True)
		return

	model.eval()
	for b in [int(x) for x in a.batches.split(",")]:
		z = torch.randn(b, a.dim)
		with torch.no_grad():
			fi, fs = model.disentangle(z)
			ts, k = timeit(lambda: model.disentangle(z), a.warmup, a.reps, a.min_time)
			r = dict(common, mode="disentangle", dim=a.dim, batch=b, calls=k, **summary(ts))
			print(json.dumps(r), flush=True)
			ts, k = timeit(lambda: model.entangle(fi, fs), a.warmup, a.reps, a.min_time)
			r = dict(common, mode="entangle", dim=a.dim, batch=b, calls=k, **summary(ts))
			print(json.dumps(r), flush=True)
	print(json.dumps(dict(common, mode="infer_mem", dim=a.dim,
			      peak_rss_kb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)), flush=True)


if __name__ == "__main__":
	sys.exit(main())
