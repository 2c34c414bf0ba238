"""Stress benchmark for blur detection: the hard cases real photos bring, rendered unlike the training data.

usage: python benchmarks/stress_blur.py [--dataset data/full] [--count 20] [--model M.tflite] [--out DIR]

Sources are photos the model never trained on (the test split of ``--dataset``'s manifest; without
it, the first photos of the shared training folder). Each becomes one file per group, then the
folder is audited with the ``iqa`` command (a new process, as a user runs it) and the verdicts are
counted per group. Every generator here differs from the training ones (``dataset/ranges.py``):
hard-edged disc lamps instead of Gaussian spots, darker nights, exact line-segment
shakes with a fixed cubic speed profile instead of Boracchi-Foi trajectories (whose uneven speeds,
in training, are random smooth dwell curves), fonts and text sizes training never drew, tiled
diagonal watermarks.

Groups (expected verdict):
- ``night_sharp`` (original: neither blurry nor over-sharpened): a night rendition with lamps, no blur.
- ``night_shake_linear`` (blurry): the same, shaken 12-30 px nearly straight in linear light before clipping.
- ``night_shake_srgb`` (blurry): the same shake applied to the clipped sRGB image (how training used to blur).
- ``long_linear_shake`` (blurry): daylight, straight 15-40 px shake that lingers in its middle (46 % of
  the time in the central tenth of the path: a crisp copy under a faint smear).
- ``mild_blur_text`` (blurry): Gaussian sigma 1.2-2.0 behind large crisp text in an unseen font.
- ``watermarked_defocus`` (blurry): defocus r 2.5-5 under a tiled, semi-transparent diagonal watermark.
- ``untouched`` (not blurry, not sharp): the source as it is.
"""
from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from iqa.auditor.imaging import open_image  # noqa: E402
from iqa.dataset import camera, degrade  # noqa: E402
from benchmarks.common import iqa_command  # noqa: E402

EXPECT = {"night_sharp": "original", "night_shake_linear": "blurry", "night_shake_srgb": "blurry",
          "long_linear_shake": "blurry", "mild_blur_text": "blurry", "watermarked_defocus": "blurry",
          "untouched": "original"}


def disc_lamps(lin: np.ndarray, rng: np.random.Generator, count: int) -> np.ndarray:
    """Hard-edged disc lamps (radius 0.7-2 px) at 3-30x clip: not the Gaussian spots training draws."""
    out = lin.copy()
    h, w = lin.shape[:2]
    for _ in range(count):
        level = np.exp(rng.uniform(np.log(3), np.log(30)))
        colour = (level * np.array([1.0, rng.uniform(0.6, 1.0), rng.uniform(0.3, 1.0)])).tolist()
        cv2.circle(out, (int(rng.uniform(0, w)), int(rng.uniform(0, h))), int(rng.integers(1, 3)), colour, -1)
    return out


def line_kernel(rng: np.random.Generator, length: float) -> np.ndarray:
    """An exact straight segment with a slight bend and an uneven (lingering) speed along it."""
    t = np.linspace(-0.5, 0.5, 400) ** 3 * 4  # slow in the middle, fast at the ends: a crisp copy under a faint smear
    angle = rng.uniform(0, np.pi)
    bend = rng.uniform(-0.08, 0.08) * length
    path = t * length * np.exp(1j * angle) + bend * (1 - (2 * t) ** 2) * np.exp(1j * (angle + np.pi / 2))
    return degrade.trajectory_kernel(path - path.mean())


def night(src: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    lin = camera.srgb_to_linear(src) * rng.uniform(0.02, 0.05)
    return disc_lamps(lin, rng, int(rng.integers(15, 41)))


def noisy_srgb(lin: np.ndarray, rng: np.random.Generator, photons: float) -> np.ndarray:
    return camera.tone_curve(camera.sensor_noise(lin, rng, photons, 0.004), 0.1)


def tiled_watermark(img: np.ndarray, text: str = "PREVIEW  SAMPLE") -> np.ndarray:
    layer = np.zeros((img.shape[0] * 2, img.shape[1] * 2), np.uint8)
    for y in range(0, layer.shape[0], 60):
        cv2.putText(layer, text, (0, y), cv2.FONT_HERSHEY_SCRIPT_COMPLEX, 1.2, 255, 2, cv2.LINE_AA)
    rot = cv2.getRotationMatrix2D((layer.shape[1] / 2, layer.shape[0] / 2), 30, 1.0)
    layer = cv2.warpAffine(layer, rot, layer.shape[::-1])[: img.shape[0], : img.shape[1]]
    a = layer.astype(np.float32)[..., None] / 255 * 0.45
    return np.clip(img * (1 - a) + 255 * a, 0, 255).astype(np.uint8)


def big_text(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = img.copy()
    h, w = img.shape[:2]
    scale = h * rng.uniform(0.15, 0.25) / 22
    font = cv2.FONT_ITALIC | cv2.FONT_HERSHEY_COMPLEX_SMALL
    cv2.putText(out, "SALE 50% OFF", (int(w * 0.05), int(h * 0.6)), font, scale, (255, 255, 40), max(2, int(scale)),
                cv2.LINE_AA)
    return out


def render(src: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    photons = rng.uniform(3000, 6000)  # a cleaner sensor than training's nights (200-3000), darker scenes
    scene = night(src, rng)
    kernel = line_kernel(rng, rng.uniform(12, 30))
    seed = int(rng.integers(1 << 30))
    day_kernel = line_kernel(rng, rng.uniform(15, 40))
    return {
        "night_sharp": noisy_srgb(scene, np.random.default_rng(seed), photons),
        "night_shake_linear": noisy_srgb(degrade.motion_blur(scene, kernel), np.random.default_rng(seed), photons),
        "night_shake_srgb": degrade.motion_blur(noisy_srgb(scene, np.random.default_rng(seed), photons), kernel),
        "long_linear_shake": degrade.motion_blur(src, day_kernel),
        "mild_blur_text": big_text(degrade.gaussian_blur(src, rng.uniform(1.2, 2.0)), rng),
        "watermarked_defocus": tiled_watermark(degrade.defocus_blur(src, rng.uniform(2.5, 5.0))),
        "untouched": src,
    }


def unseen_sources(dataset: Path | None, count: int) -> list[Path]:
    train = REPO.parent / "shared" / "data" / "train"
    if dataset and (dataset / "manifest.csv").is_file():
        with open(dataset / "manifest.csv", newline="", encoding="utf-8") as fh:
            keys = sorted({r["source"] for r in csv.DictReader(fh) if r["split"] == "test"})
        from iqa.dataset.build import list_sources  # the builder's own source keys

        by_key = {source.key: source.path for source in list_sources([train])}
        return [by_key[k] for k in keys if k in by_key][:count]
    return sorted(p for p in train.rglob("*.jpg"))[:count]


def build(out: Path, sources: list[Path], seed: int) -> None:
    for group in EXPECT:
        (out / group).mkdir(parents=True, exist_ok=True)
    for i, path in enumerate(sources):
        src = open_image(path, 1024).pixels
        for group, img in render(src, np.random.default_rng([seed, i])).items():
            cv2.imwrite(str(out / group / f"{i:03d}.jpg"), img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])


def score(csv_path: Path) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {g: {"blurry": 0, "original": 0, "sharp": 0, "error": 0} for g in EXPECT}
    with open(csv_path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            group = row["path"].split("/")[0]
            counts[group][row["label"] if row["status"] == "ok" else "error"] += 1
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", type=Path, default=REPO / "data" / "full")
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--model", default=None, action="append", help="model(s) to compare; default: the shipped one")
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "iqa-stress")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    build(args.out / "photos", unseen_sources(args.dataset, args.count), args.seed)
    for model in args.model or [None]:
        audit_dir = args.out / "audit"
        cmd = iqa_command() + ["audit", str(args.out / "photos"), "-o", str(audit_dir), "--fresh", "--no-report", "-q"]
        subprocess.run(cmd + (["--model", model] if model else []), check=True)
        print(f"model: {model or 'shipped'}  ({args.count} sources per group)")
        print(f"{'group':22}{'expected':>12}{'blurry':>8}{'original':>10}{'sharp':>7}{'error':>7}{'right':>8}")
        for group, c in score(audit_dir / "audit.csv").items():
            n = sum(c.values())
            want = EXPECT[group]
            right = c["blurry"] if want == "blurry" else (n - c["blurry"] if want == "not blurry" else c["original"])
            print(f"{group:22}{want:>12}{c['blurry']:>8}{c['original']:>10}{c['sharp']:>7}{c['error']:>7}"
                  f"{right / max(n, 1):>8.0%}")


if __name__ == "__main__":
    main()
