"""Compare image-level decision rules of one int8 model: how many textured patches, which band of them.

usage: python benchmarks/compare_aggregation.py MODEL.tflite DATASET [--calibration DIR ...]
                                                [--counts 8,16,24,32] [--keeps 0.5,1.0] [--trims 0,0.125,0.25]
                                                [--heads 0.1:1,1:3 ...]

The rule "count n, trim t, keep k": of the n most textured patches, sorted sharpest-looking first,
average the logits of those ranked between t*n and k*n (t > 0 drops the sharpest outliers).

Each image of the dataset's val and test splits and of the calibration folders is cut once with the
model's patch policy at ``--max-count`` patches (ordered by decreasing texture, as the auditor does),
so the ``n`` most textured patches of any smaller count are a prefix. For every (count, keep fraction)
the blurry bias is fitted exactly as ``iqa quantize`` fits it (``trainer.calibrate.fit_bias``: val and
calibration photos, false-alarm caps on val); the rule is chosen on that objective, and the test split
(never used for fitting) shows whether the choice holds. No TensorFlow needed.

``--heads C:W,...`` adds, for every rule, the image-level blur head (``trainer.image_head``) fitted
on the val split's patch logits with L2 strength ``C`` and partial-blur weight ``W``; its bias is
then fitted on the head's verdicts, as ``iqa quantize`` does.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iqa.auditor.model import image_logits, load_model_info, softmax  # noqa: E402
from iqa.trainer.image_head import HeadConfig, fit_blur_head  # noqa: E402
from iqa.trainer.loso import leave_one_scene_out  # noqa: E402
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


def scored(rows: PatchLogits, count: int, keep: float, trim: float = 0.0, head=None) -> ScoredImages:
    """Bias-free image scores for the rule 'mean of the trim..keep sharpest of the ``count`` most textured'."""
    probs = softmax(np.array([image_logits(lg[:count], keep, trim, head) for _, lg, _ in rows]))
    return ScoredImages(tuple(it for it, _, _ in rows), probs, np.log(probs), np.array([s for _, _, s in rows]), 0)


def heads(spec: str) -> list[HeadConfig | None]:
    """None (no head) then one HeadConfig per ``C:W`` of ``spec``."""
    out: list[HeadConfig | None] = [None]
    for part in filter(None, spec.split(",")):
        c, w = part.split(":")
        out.append(HeadConfig(c=float(c), partial_weight=float(w)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("dataset")
    ap.add_argument("--calibration", action="append", default=[])
    ap.add_argument("--max-count", type=int, default=32)
    ap.add_argument("--counts", default="8,16,24,32")
    ap.add_argument("--keeps", default="0.5,0.75,1.0")
    ap.add_argument("--trims", default="0,0.125,0.25")
    ap.add_argument("--heads", default="", help="image-level heads to add, C:partial_weight,... (e.g. 1:3)")
    args = ap.parse_args()
    info = load_model_info(args.model)
    policy = replace(info.policy, count=args.max_count)
    model = str(info.path)
    val = patch_logits(list_items(args.dataset, "val"), model, policy, info.max_side)
    test = patch_logits(list_items(args.dataset, "test"), model, policy, info.max_side)
    real = patch_logits([it for c in args.calibration for it in list_items(c)], model, policy, info.max_side)
    print(f"{len(val)} val, {len(test)} test, {len(real)} calibration images; model {Path(args.model).name}")
    print("count trim keep head | fit objective | test: blurry BA  macro-F1  sharp recall  originals->blurry"
          "  partial->blurry | calibration: BA fitted  BA leave-one-scene-out  AUC | bias")
    for count in (int(c) for c in args.counts.split(",")):
        for trim in (float(t) for t in args.trims.split(",")):
            for keep in (float(k) for k in args.keeps.split(",")):
                if trim >= keep:
                    continue
                for cfg in heads(args.heads):
                    head = None if cfg is None else fit_blur_head(
                        [it for it, _, _ in val], [lg[:count] for _, lg, _ in val], keep, trim, cfg)
                    v, t = scored(val, count, keep, trim, head), scored(test, count, keep, trim, head)
                    r = scored(real, count, keep, trim, head) if real else None
                    name = "-" if cfg is None else f"{cfg.c:g}:{cfg.partial_weight:g}"
                    print(f"{count:5d} {trim:5.3f} {keep:4.2f} {name:>5} | " + row(v, t, r), flush=True)


def row(v: ScoredImages, t: ScoredImages, r: ScoredImages | None) -> str:
    """Fit the bias on val (and calibration photos) as ``iqa quantize`` does; the figures of one rule."""
    bias, fit = fit_bias(v, r)
    st = summarize(t, bias)
    cal = "-"
    if r is not None:
        sr, loso = summarize(r, bias), leave_one_scene_out(v, r)
        cal = f"{sr['blurry_balanced_accuracy']:.3f}  {loso['balanced_accuracy']:.3f}  {sr['blurry_auc']:.3f}"
    return (f"{fit['objective']:.3f} | {st['blurry_balanced_accuracy']:.3f}  {st['macro_f1']:.3f}  "
            f"{st['per_class']['sharp']['recall']:.3f}  {st.get('original_called_blurry', 0):.3f}  "
            f"{st.get('partial_called_blurry', 0):.3f} | {cal} | {bias[0]:+.2f}, {bias[2]:+.2f}")


if __name__ == "__main__":
    main()
