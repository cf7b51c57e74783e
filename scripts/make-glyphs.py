#!/usr/bin/python3
"""make-glyphs.py: an Omniglot-like few-shot data set of printed glyphs.

Debian 12 packages it needs (the demo list in scripts/install-deps.sh):
    python3-numpy python3-pil python3-fonttools
    fonts-dejavu-core fonts-dejavu-extra fonts-freefont-ttf fonts-liberation2
    fonts-noto-core

About 1,475 character classes from 38 "alphabets" (Unicode blocks: Latin,
IPA, Greek, Cyrillic, Armenian, Georgian, Hebrew, Arabic, Thaana, Devanagari,
Bengali, Gurmukhi, Gujarati, Tamil, Telugu, Kannada, Malayalam, Sinhala,
Thai, Lao, Khmer, Myanmar, Ethiopic, Cherokee, Canadian syllabics, Ogham,
Tifinagh, arrows, math operators, technical, geometric and misc symbols,
dingbats, ...; blocks with fewer than MIN_FACES faces drop out), 20 samples
per class, 28x28 grayscale, white ink on black, like MNIST.

Per class, the samples come from every installed face (font, weight, style)
that renders the code point: the face's cmap maps it and its rendering
differs from that face's .notdef glyph and is not empty. A code point is kept
only if at least MIN_FACES faces from at least two families render it, has no
Unicode decomposition (no accented copies of base letters) and does not look
like a class already kept (Latin A, Greek Alpha and Cyrillic A are one class).
Each sample gets seeded random stroke thickness (min/max filter), rotation
(+-15 deg), shear, scale and translation; glyphs are fitted into a 20x20 box
and centred by centre of mass in 28x28, as MNIST digits are.

Classes are split by a seeded class order: the first 75% for training, the
rest (never seen in training) for testing. Labels are global class indices:
train in [0, n_train), test in [n_train, n_classes), so fden_dataset_split()
with first_test = n_train separates them if both files are concatenated.
Output (IDX, gzip; labels as IDX int16 when there are more than 255 classes):
    train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz
    test-images-idx3-ubyte.gz  test-labels-idx1-ubyte.gz
    classes.tsv  (label, code point, character, Unicode name, block, faces, split)
    contact-sheet.png (--sheet: 40 classes x 20 samples)

Usage: scripts/make-glyphs.py [OUTDIR] [--seed N] [--samples 20] [--sheet]
Deterministic for a given seed, package set and library versions.
"""

import argparse
import gzip
import os
import struct
import sys
import time
import unicodedata

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

try:
    from fontTools.ttLib import TTFont
except ImportError:  # the render check below still rejects missing glyphs
    TTFont = None

FONT_DIRS = [
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/truetype/freefont",
    "/usr/share/fonts/truetype/liberation2",
    "/usr/share/fonts/truetype/noto",
]
# Noto families used (all of their faces); the other directories are used whole.
NOTO_FAMILIES = [
    "NotoSans-", "NotoSerif-", "NotoSansArmenian-", "NotoSerifArmenian-",
    "NotoSansGeorgian-", "NotoSerifGeorgian-", "NotoSansHebrew-", "NotoSerifHebrew-",
    "NotoRashiHebrew-", "NotoSansArabic-", "NotoNaskhArabic-", "NotoKufiArabic-",
    "NotoSansDevanagari-", "NotoSerifDevanagari-", "NotoSansBengali-", "NotoSerifBengali-",
    "NotoSansGujarati-", "NotoSerifGujarati-", "NotoSansGurmukhi-", "NotoSerifGurmukhi-",
    "NotoSansTamil-", "NotoSerifTamil-", "NotoSansTelugu-", "NotoSerifTelugu-",
    "NotoSansKannada-", "NotoSerifKannada-", "NotoSansMalayalam-", "NotoSerifMalayalam-",
    "NotoSansSinhala-", "NotoSerifSinhala-", "NotoSansThai-", "NotoSerifThai-",
    "NotoLoopedThai-", "NotoSansLao-", "NotoSerifLao-", "NotoLoopedLao-",
    "NotoSansKhmer-", "NotoSerifKhmer-", "NotoSansEthiopic-", "NotoSerifEthiopic-",
    "NotoSansCherokee-", "NotoSansCanadianAboriginal-", "NotoSansRunic-",
    "NotoSansTifinagh-", "NotoSansTifinaghAPT-", "NotoSansTifinaghAdrar-",
    "NotoSansTifinaghAgrawImazighen-", "NotoSansTifinaghAhaggar-", "NotoSansTifinaghAir-",
    "NotoSansTifinaghAzawagh-", "NotoSansTifinaghGhat-", "NotoSansTifinaghHawad-",
    "NotoSansTifinaghRhissaIxa-", "NotoSansTifinaghSIL-", "NotoSansTifinaghTawellemmet-",
    "NotoSansCoptic-", "NotoSansGlagolitic-", "NotoSansMath-", "NotoSansSymbols-",
    "NotoSansSymbols2-", "NotoSansMyanmar-", "NotoSerifMyanmar-", "NotoSansSyriac-",
    "NotoSansThaana-", "NotoSansVai-", "NotoSansYi-", "NotoSansOgham-",
    "NotoSansDisplay-", "NotoSerifDisplay-",
]

# The "alphabets": (name, first, last) code point ranges.
BLOCKS = [
    ("Latin", 0x0030, 0x007A), ("Latin-1", 0x00C0, 0x00FF), ("Latin Extended-A", 0x0100, 0x017F),
    ("Latin Extended-B", 0x0180, 0x024F), ("IPA", 0x0250, 0x02AF), ("Greek", 0x0370, 0x03FF),
    ("Cyrillic", 0x0400, 0x04FF), ("Cyrillic Supplement", 0x0500, 0x052F),
    ("Armenian", 0x0530, 0x058F), ("Hebrew", 0x05D0, 0x05EA), ("Arabic", 0x0620, 0x06D5),
    ("Syriac", 0x0710, 0x074F), ("Thaana", 0x0780, 0x07B1),
    ("Devanagari", 0x0900, 0x097F), ("Bengali", 0x0980, 0x09FF), ("Gurmukhi", 0x0A00, 0x0A7F),
    ("Gujarati", 0x0A80, 0x0AFF), ("Tamil", 0x0B80, 0x0BFF), ("Telugu", 0x0C00, 0x0C7F),
    ("Kannada", 0x0C80, 0x0CFF), ("Malayalam", 0x0D00, 0x0D7F), ("Sinhala", 0x0D80, 0x0DFF),
    ("Thai", 0x0E00, 0x0E7F), ("Lao", 0x0E80, 0x0EFF), ("Myanmar", 0x1000, 0x109F),
    ("Georgian", 0x10A0, 0x10FF), ("Ethiopic", 0x1200, 0x137F), ("Cherokee", 0x13A0, 0x13F5),
    ("Canadian Syllabics", 0x1400, 0x167F), ("Ogham", 0x1680, 0x169C), ("Runic", 0x16A0, 0x16F0),
    ("Khmer", 0x1780, 0x17DD), ("Letterlike", 0x2100, 0x214F), ("Arrows", 0x2190, 0x21FF),
    ("Math Operators", 0x2200, 0x22FF), ("Misc Technical", 0x2300, 0x23FF),
    ("Geometric Shapes", 0x25A0, 0x25FF), ("Misc Symbols", 0x2600, 0x26FF),
    ("Dingbats", 0x2700, 0x27BF), ("Glagolitic", 0x2C00, 0x2C5F), ("Coptic", 0x2C80, 0x2CFF),
    ("Tifinagh", 0x2D30, 0x2D7F), ("Vai", 0xA500, 0xA62B), ("Yi", 0xA000, 0xA48C),
]
CATEGORIES = {"Lu", "Ll", "Lo", "Nd", "Sm", "So"}
PER_BLOCK = 44         # at most this many classes per alphabet (Omniglot: 14-55)
MIN_FACES = 4          # faces that must render a code point
DUP_COS = 0.92         # prototypes closer than this are one class
RENDER_PX = 64         # font size for rendering before the 28x28 fit
CANVAS = 160
TRAIN_FRACTION = 0.75


def list_faces():
    faces = []
    for d in FONT_DIRS:
        if not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            if not f.endswith((".ttf", ".otf")):
                continue
            if "noto" in d and not any(f.startswith(p) for p in NOTO_FAMILIES):
                continue
            faces.append(os.path.join(d, f))
    return faces


def family_of(path):
    base = os.path.basename(path).rsplit(".", 1)[0]
    for sep in ("-",):
        if sep in base:
            return base.split(sep)[0]
    for suffix in ("BoldOblique", "BoldItalic", "Bold", "Oblique", "Italic"):
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


def raw_render(font, ch):
    """The glyph's ink as a uint8 array on a CANVAS x CANVAS canvas."""
    img = Image.new("L", (CANVAS, CANVAS), 0)
    ImageDraw.Draw(img).text((CANVAS // 2, CANVAS // 2), ch, font=font, fill=255, anchor="mm")
    return img


def mask_bytes(font, ch):
    """The glyph's rendered mask: size and pixels."""
    m = font.getmask(ch)
    return bytes(str(m.size), "ascii") + Image.Image()._new(m).tobytes()


def covered(faces, candidates):
    """For each candidate code point, the faces that render it (cmap + render check)."""
    cover = {cp: [] for cp in candidates}
    for fi, path in enumerate(faces):
        cmap = None
        if TTFont is not None:
            try:
                cmap = TTFont(path, lazy=True, fontNumber=0).getBestCmap() or {}
            except Exception:
                cmap = None
        font = ImageFont.truetype(path, 16, layout_engine=ImageFont.Layout.BASIC)
        notdef = mask_bytes(font, chr(0x10FFFD))  # an unassigned code point
        for cp in candidates:
            if cmap is not None and cp not in cmap:
                continue
            b = mask_bytes(font, chr(cp))
            if b == notdef or max(b[b.index(b')') + 1:] or b'\0') < 128:
                continue
            cover[cp].append(fi)
    return cover


def fit28(img, box, rng=None, shift=0):
    """MNIST-style: crop to the ink, fit the longer side into `box` pixels,
    put the centre of mass at the centre (plus a shift) of a 28x28 image."""
    a = np.asarray(img, dtype=np.uint8)
    ys, xs = np.nonzero(a > 24)
    if len(xs) == 0:
        return None
    crop = img.crop((xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))
    w, h = crop.size
    s = box / max(w, h)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    small = np.asarray(crop.resize((nw, nh), Image.LANCZOS), dtype=np.float32)
    small = np.clip(small, 0, 255)
    tot = small.sum()
    if tot <= 0:
        return None
    cy = (small.sum(axis=1) * np.arange(nh)).sum() / tot
    cx = (small.sum(axis=0) * np.arange(nw)).sum() / tot
    dx = dy = 0
    if rng is not None and shift:
        dx, dy = rng.integers(-shift, shift + 1, size=2)
    ox = int(round(14 + dx - cx))
    oy = int(round(14 + dy - cy))
    ox = min(max(ox, 0), 28 - nw)
    oy = min(max(oy, 0), 28 - nh)
    out = np.zeros((28, 28), dtype=np.float32)
    out[oy:oy + nh, ox:ox + nw] = small
    return out


def jitter(img, rng):
    """Stroke thickness, then rotation +-15 deg, shear and anisotropic scale
    about the canvas centre (PIL's affine maps output to input)."""
    # work on the ink's bounding square with room for the rotation (fewer pixels)
    a = np.asarray(img)
    ys, xs = np.nonzero(a)
    if len(xs):
        cx, cy = (xs.min() + xs.max()) // 2, (ys.min() + ys.max()) // 2
        half = int(0.8 * max(xs.max() - xs.min(), ys.max() - ys.min())) + 4
        img = img.crop((cx - half, cy - half, cx + half, cy + half))
    k = rng.integers(0, 5)
    if k == 1:
        img = img.filter(ImageFilter.MaxFilter(3))
    elif k == 2:
        img = img.filter(ImageFilter.MaxFilter(5))
    elif k == 3:
        thin = img.filter(ImageFilter.MinFilter(3))
        # thin only strokes that survive it (hairline faces would fall apart)
        if np.asarray(thin, dtype=np.float32).sum() > 0.6 * np.asarray(img, dtype=np.float32).sum():
            img = thin
    size = img.size[0]
    th = np.deg2rad(rng.uniform(-15, 15))
    sh = rng.uniform(-0.25, 0.25)
    sx, sy = rng.uniform(0.85, 1.15, size=2)
    # forward A = R(th) Sh(sh) S(sx, sy); inverse used by PIL
    R = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    Sh = np.array([[1, sh], [0, 1]])
    A = R @ Sh @ np.diag([sx, sy])
    Ai = np.linalg.inv(A)
    c = np.array([size / 2, size / 2])
    off = c - Ai @ c
    return img.transform((size, size), Image.AFFINE,
                         (Ai[0, 0], Ai[0, 1], off[0], Ai[1, 0], Ai[1, 1], off[1]),
                         resample=Image.BICUBIC)


def write_idx_images(path, x):
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        f.write(struct.pack(">HBB", 0, 0x08, 3))
        f.write(struct.pack(">III", *x.shape))
        f.write(x.astype(np.uint8).tobytes())


def write_idx_labels(path, y, n_classes):
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        if n_classes <= 256:
            f.write(struct.pack(">HBB", 0, 0x08, 1))
            f.write(struct.pack(">I", len(y)))
            f.write(y.astype(np.uint8).tobytes())
        elif n_classes <= 32768:
            f.write(struct.pack(">HBB", 0, 0x0B, 1))
            f.write(struct.pack(">I", len(y)))
            f.write(y.astype(">i2").tobytes())
        else:
            f.write(struct.pack(">HBB", 0, 0x0C, 1))
            f.write(struct.pack(">I", len(y)))
            f.write(y.astype(">i4").tobytes())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", nargs="?", default="data/glyphs")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--samples", type=int, default=20, help="samples per class (20)")
    ap.add_argument("--per-block", type=int, default=PER_BLOCK)
    ap.add_argument("--sheet", action="store_true", help="also write contact-sheet.png")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    t0 = time.time()

    def log(msg):
        if not args.quiet:
            print("make-glyphs: %s (%.1f s)" % (msg, time.time() - t0), file=sys.stderr)

    faces = list_faces()
    if len(faces) < MIN_FACES:
        print("make-glyphs: found %d font faces; install the font packages listed in "
              "the script's header" % len(faces), file=sys.stderr)
        return 1
    families = [family_of(p) for p in faces]
    candidates = []
    block_of = {}
    for name, lo, hi in BLOCKS:
        for cp in range(lo, hi + 1):
            ch = chr(cp)
            if unicodedata.category(ch) not in CATEGORIES:
                continue
            if unicodedata.decomposition(ch):
                continue
            candidates.append(cp)
            block_of[cp] = name
    log("%d faces, %d candidate code points" % (len(faces), len(candidates)))
    cover = covered(faces, candidates)
    eligible = [cp for cp in candidates if len(cover[cp]) >= MIN_FACES
                and len({families[f] for f in cover[cp]}) >= 2]
    log("%d code points rendered by >= %d faces of >= 2 families" % (len(eligible), MIN_FACES))

    fonts = {}

    def font(fi):
        if fi not in fonts:
            fonts[fi] = ImageFont.truetype(faces[fi], RENDER_PX,
                                           layout_engine=ImageFont.Layout.BASIC)
        return fonts[fi]

    # choose per block in a seeded order, dropping look-alikes of kept classes
    rng = np.random.default_rng(args.seed)
    kept, protos = [], []
    for name, _, _ in BLOCKS:
        cps = [cp for cp in eligible if block_of[cp] == name]
        rng.shuffle(cps)
        n_block = 0
        for cp in cps:
            if n_block >= args.per_block:
                break
            imgs = [fit28(raw_render(font(fi), chr(cp)), 20) for fi in cover[cp][:8]]
            imgs = [im for im in imgs if im is not None]
            if len(imgs) < MIN_FACES:
                continue
            p = np.mean(imgs, axis=0).ravel()
            p /= np.linalg.norm(p) + 1e-9
            if protos and float(np.max(np.stack(protos) @ p)) > DUP_COS:
                continue
            kept.append(cp)
            protos.append(p)
            n_block += 1
    log("%d classes kept" % len(kept))

    # class order and split
    order = list(kept)
    rng.shuffle(order)
    n_classes = len(order)
    n_train = int(round(TRAIN_FRACTION * n_classes))
    S = args.samples
    X = np.zeros((n_classes * S, 28, 28), dtype=np.uint8)
    Y = np.zeros(n_classes * S, dtype=np.int32)
    for label, cp in enumerate(order):
        faces_cp = list(cover[cp])
        rng.shuffle(faces_cp)
        s = 0
        tries = 0
        while s < S and tries < 4 * S:
            fi = faces_cp[(s + tries) % len(faces_cp)]
            tries += 1
            im = jitter(raw_render(font(fi), chr(cp)), rng)
            box = rng.uniform(16, 22)
            a = fit28(im, box, rng, shift=2)
            if a is None:
                continue
            a *= 255.0 / a.max()  # full-contrast ink, as thin faces render grey
            X[label * S + s] = np.clip(np.rint(a), 0, 255).astype(np.uint8)
            Y[label * S + s] = label
            s += 1
        if s < S:
            print("make-glyphs: could not render U+%04X" % cp, file=sys.stderr)
            return 1
    log("rendered %d images" % len(X))

    os.makedirs(args.outdir, exist_ok=True)
    cut = n_train * S
    write_idx_images(os.path.join(args.outdir, "train-images-idx3-ubyte.gz"), X[:cut])
    write_idx_labels(os.path.join(args.outdir, "train-labels-idx1-ubyte.gz"), Y[:cut], n_classes)
    write_idx_images(os.path.join(args.outdir, "test-images-idx3-ubyte.gz"), X[cut:])
    write_idx_labels(os.path.join(args.outdir, "test-labels-idx1-ubyte.gz"), Y[cut:], n_classes)
    with open(os.path.join(args.outdir, "classes.tsv"), "w", encoding="utf-8") as f:
        f.write("label\tcodepoint\tchar\tname\tblock\tfaces\tsplit\n")
        for label, cp in enumerate(order):
            f.write("%d\tU+%04X\t%s\t%s\t%s\t%d\t%s\n" % (
                label, cp, chr(cp), unicodedata.name(chr(cp), "?"), block_of[cp],
                len(cover[cp]), "train" if label < n_train else "test"))
    if args.sheet:
        rows = min(40, n_classes)
        sheet = np.zeros((rows * 28, S * 28), dtype=np.uint8)
        for r in range(rows):
            for c in range(S):
                sheet[r * 28:(r + 1) * 28, c * 28:(c + 1) * 28] = X[r * S + c]
        Image.fromarray(sheet).save(os.path.join(args.outdir, "contact-sheet.png"))
    blocks = {}
    for cp in order:
        blocks[block_of[cp]] = blocks.get(block_of[cp], 0) + 1
    log("wrote %s: %d classes (%d train, %d test) from %d alphabets, %d samples each"
        % (args.outdir, n_classes, n_train, n_classes - n_train, len(blocks), S))
    return 0


if __name__ == "__main__":
    sys.exit(main())
