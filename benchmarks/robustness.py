"""How often does the verdict survive web resizing and re-compression? (issue: >= 97 % unchanged)

usage: python benchmarks/robustness.py DATASET [--model M.tflite] [--limit N] [--seed 0]

Every image of DATASET's test split is audited as it is and after one web-style perturbation:
downscaling by 0.5-0.9x with area, bicubic or Lanczos resampling, then JPEG at quality 75-95
(one draw per image and kind). Prints, per resampling kind and overall, the share of images
whose label is unchanged, and the same for the blurry-vs-not decision alone.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iqa.auditor.imaging import open_image  # noqa: E402
from iqa.auditor.pipeline import AuditConfig, audit  # noqa: E402
from iqa.trainer.data import list_items  # noqa: E402

KINDS = {"area": cv2.INTER_AREA, "bicubic": cv2.INTER_CUBIC, "lanczos": cv2.INTER_LANCZOS4}


def perturb(pixels: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    factor = rng.uniform(0.5, 0.9)
    h, w = pixels.shape[:2]
    small = cv2.resize(pixels, (max(1, round(w * factor)), max(1, round(h * factor))), interpolation=KINDS[kind])
    return small, int(rng.integers(75, 96))


def labels_of(folder: Path, model: str | None) -> dict[str, str]:
    return {r.path: r.label for r in audit([folder], AuditConfig(model_path=model, workers=2)) if r.ok}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset")
    ap.add_argument("--model", default=None)
    ap.add_argument("--limit", type=int, default=0, help="first N test images (0: all)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    items = list_items(args.dataset, "test")[: args.limit or None]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for kind in ("as_is", *KINDS):
            (root / kind).mkdir()
        for i, it in enumerate(items):
            pixels = open_image(it.path).pixels
            cv2.imwrite(str(root / "as_is" / f"{i:05d}.png"), pixels[..., ::-1])
            for k, kind in enumerate(KINDS):
                img, quality = perturb(pixels, kind, np.random.default_rng([args.seed, i, k]))
                cv2.imwrite(str(root / kind / f"{i:05d}.jpg"), img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
        found = labels_of(root, args.model)
        base = {Path(p).stem: lab for p, lab in found.items() if p.startswith("as_is/")}
        print(f"{len(base)} test images; model {args.model or 'shipped'}")
        total = same = same_blur = 0
        changes: Counter[tuple[str, str]] = Counter()
        for kind in KINDS:
            pairs = [(base[Path(p).stem], lab) for p, lab in found.items() if p.startswith(f"{kind}/")]
            changes.update((a, b) for a, b in pairs if a != b)
            s = sum(a == b for a, b in pairs)
            sb = sum((a == "blurry") == (b == "blurry") for a, b in pairs)
            total, same, same_blur = total + len(pairs), same + s, same_blur + sb
            print(f"{kind:8} label unchanged {s / len(pairs):.3f}   blurry-vs-not unchanged {sb / len(pairs):.3f}")
        print(f"{'all':8} label unchanged {same / total:.3f}   blurry-vs-not unchanged {same_blur / total:.3f}")
        print("changes (as is -> perturbed): " + ", ".join(f"{a} -> {b} {n}" for (a, b), n in changes.most_common()))


if __name__ == "__main__":
    main()
