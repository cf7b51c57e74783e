#!/usr/bin/python3
"""Seeds that need a fitted network or a trained model, made by the `fden`
program itself (no numpy):
  fuzz/corpus/invnet/{valid,payload,truncated}_ali   an ALI host (kind 5)
  fuzz/corpus/model/{valid,payload}_{flow,mlp}, truncated_flow
                                                     FDEN models (kind 1)
valid_*: the file as saved; payload_*: its zlib payload alone (for the
harnesses' wrapping mode; fuzz_invnet's first byte picks the kind, 3: ALI);
truncated_*: the file cut short. Deterministic for a given libfden.
    fuzz/gen_host_seeds.py [PATH-TO-fden]   (default: build/examples/fden/fden)"""
import os
import random
import struct
import subprocess
import sys
import tempfile
import zlib

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, "corpus")
fden = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(here, "..", "build", "examples", "fden", "fden"))


def put(kind, name, data):
    d = os.path.join(root, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def npy(path, descr, shape, vals, fmt):
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    h += " " * (117 - len(h)) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode())
        f.write(struct.pack("<%d%s" % (len(vals), fmt), *vals))


def run(d, *args):
    subprocess.run([fden] + list(args) + ["--quiet"], cwd=d, check=True)
    with open(os.path.join(d, args[args.index("--out") + 1]), "rb") as f:
        return f.read()


# tiny networks: each payload stays under run.sh's -max_len=65536
SMALL = []
for k in ("dis_width", "ent_trunk_width", "ent_branch_width", "stat_width1", "stat_width2",
          "stat_width3", "flow_width"):
    SMALL += ["--set", k + "=4"]
for k in ("flow_layers=2", "dis_trunk_depth=1", "dis_head_depth=1", "ent_branch_depth=1",
          "ent_trunk_depth=1"):
    SMALL += ["--set", k]
SMALL += ["--ways", "2", "--shots", "1", "--queries", "1", "--episodes", "1", "--steps", "2"]

with tempfile.TemporaryDirectory() as d:
    r = random.Random(3)
    npy(os.path.join(d, "x.npy"), "<f4", "(8, 400)", [r.random() for _ in range(8 * 400)], "f")
    npy(os.path.join(d, "y.npy"), "<i4", "(8,)", [i % 4 for i in range(8)], "i")
    ali = run(d, "fit", "--kind", "ali", "--latent", "2", "--channels", "1", "--epochs", "1",
              "--batch", "4", "--seed", "1", "--train-images", "x.npy", "--train-labels",
              "y.npy", "--out", "ali.fden")
    put("invnet", "valid_ali", ali)
    put("invnet", "payload_ali", bytes([3]) + zlib.decompress(ali[36:]))
    put("invnet", "truncated_ali", ali[:120])

    npy(os.path.join(d, "z.npy"), "<f4", "(48, 4)",
        [r.random() + (i // 4) % 4 for i in range(48 * 4)], "f")
    npy(os.path.join(d, "zy.npy"), "<i4", "(48,)", [i % 4 for i in range(48)], "i")
    data = ["--train-images", "z.npy", "--train-labels", "zy.npy"]
    flow = run(d, "train", *data, *SMALL, "--out", "flow.fden")
    mlp = run(d, "train", *data, *SMALL, "--set", "disentangler=mlp", "--set", "align_head=1",
              "--set", "ema=0.9", "--no-standardize", "--out", "mlp.fden")
    for name, blob in (("flow", flow), ("mlp", mlp)):
        put("model", "valid_" + name, blob)
        put("model", "payload_" + name, zlib.decompress(blob[36:]))
    put("model", "truncated_flow", flow[:100])
