"""False alarms on real, untouched sharp photos at their native size (issue: blurry <= 1 %, sharp <= 2 %).

usage: python benchmarks/false_alarms.py [--model M.tflite ...] [--photos DIR ...]

Audits, with the ``iqa`` command (a new process), the shared training photos at native size (the
model only saw them shrunk and degraded) and the natural photos that scikit-image, scikit-learn and
matplotlib ship in their wheels, then prints how many are called blurry and how many sharp
(over-sharpened), per folder and per model.
"""
from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.common import iqa_command  # noqa: E402
from iqa.dataset.demo import package_file  # noqa: E402

# natural, in-focus photos only: no synthetic images, micrographs or the deliberately blurred clock
PACKAGE_PHOTOS = [("skimage", f"data/{n}") for n in (
    "astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "camera.png", "motorcycle_left.png",
    "motorcycle_right.png", "brick.png", "grass.png", "gravel.png", "coins.png", "moon.png", "hubble_deep_field.jpg")]
PACKAGE_PHOTOS += [("sklearn", "datasets/images/china.jpg"), ("sklearn", "datasets/images/flower.jpg"),
                   ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg")]


def package_folder(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for pkg, rel in PACKAGE_PHOTOS:
        found = package_file(pkg, rel)
        if found is not None:
            shutil.copy(found, out / f"{pkg}_{found.name}")
    return out


def labels(folder: Path, model: str | None, out: Path) -> Counter[str]:
    cmd = iqa_command() + ["audit", str(folder), "-o", str(out), "--fresh", "--no-report", "-q"]
    subprocess.run(cmd + (["--model", model] if model else []), check=True)
    with open(out / "audit.csv", newline="", encoding="utf-8") as fh:
        return Counter(r["label"] if r["status"] == "ok" else "error" for r in csv.DictReader(fh))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", default=None)
    ap.add_argument("--photos", action="append", type=Path, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folders = args.photos or [REPO.parent / "shared" / "data" / "train", package_folder(Path(tmp) / "packages")]
        print(f"{'model':32}{'folder':22}{'files':>7}{'blurry':>9}{'sharp':>9}")
        for model in args.model or [None]:
            for folder in folders:
                c = labels(folder, model, Path(tmp) / "audit")
                n = sum(c.values())
                name = f"{Path(model).parent.name}/{Path(model).name}"[-31:] if model else "shipped"
                print(f"{name:32}{folder.name[:21]:22}{n:>7}"
                      f"{c['blurry'] / n:>8.1%} {c['sharp'] / n:>8.1%}   ({c['blurry']} blurry, {c['sharp']} sharp)")


if __name__ == "__main__":
    main()
