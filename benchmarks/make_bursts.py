"""Build a tree of photo bursts, re-uploads and unrelated photos, with the truth in ``truth.json``.

Each burst takes one sharp photo and renders 3-6 frames: a small random shift (up to
~2 % of the width, the frame re-cropped so no border shows), camera shake of a different
strength per frame (``dataset.degrade.shake_kernel``; one frame of every burst is shaken
the least) and JPEG noise (quality 80-92). Frames carry EXIF DateTimeOriginal one second
apart and a camera name. Re-uploads are a photo plus a resized, re-compressed copy without
EXIF. Unrelated photos are single frames. Photos come from ``/work/shared/data/train``
(sharp originals) and are never modified.

    python benchmarks/make_bursts.py OUT [--bursts 40] [--duplicates 10] [--unrelated 80] [--seed 0]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from iqa.dataset.degrade import motion_blur, shake_kernel

DATA = Path("/work/shared/data/train")
SHAKE_PX = (0.0, 3.0, 6.0, 9.0, 13.0, 18.0)  # trajectory lengths, at the photo's own scale
CAMERA = "BurstCam X100"


def _photos(seed: int) -> list[Path]:
    files = sorted(p for p in DATA.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    np.random.default_rng(seed).shuffle(files)
    return files


def _load(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _shifted(img: np.ndarray, rng: np.random.Generator, margin: float = 0.03) -> np.ndarray:
    """Shift by up to ~2 % and crop a fixed ``margin`` off every side (no black border)."""
    h, w = img.shape[:2]
    dx, dy = rng.uniform(-0.02, 0.02) * w, rng.uniform(-0.02, 0.02) * h
    moved = cv2.warpAffine(img, np.float32([[1, 0, dx], [0, 1, dy]]), (w, h), borderMode=cv2.BORDER_REFLECT_101)
    my, mx = int(h * margin), int(w * margin)
    return moved[my:h - my, mx:w - mx]


def _save(img: np.ndarray, path: Path, quality: int, when: dt.datetime | None, camera: str = CAMERA) -> None:
    exif = Image.Exif()
    if when is not None:
        exif[0x0110] = camera
        exif.get_ifd(0x8769)[0x9003] = when.strftime("%Y:%m:%d %H:%M:%S")
    Image.fromarray(img).save(path, format="JPEG", quality=quality, exif=exif.tobytes())


def build(out: Path, bursts: int, duplicates: int, unrelated: int, seed: int) -> dict:
    """Write the tree under ``out/photos`` and return the truth (also saved as ``out/truth.json``)."""
    rng = np.random.default_rng(seed)
    photos = _photos(seed)
    need = bursts + duplicates + unrelated
    if len(photos) < need:
        raise SystemExit(f"need {need} photos in {DATA}, found {len(photos)}")
    root = out / "photos"
    truth: dict = {"bursts": [], "duplicates": [], "unrelated": []}
    clock = dt.datetime(2024, 6, 1, 9, 0, 0)
    for b, src in enumerate(photos[:bursts]):
        img, frames = _load(src), int(rng.integers(3, 7))
        strengths = sorted(rng.choice(SHAKE_PX, frames, replace=False).tolist())
        order = rng.permutation(frames)  # the least shaken frame is not always the first
        names = []
        for i, k in enumerate(order):
            length = strengths[k]
            frame = _shifted(img, rng)
            if length > 0:
                frame = motion_blur(frame, shake_kernel(rng, length))
            name = f"shoot{b % 4}/burst{b:03d}_{i}.jpg"
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            _save(frame, root / name, int(rng.integers(80, 93)), clock + dt.timedelta(seconds=i))
            names.append({"path": name, "shake": length})
        truth["bursts"].append(names)
        clock += dt.timedelta(minutes=10)
    for d, src in enumerate(photos[bursts:bursts + duplicates]):
        img = _load(src)
        (root / "uploads").mkdir(parents=True, exist_ok=True)
        _save(img, root / f"uploads/dup{d:03d}.jpg", 92, clock)
        small = cv2.resize(img, None, fx=0.7, fy=0.7, interpolation=cv2.INTER_AREA)
        _save(small, root / f"uploads/dup{d:03d}_copy.jpg", 75, None)
        truth["duplicates"].append([f"uploads/dup{d:03d}.jpg", f"uploads/dup{d:03d}_copy.jpg"])
        clock += dt.timedelta(minutes=10)
    for u, src in enumerate(photos[bursts + duplicates:need]):
        (root / "misc").mkdir(parents=True, exist_ok=True)
        _save(_load(src), root / f"misc/photo{u:03d}.jpg", 90, clock if u % 2 else None)
        truth["unrelated"].append(f"misc/photo{u:03d}.jpg")
        clock += dt.timedelta(minutes=10)
    (out / "truth.json").write_text(json.dumps(truth, indent=1))
    return truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--bursts", type=int, default=40)
    parser.add_argument("--duplicates", type=int, default=10)
    parser.add_argument("--unrelated", type=int, default=80)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    truth = build(args.out, args.bursts, args.duplicates, args.unrelated, args.seed)
    frames = sum(len(b) for b in truth["bursts"])
    print(f"{len(truth['bursts'])} bursts ({frames} frames), {len(truth['duplicates'])} re-uploaded pairs, "
          f"{len(truth['unrelated'])} unrelated photos under {args.out / 'photos'}")


if __name__ == "__main__":
    main()
