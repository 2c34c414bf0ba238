"""Compare image-level decision rules of one int8 model: how many textured patches, which share of them.

usage: python benchmarks/compare_aggregation.py MODEL.tflite DATASET [--calibration DIR ...]

Each image of the dataset's val and test splits and of the calibration folders is cut once with the
model's patch policy at ``--max-count`` patches (ordered by decreasing texture, as the auditor does),
so the ``n`` most textured patches of any smaller count are a prefix. For every (count, keep fraction)
the blurry bias is fitted exactly as ``iqa quantize`` fits it (``trainer.calibrate.fit_bias``: val and
calibration photos, false-alarm caps on val); the rule is chosen on that objective, and the test split
(never used for fitting) shows whether the choice holds. No TensorFlow needed.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iqa.auditor.model import load_model_info, sharpest_patches, softmax  # noqa: E402
from iqa.auditor.workers import Task, analyse_file  # noqa: E402
from iqa.trainer.calibrate import fit_bias  # noqa: E402
from iqa.trainer.data import ImageItem, list_items  # noqa: E402
from iqa.trainer.evaluate import ScoredImages, summarize  # noqa: E402

PatchLogits = list[tuple[ImageItem, np.ndarray, float]]


def patch_logits(items: list[ImageItem], model: str, policy, max_side: int) -> PatchLogits:
    """Per image, analysed exactly as the auditor does: patch logits in decreasing-texture order, sharpness."""
    out = []
    for it in items:
        found = analyse_file(Task("", str(it.path), max_side, policy, model))
        if found.error is None:
            out.append((it, found.logits, found.sharpness))
    return out


def scored(rows: PatchLogits, count: int, keep: float) -> ScoredImages:
    """Bias-free image scores for the rule 'mean of the ``keep`` sharpest of the ``count`` most textured'."""
    probs = softmax(np.array([sharpest_patches(lg[:count], keep).mean(axis=0) for _, lg, _ in rows]))
    return ScoredImages(tuple(it for it, _, _ in rows), probs, np.log(probs), np.array([s for _, _, s in rows]), 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("dataset")
    ap.add_argument("--calibration", action="append", default=[])
    ap.add_argument("--max-count", type=int, default=24)
    ap.add_argument("--counts", default="4,6,8,12,16,24")
    ap.add_argument("--keeps", default="0.34,0.5,0.75,1.0")
    args = ap.parse_args()
    info = load_model_info(args.model)
    policy = replace(info.policy, count=args.max_count)
    model = str(info.path)
    val = patch_logits(list_items(args.dataset, "val"), model, policy, info.max_side)
    test = patch_logits(list_items(args.dataset, "test"), model, policy, info.max_side)
    real = patch_logits([it for c in args.calibration for it in list_items(c)], model, policy, info.max_side)
    print(f"{len(val)} val, {len(test)} test, {len(real)} calibration images; model {Path(args.model).name}")
    print("count keep | fit objective | test: blurry BA  macro-F1  sharp recall  originals->blurry  partial->blurry"
          " | calibration BA | bias")
    for count in (int(c) for c in args.counts.split(",")):
        for keep in (float(k) for k in args.keeps.split(",")):
            v, t = scored(val, count, keep), scored(test, count, keep)
            r = scored(real, count, keep) if real else None
            bias, fit = fit_bias(v, r)
            st = summarize(t, bias)
            cal = f"{summarize(r, bias)['blurry_balanced_accuracy']:.3f}" if r else "-"
            print(f"{count:5d} {keep:4.2f} | {fit['objective']:.3f} | {st['blurry_balanced_accuracy']:.3f}  "
                  f"{st['macro_f1']:.3f}  {st['per_class']['sharp']['recall']:.3f}  "
                  f"{st.get('original_called_blurry', 0):.3f}  {st.get('partial_called_blurry', 0):.3f} | {cal} | "
                  f"{bias[0]:+.2f}, {bias[2]:+.2f}")


if __name__ == "__main__":
    main()
