#!/usr/bin/python3
"""Regenerate the seed corpora in fuzz/corpus/{ckpt,idx,npy}: small valid
files plus a few broken ones. Deterministic; needs only numpy and zlib."""
import gzip
import io
import os
import struct
import sys
import zlib

import numpy as np

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(kind, name, data):
    d = os.path.join(root, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- checkpoints: header + zlib({u16 nlen, name, u8 type, u64 nbytes, bytes}) ---
def rec(name, typ, payload):
    n = name.encode()
    return struct.pack("<H", len(n)) + n + struct.pack("<BQ", typ, len(payload)) + payload


def ckpt(payload, version=1, kind=1, crc=None):
    z = zlib.compress(payload, 6)
    c = zlib.crc32(payload) if crc is None else crc
    return b"FDENCKPT" + struct.pack("<IIQQI", version, kind, len(payload), len(z), c) + z


f32 = np.arange(12, dtype="<f4").tobytes()
good = (rec("dis.w0", 1, f32) + rec("step", 3, struct.pack("<Q", 42)) +
        rec("labels", 2, np.arange(4, dtype="<i4").tobytes()) +
        rec("lr", 4, struct.pack("<d", 1e-4)) + rec("cfg", 5, b"dim=8"))
put("ckpt", "valid_model", ckpt(good))
put("ckpt", "valid_pca", ckpt(rec("mean", 1, f32), kind=2))
put("ckpt", "valid_empty", ckpt(b""))
put("ckpt", "bad_crc", ckpt(good, crc=1))
put("ckpt", "future_version", ckpt(good, version=9))
put("ckpt", "truncated", ckpt(good)[:50])
put("ckpt", "duplicate", ckpt(rec("a", 5, b"x") + rec("a", 5, b"y")))
put("ckpt", "bad_count", ckpt(rec("a", 1, b"123456")))
# raw payloads: the harness also wraps each input in a valid container
put("ckpt", "payload_model", good)
put("ckpt", "payload_dup", rec("a", 5, b"x") + rec("a", 5, b"y"))


# --- IDX: {0, 0, type, ndim}, big-endian u32 dims, big-endian values ---
def idx(arr, code):
    a = np.asarray(arr)
    dt = {8: ">u1", 9: ">i1", 11: ">i2", 12: ">i4", 13: ">f4", 14: ">f8"}[code]
    return bytes([0, 0, code, a.ndim]) + struct.pack(">%dI" % a.ndim, *a.shape) + \
        a.astype(dt).tobytes()


img = (np.arange(2 * 3 * 4) * 11 % 256).reshape(2, 3, 4)
for code in (8, 9, 11, 12, 13, 14):
    put("idx", "images_%02x" % code, idx(img if code in (8, 11, 12) else img - 100, code))
put("idx", "labels_u8", idx(np.array([0, 3, 9, 1]), 8))
put("idx", "labels_i32", idx(np.array([7, 70000, 1]), 12))
put("idx", "images_gz", gzip.compress(idx(img, 8), mtime=0))
put("idx", "labels_gz", gzip.compress(idx(np.array([1, 2]), 11), mtime=0))
put("idx", "truncated", idx(img, 8)[:-5])
put("idx", "bad_type", bytes([0, 0, 10, 1, 0, 0, 0, 1, 5]))


# --- NPY via numpy itself ---
def npy(arr, version=None):
    b = io.BytesIO()
    if version:
        np.lib.format.write_array(b, arr, version=version)
    else:
        np.save(b, arr)
    return b.getvalue()


x = np.arange(6, dtype="<f4").reshape(3, 2) - 2.5
put("npy", "f4", npy(x))
put("npy", "f8", npy(x.astype("<f8")))
put("npy", "f4_3d", npy(np.arange(8, dtype="<f4").reshape(2, 2, 2)))
put("npy", "v2", npy(x, version=(2, 0)))
for t in ("i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"):
    put("npy", "y_" + t, npy(np.array([0, 2, 1, 5], dtype="<" + t)))
put("npy", "fortran", npy(np.asfortranarray(x)))
put("npy", "bigendian", npy(x.astype(">f4")))
put("npy", "truncated", npy(x)[:-3])

# --- invnet: small saved networks of every built-in kind, fitted by the
# library itself (skipped when the Python binding cannot load libfden) ---
def invnet_seeds():
    sys.path.insert(0, os.path.join(os.path.dirname(root), "..", "examples", "python"))
    try:
        from fden.invnet import InvNet
    except ImportError as exc:
        print("gen_corpus.py: no invnet seeds (%s)" % exc, file=sys.stderr)
        return
    import tempfile
    rng = np.random.default_rng(3)
    x = rng.random((32, 16), dtype=np.float32)
    nets = {
        "pca": InvNet.fit_pca(x, 3, seed=1),
        "ae": InvNet.fit_autoencoder(x, 2, hidden=4, epochs=1, batch=8, seed=1),
        "conv": InvNet.fit_conv(x, 2, base_channels=2, levels=1, epochs=1, batch=8, seed=1),
        "conv_6x10x2": InvNet.fit_conv(rng.random((8, 120), dtype=np.float32), 3,
                                       shape=(6, 10, 2), base_channels=2, levels=2,
                                       epochs=1, batch=4, seed=1, loss="bce"),
    }
    with tempfile.TemporaryDirectory() as d:
        for name, net in nets.items():
            path = os.path.join(d, name)
            net.save(path)
            with open(path, "rb") as f:
                blob = f.read()
            put("invnet", "valid_" + name, blob)
            # the payload alone, for the harness's wrapping mode (first byte: kind)
            put("invnet", "payload_" + name,
                bytes([{"pca": 0, "ae": 1}.get(name, 2)]) + zlib.decompress(blob[36:]))
    put("invnet", "truncated_conv", open(os.path.join(root, "invnet", "valid_conv"), "rb").read()[:80])


invnet_seeds()
sys.exit(0)
