#!/usr/bin/env python3
"""The hosts' full table (issue 13): for each built-in host, fit it on the
training classes only (the same fit time for ae, conv and ali; pca takes
what it takes), train the default FDEN on its latents for a fixed time,
then `fden eval` on the unseen classes. One row per host:

  fit time, host PSNR on unseen classes (decode(encode(x)) against x, 2000
  rows), raw-z few-shot (5-way 1-shot, 20-way 1-shot, nearest class mean),
  f_ide few-shot, the outside pixel judge on swaps decode(E(f_ide A,
  f_sty B)) (A vs B), and the host's ceiling (the judge on decode(z_A)).

  bench/host_fden.py --data glyphs|fashion [--hosts pca,ae,conv,ali]
                     [--fit 180] [--minutes 3] [--threads 1] [--out DIR]

Hosts are fitted through the Python binding (examples/python; the MLP
autoencoder has no time budget, so its epochs are sized from a timed epoch
on 4,096 rows), saved, then `fden train` and `fden eval` (the C tool,
FDEN_BUILD_DIR/examples/fden/fden) use the saved file. ALI is fitted with
the L2 reconstruction term (--ali-l2, the FDEN paper's Appendix B.2).
Prints one JSON line per host and a markdown table; every file stays in
--out."""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "examples", "python"))
from fden.invnet import InvNet  # noqa: E402
import host_table  # noqa: E402

FM = "/usr/share/datasets/fashion-mnist"
GLYPHS = "/work/main/data/glyphs"


def data_args(which, train):
    """The fden tool's data options: training rows (fit, train) or test rows (eval)."""
    if which == "glyphs":
        if train:
            return ["--train-images", GLYPHS + "/train-images-idx3-ubyte.gz",
                    "--train-labels", GLYPHS + "/train-labels-idx1-ubyte.gz"]
        return ["--train-images", GLYPHS + "/train-images-idx3-ubyte.gz",
                "--train-labels", GLYPHS + "/train-labels-idx1-ubyte.gz",
                "--test-images", GLYPHS + "/test-images-idx3-ubyte.gz",
                "--test-labels", GLYPHS + "/test-labels-idx1-ubyte.gz"]
    # Fashion-MNIST: classes 0-4 train, 5-9 unseen; fit and train on the
    # training file's rows of 0-4, evaluate on the test file's 5-9
    f = "train" if train else "t10k"
    return ["--images", "%s/%s-images-idx3-ubyte.gz" % (FM, f),
            "--labels", "%s/%s-labels-idx1-ubyte.gz" % (FM, f), "--split", "5"]


def fit_host(kind, x, a, logpath):
    logf = open(logpath, "w")

    def log(level, msg):
        logf.write(msg + "\n")
        logf.flush()

    t0 = time.time()
    c0 = time.process_time()
    if kind == "pca":
        net = InvNet.fit_pca(x, a.latent, seed=1)
    elif kind == "ae":
        ep = host_table.ae_epochs(x, a.latent, a.threads, a.fit)
        t0 = time.time()
        net = InvNet.fit_autoencoder(x, a.latent, epochs=ep, threads=a.threads, log=log)
    elif kind == "conv":
        net = InvNet.fit_conv(x, a.latent, epochs=10000, threads=a.threads, time_budget=a.fit,
                             log=log)
    elif kind == "ali":
        net = InvNet.fit_ali(x, a.latent, l2_weight=a.ali_l2, lr=a.ali_lr, epochs=10000,
                             threads=a.threads, time_budget=a.fit, log_steps=10, log=log)
    else:
        raise SystemExit("unknown host %r" % kind)
    logf.close()
    return net, time.time() - t0, time.process_time() - c0


def run(cmd, log):
    with open(log, "w") as f:
        subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="glyphs", choices=("glyphs", "fashion"))
    ap.add_argument("--hosts", default="pca,ae,conv,ali")
    ap.add_argument("--fit", type=float, default=180, help="host fit seconds (ae, conv, ali)")
    ap.add_argument("--minutes", type=float, default=3, help="FDEN training minutes")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--latent", type=int, default=64)
    ap.add_argument("--ali-l2", type=float, default=1.0)
    ap.add_argument("--ali-lr", type=float, default=None, help="default: the library's (1e-4)")
    ap.add_argument("--out", default="out/host-fden")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    fden = os.path.join(os.environ.get("FDEN_BUILD_DIR", "build"), "examples", "fden", "fden")
    xtr, ytr, _, _ = host_table.load(a.data)
    rows = []
    for kind in a.hosts.split(","):
        tag = os.path.join(a.out, "%s-%s" % (a.data, kind))
        load0 = os.getloadavg()[0]
        net, secs, cpu = fit_host(kind, xtr, a, tag + "-fit.log")
        net.save(tag + ".net")
        net.close()
        run([fden, "train", "--net", tag + ".net", "--out", tag + ".model", "--minutes",
             str(a.minutes), "--threads", str(a.threads), "--json", tag + "-train.json"] +
            data_args(a.data, True), tag + "-train.log")
        run([fden, "eval", "--model", tag + ".model", "--net", tag + ".net", "--json",
             tag + "-eval.json", "--tasks", "5x1,20x1"] + data_args(a.data, False),
            tag + "-eval.log")
        ev = json.load(open(tag + "-eval.json"))
        tr = json.load(open(tag + "-train.json"))
        r = {"data": a.data, "host": kind, "fit_s": round(secs, 1), "fit_cpu_s": round(cpu, 1),
             "load_at_fit": round(load0, 1), "fden_steps": ev["steps"],
             "fden_minutes": a.minutes, "psnr_unseen": round(ev["psnr_host_vs_input"], 2),
             "judge": round(ev["swap_judge"]["a_vs_b"], 1),
             "ceiling": round(ev["swap_judge"]["host_a_vs_b"], 1), "train": tr}
        for t in ev["tasks"]:
            if not t["done"]:
                continue
            k = "%dw%ds" % (t["ways"], t["shots"])
            acc = t["accuracy"]
            r["rawz_" + k] = [round(acc["z_proto"]["mean"], 1), round(acc["z_proto"]["ci95"], 1)]
            r["fide_" + k] = [round(acc["f_ide"]["mean"], 1), round(acc["f_ide"]["ci95"], 1)]
        r.pop("train")
        rows.append(r)
        print(json.dumps(r), flush=True)
    print("\n| data | host | fit (s) | PSNR unseen (dB) | raw z 5w1s | raw z 20w1s | "
          "f_ide 5w1s | f_ide 20w1s | judge (swaps) | ceiling (decode z_A) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        f = lambda k: "%.1f ± %.1f" % tuple(r[k]) if k in r else "—"  # noqa: E731
        print("| %s | %s | %.0f | %.1f | %s | %s | %s | %s | %.1f | %.1f |" % (
            r["data"], r["host"], r["fit_s"], r["psnr_unseen"], f("rawz_5w1s"),
            f("rawz_20w1s"), f("fide_5w1s"), f("fide_20w1s"), r["judge"], r["ceiling"]))


if __name__ == "__main__":
    main()
