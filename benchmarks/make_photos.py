"""Build a folder of camera-like JPEGs from the shared research photos (for the benchmarks).

usage: python benchmarks/make_photos.py [--size {24mp,7mp,vga,qvga}] [--count N] [--out DIR]
                                        [--source DIR] [--seed 0] [--sigma 4.5] [--sharpen 1.5]

Each photo is a source photo cropped to 4:3 (portrait sources stay portrait), resized with
cubic interpolation, given sensor-like grain (signal-dependent Gaussian noise, mostly luma,
``--sigma`` at mid-grey) and then sharpened (unsharp mask, radius 1 px, ``--sharpen``), the
order a camera applies them, and saved as quality-90 4:2:0 JPEG with camera EXIF. Every 4th
file is stored rotated with EXIF Orientation 6, as a phone held upright writes it.

Why the grain: Huffman decoding time grows with entropy, and a plain upscale of a 0.3 MP
photo compresses to a fraction of a real camera file, so it would decode unrealistically fast.
With the defaults the 7 MP files average about 2.7 MB (real 7 MP camera JPEGs: 2.5-4 MB); 24 MP
is 5664x4248, a full-frame or APS-C camera's resolution at 4:3.

The output is deterministic for a given seed and written outside the repository by default
(``/tmp/iqa-bench/photos-SIZE-COUNT``); an existing complete folder is reused. Prints the
folder, the number of files and their mean size.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

REPO = Path(__file__).resolve().parents[1]
# shared/ lies beside the repository (beside the folder of worktrees for a git worktree)
DEFAULT_SOURCE = next((p / "shared" / "data" / "train" for p in REPO.parents[:2]
                       if (p / "shared" / "data" / "train").is_dir()), REPO.parent / "shared" / "data" / "train")
DEFAULT_ROOT = Path(tempfile.gettempdir()) / "iqa-bench"
SIZES: dict[str, tuple[int, int]] = {"24mp": (5664, 4248), "7mp": (3072, 2304), "vga": (640, 480),
                                     "qvga": (320, 240)}
DEFAULT_COUNT = {"24mp": 40, "7mp": 80, "vga": 480, "qvga": 200}
# grain and sharpening are scaled down for small sizes: a downscaled camera photo is cleaner
GRAIN_SCALE = {"24mp": 1.0, "7mp": 1.0, "vga": 0.5, "qvga": 0.4}
EXIF_MAKE, EXIF_MODEL = "IQA-Bench", "Synthetic Camera"
ROTATE_EVERY = 4


def source_files(source: Path) -> list[Path]:
    """All JPEGs under ``source``, sorted (the shared training photos)."""
    files = sorted(p for p in source.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg"})
    if not files:
        sys.exit(f"no JPEG photos under {source} (use --source)")
    return files


def crop_to_aspect(pixels: np.ndarray, width: int, height: int) -> np.ndarray:
    """Centre crop to the aspect ratio ``width:height``."""
    h, w = pixels.shape[:2]
    if w * height > h * width:
        nw = h * width // height
        return pixels[:, (w - nw) // 2:(w - nw) // 2 + nw]
    nh = w * height // width
    return pixels[(h - nh) // 2:(h - nh) // 2 + nh]


def camera_pixels(src: Path, size: tuple[int, int], sigma: float, sharpen: float,
                  rng: np.random.Generator) -> np.ndarray:
    """Crop, resize, add grain and sharpen one source photo; RGB uint8 of ``size`` (w, h)."""
    with Image.open(src) as im:
        pixels = np.asarray(im.convert("RGB"))
    w, h = size
    if pixels.shape[0] > pixels.shape[1]:  # portrait source: portrait photo
        w, h = h, w
    pixels = crop_to_aspect(pixels, w, h)
    interp = cv2.INTER_CUBIC if w > pixels.shape[1] else cv2.INTER_AREA
    x = cv2.resize(pixels, (w, h), interpolation=interp).astype(np.float32)
    noise = rng.standard_normal((h, w, 1), dtype=np.float32) * 0.9
    noise = noise + rng.standard_normal((h, w, 3), dtype=np.float32) * 0.45  # weaker chroma noise
    noise *= np.sqrt(0.3 + 0.7 * x.mean(axis=2, keepdims=True) / 128.0)  # shot noise grows with signal
    x += noise * sigma
    if sharpen > 0:
        x += sharpen * (x - cv2.GaussianBlur(x, (0, 0), 1.0))
    return np.clip(x + 0.5, 0, 255).astype(np.uint8)


def camera_exif(index: int, rotated: bool) -> Image.Exif:
    """EXIF with make, model, exposure, focal length and (when ``rotated``) Orientation 6."""
    exif = Image.Exif()
    exif[0x010F] = EXIF_MAKE
    exif[0x0110] = EXIF_MODEL
    if rotated:
        exif[0x0112] = 6
    sub = exif.get_ifd(0x8769)
    sub[0x829A] = IFDRational(1, 60 + 10 * (index % 7))
    sub[0x920A] = IFDRational(45 + index % 20, 10)
    return exif


def write_photo(src: Path, dest: Path, index: int, size_name: str, sigma: float, sharpen: float,
                seed: int) -> int:
    """Write one camera-like JPEG; returns its size in bytes."""
    rng = np.random.default_rng([seed, index])
    scale = GRAIN_SCALE[size_name]
    pixels = camera_pixels(src, SIZES[size_name], sigma * scale, sharpen * scale, rng)
    rotated = index % ROTATE_EVERY == 1
    if rotated:  # stored turned 90 degrees counter-clockwise; Orientation 6 turns it back
        pixels = np.ascontiguousarray(np.rot90(pixels, 1))
    Image.fromarray(pixels).save(dest, "JPEG", quality=90, subsampling=2,
                                 exif=camera_exif(index, rotated).tobytes())
    return dest.stat().st_size


def folder_for(size_name: str, count: int, root: Path = DEFAULT_ROOT) -> Path:
    """The default folder of ``count`` photos of ``size_name``."""
    return root / f"photos-{size_name}-{count}"


def build(out: Path, size_name: str, count: int, source: Path = DEFAULT_SOURCE, seed: int = 0,
          sigma: float = 4.5, sharpen: float = 1.5) -> Path:
    """Write ``count`` photos into ``out`` (atomically: built beside it, then renamed).

    An existing ``out`` is taken as complete and reused as is.
    """
    if out.is_dir():
        return out
    sources = source_files(source)
    order = np.random.default_rng(seed).permutation(len(sources))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".", dir=out.parent))
    try:
        for i in range(count):
            src = sources[int(order[i % len(sources)])]
            write_photo(src, tmp / f"IMG_{i:05d}.jpg", i, size_name, sigma, sharpen, seed)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def ensure_photos(size_name: str, count: int, source: Path = DEFAULT_SOURCE, root: Path = DEFAULT_ROOT) -> Path:
    """The default folder for ``size_name`` x ``count``, built first when missing."""
    out = folder_for(size_name, count, root)
    if not out.is_dir():
        print(f"building {count} {size_name} photos in {out} (once) ...", flush=True)
    return build(out, size_name, count, source)


def mean_file_size(folder: Path) -> tuple[int, float]:
    """Number of JPEGs in ``folder`` and their mean size in bytes."""
    sizes = [p.stat().st_size for p in folder.glob("*.jpg")]
    return len(sizes), (sum(sizes) / len(sizes) if sizes else 0.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=sorted(SIZES), default="7mp")
    ap.add_argument("--count", type=int, default=None, help="default: 40 24mp, 80 7mp, 480 vga, 200 qvga")
    ap.add_argument("--out", type=Path, default=None, help="default: /tmp/iqa-bench/photos-SIZE-COUNT")
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="folder of source JPEGs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sigma", type=float, default=4.5, help="grain std at mid-grey, 7 MP scale")
    ap.add_argument("--sharpen", type=float, default=1.5, help="unsharp-mask amount, 7 MP scale")
    args = ap.parse_args()
    count = args.count or DEFAULT_COUNT[args.size]
    out = args.out or folder_for(args.size, count)
    existed = out.is_dir()
    build(out, args.size, count, args.source, args.seed, args.sigma, args.sharpen)
    n, mean = mean_file_size(out)
    w, h = SIZES[args.size]
    note = " (existing folder reused)" if existed else ""
    print(f"{out}: {n} JPEGs, {w}x{h} ({w * h / 1e6:.1f} MP), mean file size {mean / 1e6:.2f} MB{note}")


if __name__ == "__main__":
    main()
