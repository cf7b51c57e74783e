#!/usr/bin/python3
"""Run libfden's benchmark and its PyTorch peer side by side; print one table.

  bench/run.py --build build-release [--quick] [--json out.json]

Every configuration runs in a fresh child process (peak RSS is the child's
own ru_maxrss). The C side gets its thread count through the library's API
only (FDEN_P_THREADS; BLIS_NUM_THREADS / OMP_NUM_THREADS are removed from its
environment); the torch side gets torch.set_num_threads and, because Debian's
torch reaches BLIS through libblas.so.3 and BLIS reads the environment,
BLIS_NUM_THREADS = OMP_NUM_THREADS = threads.

--presets paper,default picks the tables: paper (FDEN_PRESET_PAPER, the
earlier issue's rows) and default (FDEN_PRESET_DEFAULT, what `fden train`
runs: flow disentangler, density term, cross-correlation, statistician,
prototypical head; --default-dims, --default-rows). --blis-archs names the
BLIS kernel families whose sgemm is measured (each in its own child with
BLIS_ARCH_TYPE set; families the CPU lacks are skipped): the %best columns
divide by the best of them. The torch children get BLIS_ARCH_TYPE of the
family libfden runs (--torch-arch), so both sides multiply with the same
kernels (Debian's torch reaches BLIS through libblas.so.3).

Ratios are libfden / PyTorch throughput (> 1: libfden faster) and libfden /
PyTorch peak memory (< 1: libfden smaller).
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"


ARCH_IDS = {"skx": 0, "haswell": 3, "zen3": 6, "zen2": 7, "zen": 8}
# what each family's kernels need (cpuid flags, /proc/cpuinfo names)
ARCH_NEEDS = {"skx": ("avx512f", "avx512dq", "avx512bw", "avx512vl", "fma"),
	      "haswell": ("avx2", "fma"), "zen3": ("avx2", "fma"), "zen2": ("avx2", "fma"),
	      "zen": ("avx2", "fma")}
CHILD_ENV = {}


def cpu_flags():
	try:
		with open("/proc/cpuinfo") as f:
			for line in f:
				if line.startswith("flags"):
					return set(line.split(":", 1)[1].split())
	except OSError:
		pass
	return set()


def run_child(cmd, threads, torch_side, extra_env=None):
	env = dict(os.environ)
	env.update(CHILD_ENV)
	if extra_env:
		env.update(extra_env)
	for k in ("BLIS_NUM_THREADS", "OMP_NUM_THREADS", "GOMP_CPU_AFFINITY", "OMP_PROC_BIND"):
		env.pop(k, None)
	if torch_side:
		env["BLIS_NUM_THREADS"] = str(threads)
		env["OMP_NUM_THREADS"] = str(threads)
	p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
			   universal_newlines=True)
	out = []
	for line in p.stdout.splitlines():
		line = line.strip()
		if line.startswith("{"):
			out.append(json.loads(line))
	if p.returncode != 0:
		sys.stderr.write("failed (%d): %s\n%s\n" % (p.returncode, " ".join(cmd), p.stderr[-2000:]))
	return out


def fmt_t(sec):
	if sec is None:
		return "-"
	if sec < 1e-3:
		return "%.1fus" % (sec * 1e6)
	if sec < 1:
		return "%.2fms" % (sec * 1e3)
	return "%.3fs" % sec


def ratio(a, b):
	if a is None or b is None or b == 0:
		return None
	return a / b


def refk(K):
	return "ref_gflops" if K == "median" else "ref_gflops_cpu"


def fr(x, nd=2):
	return "-" if x is None else ("%.*f" % (nd, x))


def default_flow_layers(build):
	"""libfden's default flow_layers (fden train --list-keys), so that the
	PyTorch peer of the default preset runs as many couplings."""
	out = subprocess.run([os.path.join(build, "examples", "fden", "fden"), "train", "--list-keys"],
			     capture_output=True, text=True, check=True).stdout
	for line in out.splitlines():
		f = line.split()
		if f and f[0] == "flow_layers":
			return int(float(f[1]))
	raise SystemExit("run.py: no flow_layers in fden train --list-keys")


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--build", default=os.path.join(os.path.dirname(HERE), "build-release"))
	ap.add_argument("--quick", action="store_true", help="fewer configurations and reps")
	ap.add_argument("--json", default=None, help="also write every raw record here")
	ap.add_argument("--dims", default="256,512")
	ap.add_argument("--threads", default="1,2")
	ap.add_argument("--batches", default="16,64,256,1024")
	ap.add_argument("--infer-batches", default="1,16,256,4096")
	ap.add_argument("--no-torch", action="store_true")
	ap.add_argument("--presets", default="paper,default")
	ap.add_argument("--default-dims", default="64,512")
	ap.add_argument("--default-rows", default="480,1920")
	ap.add_argument("--blis-archs", default="zen3,skx,haswell",
			help="kernel families whose sgemm peak is measured (BLIS_ARCH_TYPE per child)")
	ap.add_argument("--torch-arch", default="same",
			help="BLIS_ARCH_TYPE for the torch children: same (libfden's family), "
			     "blis (BLIS's own detection), or a family name")
	ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
			help="time behind ratios, GFLOP/s and targets: wall (default) or process CPU "
			     "time (steadier on a loaded machine; counts both threads' time at 2 threads)")
	a = ap.parse_args()
	K = "median" if a.clock == "wall" else "cpu"
	load0 = os.getloadavg()

	exe = os.path.join(a.build, "bench", "bench_fden")
	peer = os.path.join(HERE, "torch_peer.py")
	dims = [int(x) for x in a.dims.split(",")] if "paper" in a.presets.split(",") else []
	threads = [int(x) for x in a.threads.split(",")]
	batches = [int(x) for x in a.batches.split(",")]
	presets = a.presets.split(",")
	flow_layers = default_flow_layers(a.build) if "default" in presets else None
	ddims = [int(x) for x in a.default_dims.split(",")]
	drows = [int(x) for x in a.default_rows.split(",")]
	flags = cpu_flags()
	reps_small, reps_large = (3, 3) if a.quick else (5, 3)
	mt = "0.1" if a.quick else "0.2"
	records = []
	t_start = time.time()

	def prog(msg):
		sys.stderr.write("[%5.0fs] %s\n" % (time.time() - t_start, msg))
		sys.stderr.flush()

	# 0. the kernel family libfden runs (its own selection, FDEN_BLIS_ARCH)
	fam = run_child([exe, "arch"], 1, False)
	lib_arch = fam[0]["arch"] if fam else "?"
	if a.torch_arch == "same":
		tarch = lib_arch
	elif a.torch_arch == "blis":
		tarch = None
	else:
		tarch = a.torch_arch
	if tarch in ARCH_IDS:
		CHILD_ENV_T = {"BLIS_ARCH_TYPE": str(ARCH_IDS[tarch])}
	else:
		CHILD_ENV_T = {}
	records.extend(fam)

	# 1. BLIS sgemm rates per kernel family (and torch.mm on the same shapes' subset)
	blis = {}
	tmm = {}
	fams = [x for x in a.blis_archs.split(",") if x in ARCH_IDS and all(f in flags for f in ARCH_NEEDS[x])]
	best = {}
	for t in threads:
		for fa in fams:
			prog("BLIS sgemm (%s kernels), %d thread(s)" % (fa, t))
			for r in run_child([exe, "gemm", "--threads", str(t), "--reps", "5", "--min-time", mt], t, False,
					   {"BLIS_ARCH_TYPE": str(ARCH_IDS[fa]), "FDEN_BLIS_ARCH": "blis"}):
				records.append(r)
				gf = 2.0 * r["m"] * r["n"] * r["k"] / r[K] * 1e-9
				kk = (t, r["m"], r["n"], r["k"], r["ta"], r["tb"])
				best[(t, fa)] = max(best.get((t, fa), 0), gf)
				if fa == lib_arch or (lib_arch not in fams and fa == fams[0]):
					blis[kk] = r
		if not a.no_torch:
			for r in run_child([PY, peer, "gemm", "--threads", str(t), "--reps", "5", "--min-time", mt], t, True,
					   CHILD_ENV_T):
				records.append(r)
				tmm[(t, r["m"], r["n"], r["k"])] = r
	for r in blis.values():
		r["gf"] = 2.0 * r["m"] * r["n"] * r["k"] / r[K] * 1e-9
	peak = {t: max([r["gf"] for k, r in blis.items() if k[0] == t] or [0]) for t in threads}
	bestpk = {t: max([v for k, v in best.items() if k[0] == t] or [0]) for t in threads}
	bestfam = {t: max([(v, k[1]) for k, v in best.items() if k[0] == t] or [(0, "-")])[1] for t in threads}
	# %best: the figure over its child's own sgemm 1024^3 reference (libfden's
	# family, timed right after it, so load slows both alike) times how much
	# faster the best family's best shape ran than libfden's family's, back to back
	bestratio = {t: (bestpk[t] / best[(t, lib_arch)]) if best.get((t, lib_arch)) else 1.0 for t in threads}

	def pbest(gf, f, t):
		return gf and f[refk(K)] and 100 * gf / (f[refk(K)] * max(1.0, bestratio[t]))

	# 2. training steps
	train = {}
	for d in (dims if "paper" in presets else []):
		for t in threads:
			for b in batches:
				reps = reps_large if b >= 1024 else reps_small
				warm = "1" if b >= 1024 else "3"
				args = ["--dim", str(d), "--batch", str(b), "--threads", str(t), "--reps", str(reps),
					"--warmup", warm, "--min-time", mt]
				prog("train dim %d threads %d batch %d" % (d, t, b))
				for r in run_child([exe, "train"] + args, t, False):
					records.append(r)
					train[("fden", d, t, b)] = r
				if not a.no_torch:
					for r in run_child([PY, peer, "train"] + args, t, True, CHILD_ENV_T):
						records.append(r)
						train[("torch", d, t, b)] = r
	dtrain = {}
	for d in (ddims if "default" in presets else []):
		for t in threads:
			for b in drows:
				args = ["--preset", "default", "--dim", str(d), "--batch", str(b), "--threads", str(t),
					"--reps", str(reps_small), "--warmup", "2", "--min-time", mt]
				prog("default train dim %d threads %d rows %d" % (d, t, b))
				for r in run_child([exe, "train"] + args, t, False):
					records.append(r)
					dtrain[("fden", d, t, b)] = r
				if not a.no_torch:
					for r in run_child([PY, peer, "train", "--flow-layers", str(flow_layers)] + args,
							   t, True, CHILD_ENV_T):
						records.append(r)
						dtrain[("torch", d, t, b)] = r

	# 3. inference
	infer = {}
	dinfer = {}
	todo = [("paper", d, infer) for d in (dims if "paper" in presets else [])]
	todo += [("default", d, dinfer) for d in (ddims if "default" in presets else [])]
	for pr, d, tab in todo:
		for t in threads:
			args = ["--preset", pr, "--dim", str(d), "--threads", str(t), "--batches", a.infer_batches,
				"--reps", str(reps_small), "--min-time", mt]
			prog("%s inference dim %d threads %d" % (pr, d, t))
			sides = [("fden", [exe, "infer"] + args, False)]
			if not a.no_torch:
				fl = ["--flow-layers", str(flow_layers)] if pr == "default" else []
				sides.append(("torch", [PY, peer, "infer"] + fl + args, True))
			for side, cmd, ts in sides:
				for r in run_child(cmd, t, ts, CHILD_ENV_T if ts else None):
					records.append(r)
					tab[(side, r["mode"], d, t, r.get("batch"))] = r
	prog("done")
	load1 = os.getloadavg()

	if a.json:
		with open(a.json, "w") as f:
			json.dump(records, f, indent=1)

	ib = [int(x) for x in a.infer_batches.split(",")]

	# ---- the table ----
	P = print
	arch = next((r["arch"] for r in records if r.get("side") == "blis"), "?")
	tver = next((r["torch"] for r in records if r.get("side") == "torch"), "-")
	P("libfden benchmark vs PyTorch %s and BLIS (libfden runs the %s kernels; PyTorch's BLIS: %s), %s, %d CPUs, %s" % (
		tver, lib_arch, tarch or "its own detection", platform.machine(), os.cpu_count(),
		time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())))
	P("load average (1 min) %.2f at the start, %.2f at the end; clock for ratios, GFLOP/s and targets: %s" % (
		load0[0], load1[0], "wall time" if a.clock == "wall" else "process CPU time"))
	P("times: median [min..max] wall time of the repetitions, each a block of calls after a warm-up;")
	P("ratio = libfden / PyTorch throughput (>1: libfden faster), cpu-r = the same from CPU time;")
	P("mem = libfden / PyTorch peak RSS (<1: libfden smaller)")
	P("")
	P("BLIS sgemm (C = A B, row-major; T = transposed operand), GFLOP/s at the median time")
	P("%-22s %4s %10s %28s %12s" % ("m x n x k", "thr", "GFLOP/s", "time [min..max]", "torch.mm"))
	for k in sorted(blis, key=lambda k: (k[0], -k[1] * k[2] * k[3])):
		r = blis[k]
		shape = "%dx%dx%d%s" % (k[1], k[2], k[3], ("" if not (k[4] or k[5]) else " " + ("T" if k[4] else "N") + ("T" if k[5] else "N")))
		tm = tmm.get((k[0], k[1], k[2], k[3])) if not (k[4] or k[5]) else None
		P("%-22s %4d %10.1f %28s %12s" % (shape, k[0], r["gf"], "%s [%s..%s]" % (fmt_t(r["median"]), fmt_t(r["min"]), fmt_t(r["max"])),
						    "-" if not tm else "%.1f" % (2.0 * tm["m"] * tm["n"] * tm["k"] / tm[K] * 1e-9)))
	P("best of these: " + ", ".join("%d thr %.1f GFLOP/s" % (t, peak[t]) for t in threads) +
	  "; the %ref columns below use sgemm 1024^3 timed in each child right after its figure")
	P("best sgemm of every kernel family measured (%s): " % ",".join(fams) + "; ".join(
		"%d thr " % t + ", ".join("%s %.1f" % (fa, best.get((t, fa), 0)) for fa in fams) for t in threads) +
	  " GFLOP/s (best of the shapes above); %best columns divide by the best family's")
	P("")
	P("Training step (FDEN_PRESET_PAPER, dropout 0.2, prototypical head; 4-way 2-shot 2-query episodes, 16 rows each)")
	P("%4s %3s %5s %9s | %-26s %9s | %-26s | %6s %6s | %8s %6s | %8s %8s %5s" % (
		"dim", "thr", "batch", "GFLOP", "libfden steps/s [min..max]", "latents/s",
		"PyTorch steps/s [min..max]", "ratio", "cpu-r", "GFLOP/s", "%ref", "RSS MB", "torch MB", "mem"))
	for d in dims:
		for t in threads:
			for b in batches:
				f = train.get(("fden", d, t, b))
				q = train.get(("torch", d, t, b))
				fs = "%.1f [%.1f..%.1f]" % (1 / f["median"], 1 / f["max"], 1 / f["min"]) if f else "-"
				qs = "%.1f [%.1f..%.1f]" % (1 / q["median"], 1 / q["max"], 1 / q["min"]) if q else "-"
				gf = f["flops"] / f[K] * 1e-9 if f else None
				P("%4d %3d %5d %9.2f | %-26s %9s | %-26s | %6s %6s | %8s %6s | %8s %8s %5s" % (
					d, t, b, (f["flops"] * 1e-9 if f else 0), fs, "%.0f" % (b / f["median"]) if f else "-", qs,
					fr(ratio(q and q["median"], f and f["median"])), fr(ratio(q and q["cpu"], f and f["cpu"])), fr(gf, 1),
					fr(gf and 100 * gf / f[refk(K)], 1), "%.0f" % (f["peak_rss_kb"] / 1024) if f else "-",
					"%.0f" % (q["peak_rss_kb"] / 1024) if q else "-",
					fr(ratio(f and f["peak_rss_kb"], q and q["peak_rss_kb"]))))
	P("(%ref: libfden GFLOP/s over BLIS sgemm 1024^3 timed in the same process right after the figure, same threads)")
	P("(GFLOP: products only, counted analytically as libfden runs them: D forward + 2 backward passes (g_u and")
	P(" g_m apart, for the clipping), the statistician on 2n rows (joint + shuffled) with its first product split")
	P(" into f_ide and f_sty blocks of n rows (half that layer; PyTorch runs the 2n-row product), E forward +")
	P(" backward; 2*rows*in*out each)")
	base_t = next((r["base_rss_kb"] for r in records if r.get("side") == "torch" and "base_rss_kb" in r), None)
	base_f = next((r["base_rss_kb"] for r in records if r.get("side") == "fden" and "base_rss_kb" in r), None)
	P("RSS before the model is made: libfden process %s MB, PyTorch process (after import torch) %s MB" % (
		"%.0f" % (base_f / 1024) if base_f else "-", "%.0f" % (base_t / 1024) if base_t else "-"))
	P("")
	P("Inference (evaluation mode): latency per call and rows/s")
	P("%-11s %4s %3s %5s | %-30s %11s | %-30s | %6s %6s | %8s %6s" % (
		"op", "dim", "thr", "batch", "libfden latency [min..max]", "rows/s", "PyTorch latency [min..max]", "ratio", "cpu-r",
		"GFLOP/s", "%ref"))
	for op in ("disentangle", "entangle"):
		for d in dims:
			for t in threads:
				for b in ib:
					f = infer.get(("fden", op, d, t, b))
					q = infer.get(("torch", op, d, t, b))
					gf = f["flops"] / f[K] * 1e-9 if f else None
					P("%-11s %4d %3d %5d | %-30s %11s | %-30s | %6s %6s | %8s %6s" % (
						op, d, t, b,
						"%s [%s..%s]" % (fmt_t(f["median"]), fmt_t(f["min"]), fmt_t(f["max"])) if f else "-",
						"%.0f" % (b / f["median"]) if f else "-",
						"%s [%s..%s]" % (fmt_t(q["median"]), fmt_t(q["min"]), fmt_t(q["max"])) if q else "-",
						fr(ratio(q and q["median"], f and f["median"])), fr(ratio(q and q["cpu"], f and f["cpu"])),
						fr(gf, 1), fr(gf and 100 * gf / f[refk(K)], 1)))
	for d in dims:
		for t in threads:
			f = infer.get(("fden", "infer_mem", d, t, None))
			q = infer.get(("torch", "infer_mem", d, t, None))
			if f or q:
				P("inference process peak RSS dim %d thr %d: libfden %s MB, PyTorch %s MB" % (
					d, t, "%.0f" % (f["peak_rss_kb"] / 1024) if f else "-", "%.0f" % (q["peak_rss_kb"] / 1024) if q else "-"))
	P("")
	if dtrain or dinfer:
		P("Default configuration (FDEN_PRESET_DEFAULT: flow D of %d couplings 256 wide, E = its inverse, density term," % flow_layers)
		P("cross-correlation 10, statistician 1024-256-64, prototypical head, no dropout, Adam 1e-3);")
		P("training episodes 20-way 1-shot 5-query (120 rows: 480 rows = 4 episodes)")
		P("%4s %3s %5s %7s | %-24s | %-24s | %6s %6s | %7s %6s %6s | %6s %8s" % (
			"dim", "thr", "rows", "GFLOP", "libfden steps/s", "PyTorch steps/s", "ratio", "cpu-r",
			"GFLOP/s", "%ref", "%best", "RSS MB", "torch MB"))
		for d in ddims:
			for t in threads:
				for b in drows:
					f = dtrain.get(("fden", d, t, b))
					q = dtrain.get(("torch", d, t, b))
					gf = f["flops"] / f[K] * 1e-9 if f else None
					P("%4d %3d %5d %7.2f | %-24s | %-24s | %6s %6s | %7s %6s %6s | %6s %8s" % (
						d, t, b, f["flops"] * 1e-9 if f else 0,
						"%.2f [%.2f..%.2f]" % (1 / f["median"], 1 / f["max"], 1 / f["min"]) if f else "-",
						"%.2f [%.2f..%.2f]" % (1 / q["median"], 1 / q["max"], 1 / q["min"]) if q else "-",
						fr(ratio(q and q["median"], f and f["median"])), fr(ratio(q and q["cpu"], f and f["cpu"])),
						fr(gf, 1), fr(gf and 100 * gf / f[refk(K)], 1),
						fr(pbest(gf, f, t), 1),
						"%.0f" % (f["peak_rss_kb"] / 1024) if f else "-",
						"%.0f" % (q["peak_rss_kb"] / 1024) if q else "-"))
		P("(GFLOP as libfden runs them: per coupling the net d1 -> 256 -> 256 -> 2 d2 forward once and backward")
		P(" twice (dW and dX each), the statistician on 2n rows with its first product split, the cross-correlation")
		P(" products; %%best: over the child's sgemm 1024^3 reference times best family / libfden's family,")
		P(" measured back to back above: %s)" % (
			", ".join("%d thr %.2f (%s)" % (t, bestratio[t], bestfam[t]) for t in threads)))
		P("")
		P("%-11s %4s %3s %5s | %-28s | %-28s | %6s %6s | %7s %6s %6s" % (
			"op", "dim", "thr", "batch", "libfden latency [min..max]", "PyTorch latency [min..max]",
			"ratio", "cpu-r", "GFLOP/s", "%ref", "%best"))
		for op in ("disentangle", "entangle"):
			for d in ddims:
				for t in threads:
					for b in ib:
						f = dinfer.get(("fden", op, d, t, b))
						q = dinfer.get(("torch", op, d, t, b))
						gf = f["flops"] / f[K] * 1e-9 if f else None
						P("%-11s %4d %3d %5d | %-28s | %-28s | %6s %6s | %7s %6s %6s" % (
							op, d, t, b,
							"%s [%s..%s]" % (fmt_t(f["median"]), fmt_t(f["min"]), fmt_t(f["max"])) if f else "-",
							"%s [%s..%s]" % (fmt_t(q["median"]), fmt_t(q["min"]), fmt_t(q["max"])) if q else "-",
							fr(ratio(q and q["median"], f and f["median"])), fr(ratio(q and q["cpu"], f and f["cpu"])),
							fr(gf, 1), fr(gf and 100 * gf / f[refk(K)], 1),
							fr(pbest(gf, f, t), 1)))
		P("")

	# ---- targets of issue 6 ----
	P("Targets (issue 6)")

	def verdict(ok):
		return "n/a   " if ok is None else ("MET   " if ok else "MISSED")

	f = train.get(("fden", 512, 1, 16))
	q = train.get(("torch", 512, 1, 16))
	r = ratio(q and q[K], f and f[K])
	P("%s train dim 512, 1 thr, batch 16: libfden/PyTorch steps/s = %s (target >= 2)" % (verdict(None if r is None else r >= 2), fr(r)))
	f = train.get(("fden", 512, 1, 1024))
	gf = f["flops"] / f[K] * 1e-9 if f else None
	fp = gf / f[refk(K)] if gf else None
	P("%s train dim 512, 1 thr, batch 1024: %s GFLOP/s = %s%% of BLIS sgemm %s (target >= 80%%)" % (
		verdict(None if fp is None else fp >= 0.8), fr(gf, 1), fr(fp and 100 * fp, 1), fr(f and f[refk(K)], 1)))
	for op in ("disentangle", "entangle"):
		for d in dims:
			for t in threads:
				f = infer.get(("fden", op, d, t, 1))
				q = infer.get(("torch", op, d, t, 1))
				r = ratio(f and f[K], q and q[K])
				P("%s %s dim %d, %d thr, batch 1: latency libfden/PyTorch = %s (target <= 0.5)" % (
					verdict(None if r is None else r <= 0.5), op, d, t, fr(r)))
	for op in ("disentangle", "entangle"):
		for d in dims:
			for t in threads:
				f = infer.get(("fden", op, d, t, 4096))
				gf = f["flops"] / f[K] * 1e-9 if f else None
				fp = gf / f[refk(K)] if gf else None
				P("%s %s dim %d, %d thr, batch 4096: %s GFLOP/s = %s%% of BLIS sgemm %s (target >= 90%%)" % (
					verdict(None if fp is None else fp >= 0.9), op, d, t, fr(gf, 1), fr(fp and 100 * fp, 1),
					fr(f and f[refk(K)], 1)))
	for t in threads:
		f = train.get(("fden", 512, t, 1024))
		q = train.get(("torch", 512, t, 1024))
		r = ratio(f and f["peak_rss_kb"], q and q["peak_rss_kb"])
		P("%s train dim 512, %d thr, batch 1024: peak RSS libfden/PyTorch = %s (target <= 0.33)" % (
			verdict(None if r is None else r <= 1 / 3), t, fr(r)))
	P("n/a    no allocation in a steady-state step / inference call: a test (tests/, counting allocator)")
	if dtrain or dinfer:
		P("")
		P("Targets (issue 16, default configuration)")
		for d in ddims:
			f = dtrain.get(("fden", d, 1, 480))
			q = dtrain.get(("torch", d, 1, 480))
			r = ratio(q and q[K], f and f[K])
			P("%s default train dim %d, 1 thr, 480 rows: libfden/PyTorch steps/s = %s (target >= 2)" % (
				verdict(None if r is None else r >= 2), d, fr(r)))
		for d in ddims:
			f1 = dtrain.get(("fden", d, 1, 1920))
			f2 = dtrain.get(("fden", d, 2, 1920))
			r = ratio(f1 and f1["median"], f2 and f2["median"])
			P("%s default train dim %d, 1920 rows: 2 threads / 1 thread steps/s = %s (target >= 1.6, idle machine)" % (
				verdict(None if r is None else r >= 1.6), d, fr(r)))
		for op in ("disentangle", "entangle"):
			for d in ddims:
				f = dinfer.get(("fden", op, d, 1, 4096))
				gf = f["flops"] / f[K] * 1e-9 if f else None
				goal = 0.85 if d >= 512 else 0.70
				fp = pbest(gf, f, 1) if f else None
				fp = fp / 100 if fp else None
				# the verdict from the paired ratio (bench_fden's paired_frac:
				# each timing next to an sgemm of its own length, the median
				# ratio), which a drifting machine moves less; the unpaired
				# figure beside it
				pp = f.get("paired_frac") if f else None
				pp = pp / max(1.0, bestratio[1]) if pp and K == "median" else None
				judged = pp if pp is not None else fp
				P("%s default %s dim %d, 1 thr, batch 4096: %s GFLOP/s = %s%% of the best sgemm%s (target >= %.0f%%)" % (
					verdict(None if judged is None else judged >= goal), op, d, fr(gf, 1),
					fr(judged and 100 * judged, 1),
					" paired in-process; unpaired %s%%" % fr(fp and 100 * fp, 1) if pp is not None else "",
					100 * goal))
				f = dinfer.get(("fden", op, d, 1, 1))
				q = dinfer.get(("torch", op, d, 1, 1))
				r = ratio(f and f[K], q and q[K])
				P("%s default %s dim %d, 1 thr, batch 1: latency libfden/PyTorch = %s (target <= 0.125)" % (
					verdict(None if r is None else r <= 0.125), op, d, fr(r)))
	return 0


if __name__ == "__main__":
	sys.exit(main())
