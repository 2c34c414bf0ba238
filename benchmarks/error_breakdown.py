"""Where does a model err on a dataset's test split? Accuracy per variant, per blur strength and per nuisance.

usage: python benchmarks/error_breakdown.py DATASET [--model M.tflite] [--split test]

Every image of the split is audited through the auditor's own code path; each verdict is joined with the
manifest row that made the image (``dataset/manifest.py`` columns), then the share of correct labels is
printed per variant (with where the wrong ones went), per strength quartile of each blur and halo kind,
and with and without each nuisance the camera model draws (night, point lights, overlay, web sharpening,
resampling).
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iqa.auditor.labels import LABELS  # noqa: E402
from iqa.dataset.manifest import read_manifest  # noqa: E402
from iqa.trainer.data import list_items  # noqa: E402
from iqa.trainer.evaluate import score_items  # noqa: E402

STRENGTH = {"gaussian": "gaussian_sigma", "defocus": "defocus_radius", "shake": "shake_length",
            "unsharp": "usm_amount", "boost": "boost_amount"}
NUISANCES = ("night", "lights", "overlay", "web_sharpen", "resample_kind")


def scored_rows(dataset: Path, model: str | None, split: str) -> list[tuple[dict[str, str], bool, str]]:
    """(manifest row, verdict correct, predicted label) for every audited image of the split."""
    # list_items names each image dataset / row["file"]; the auditor's results keep those paths
    manifest = {dataset / row["file"]: row for row in read_manifest(dataset, split)}
    scored = score_items(list_items(dataset, split), model)
    pred = scored.probs.argmax(axis=1)
    return [(manifest[it.path], int(p) == int(t), LABELS[int(p)])
            for it, p, t in zip(scored.items, pred, scored.truth)]


def print_breakdown(rows: list[tuple[dict[str, str], bool, str]]) -> None:
    by_variant: dict[str, list[tuple[bool, str]]] = defaultdict(list)
    for row, ok, said in rows:
        by_variant[row["variant"]].append((ok, said))
    print("variant      n  correct  wrong ->")
    for variant, got in sorted(by_variant.items()):
        wrong = Counter(said for ok, said in got if not ok)
        print(f"{variant:10s} {len(got):4d}  {np.mean([ok for ok, _ in got]):.3f}    {dict(wrong)}")
    for variant, column in STRENGTH.items():
        pairs = np.array([(float(r[column]), ok) for r, ok, _ in rows if r["variant"] == variant and r[column]])
        if len(pairs) < 4:
            continue
        edges = np.quantile(pairs[:, 0], [0, 0.25, 0.5, 0.75, 1])
        cells = [f"[{lo:.2f}, {hi:.2f}] {pairs[(pairs[:, 0] >= lo) & (pairs[:, 0] <= hi), 1].mean():.3f}"
                 for lo, hi in zip(edges[:-1], edges[1:])]
        print(f"{variant} by {column} quartile: " + ";  ".join(cells))
    for column in NUISANCES:
        cells = []
        for label in LABELS:
            for present in (False, True):
                got = [ok for r, ok, _ in rows if r["label"] == label and bool(r.get(column)) == present]
                if got:
                    cells.append(f"{label} {'with' if present else 'without'} {np.mean(got):.3f} (n={len(got)})")
        print(f"{column}: " + ";  ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--model", default=None, help="a .tflite model (default: the shipped one)")
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    print_breakdown(scored_rows(args.dataset, args.model, args.split))


if __name__ == "__main__":
    main()
