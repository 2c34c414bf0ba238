"""The decode-only floor: decode every JPEG of a folder at analysis scale in N processes, nothing else.

usage: python benchmarks/decode_floor.py FOLDER [--method {simplejpeg,pillow}] [--workers 2] [--max-side 1024]

Run as its own process by ``bench_audit.py`` (so it pays an interpreter start, like ``iqa``),
it is the least any auditor that looks at the pixels must spend: read the file, ask
libjpeg-turbo for the reduced-size DCT decode just above the analysis size, resize once.

* ``simplejpeg``: ``decode_jpeg(min_width=, min_height=)`` picks the smallest n/8 scale
  that still covers the analysis size (what ``auditor.imaging`` does), then one bilinear
  resize (area averaging beyond 2x).
* ``pillow``: ``Image.draft("RGB", final size)`` (1/2, 1/4 or 1/8 scale), then the same resize.

A fork pool (no interpreter start in the workers) with a few files per task: the floor
gets every advantage. Prints the number of files decoded.
"""
from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import sys

import cv2
import numpy as np

MAX_SIDE = 1024


def target(width: int, height: int, max_side: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def resize(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = pixels.shape[:2]
    if (w, h) == size:
        return pixels
    factor = max(w / size[0], h / size[1])
    return cv2.resize(pixels, size, interpolation=cv2.INTER_LINEAR if factor <= 2 else cv2.INTER_AREA)


def decode_simplejpeg(path: str, max_side: int = MAX_SIDE) -> tuple[int, ...]:
    import simplejpeg

    with open(path, "rb") as fh:
        data = fh.read()
    height, width, _, _ = simplejpeg.decode_jpeg_header(data)
    size = target(width, height, max_side)
    pixels = simplejpeg.decode_jpeg(data, colorspace="RGB", min_width=size[0], min_height=size[1])
    return resize(pixels, size).shape


def decode_pillow(path: str, max_side: int = MAX_SIDE) -> tuple[int, ...]:
    from PIL import Image

    with Image.open(path) as im:
        size = target(im.size[0], im.size[1], max_side)
        im.draft("RGB", (math.ceil(size[0]), math.ceil(size[1])))
        pixels = np.asarray(im.convert("RGB"))
    return resize(pixels, size).shape


METHODS = {"simplejpeg": decode_simplejpeg, "pillow": decode_pillow}


def jpegs(folder: str) -> list[str]:
    """The JPEGs under ``folder`` (recursively), sorted."""
    found = []
    for root, _dirs, names in os.walk(folder):
        found += [os.path.join(root, n) for n in names if n.lower().endswith((".jpg", ".jpeg"))]
    return sorted(found)


def init() -> None:
    cv2.setNumThreads(1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder")
    ap.add_argument("--method", choices=sorted(METHODS), default="simplejpeg")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    files = jpegs(args.folder)
    chunk = max(1, min(8, len(files) // (args.workers * 8)))
    with multiprocessing.get_context("fork").Pool(args.workers, initializer=init) as pool:
        shapes = list(pool.imap_unordered(METHODS[args.method], files, chunksize=chunk))
    print(len(shapes))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
