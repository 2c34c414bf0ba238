"""`iqa quantize`: int8 conversion, float-vs-int8 check, image-level calibration, metadata."""
from __future__ import annotations

import platform
from dataclasses import asdict, dataclass, replace
from importlib import metadata as pkg_metadata
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from iqa.auditor.labels import LABELS
from iqa.auditor.model import PatchClassifier, metadata_path
from iqa.auditor.model_meta import Aggregation, ModelMeta, write_model_meta
from iqa.trainer.calibrate import CalibrationPolicy, fit_bias, fit_temperature
from iqa.trainer.data import held_out_photos, list_items, load_split_patches, manifest_hash
from iqa.trainer.evaluate import ScoredImages, score_items, summarize
from iqa.trainer.image_head import HeadConfig, fit_blur_head, patch_logits_per_image
from iqa.trainer.loso import leave_one_scene_out
from iqa.trainer.train import MODEL_FILE, load_train_config

FLOAT_TFLITE = "model_float.tflite"
# Image verdict = mean logits of the patches ranked TRIM..KEEP by sharpness (sharpest first) among the
# AUDIT_PATCH_COUNT most textured. Chosen with benchmarks/compare_aggregation.py (README, "Patches and
# aggregation"): 24 patches instead of 8 give one patch a twelfth of the vote; dropping the sharpest
# 1/8 or 1/4 on top of that lost 0.01-0.02 test BA and changed nothing on the calibration photos or the
# stress set, so no trimming.
KEEP_FRACTION = 0.5
TRIM_FRACTION = 0.0
AUDIT_PATCH_COUNT = 24
MAX_INT8_LOSS = 0.01


@dataclass(frozen=True)
class QuantizeReport:
    """Outcome of quantization: files written and the measured numbers."""

    model_path: Path
    metadata_path: Path
    float_accuracy: float
    int8_accuracy: float
    size_bytes: int
    bias: tuple[float, float, float]
    temperature: float
    test: dict[str, Any]
    calibration: dict[str, Any] | None

    @property
    def int8_loss(self) -> float:
        return self.float_accuracy - self.int8_accuracy

    @property
    def within_budget(self) -> bool:
        return self.int8_loss <= MAX_INT8_LOSS


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("tensorflow", "tensorflow-cpu", "keras", "numpy", "ai-edge-litert", "opencv-python-headless", "pillow"):
        try:
            out[pkg] = pkg_metadata.version(pkg)
        except pkg_metadata.PackageNotFoundError:
            pass
    return out


def tflite_patch_accuracy(model_path: Path, x: np.ndarray, y: np.ndarray, batch: int = 256) -> float:
    """Patch-level accuracy of a TFLite model run through the auditor's classifier."""
    clf = PatchClassifier(model_path)
    pred = np.concatenate([clf.logits(x[i : i + batch]).argmax(1) for i in range(0, len(x), batch)])
    return float((pred == y).mean())


def _score_folders(folders: Iterable[str | Path], model: Path, progress: Callable | None) -> ScoredImages | None:
    items = [it for f in folders for it in list_items(f)]
    return score_items(items, model, progress=progress) if items else None


def quantize_run(run_dir: str | Path, out: str | Path, calibration: Iterable[str | Path] = (),
                 name: str | None = None, progress: Callable[[int], None] | None = None,
                 policy: CalibrationPolicy = CalibrationPolicy(), patch_count: int = AUDIT_PATCH_COUNT,
                 keep_fraction: float = KEEP_FRACTION, trim_fraction: float = TRIM_FRACTION,
                 head: HeadConfig | None = HeadConfig(), source_roots: Iterable[str | Path] = ()) -> QuantizeReport:
    """Quantize a training run to ``out`` (.tflite) and write calibrated metadata beside it.

    ``patch_count`` is how many of the most textured patches the auditor analyses per photo;
    ``trim_fraction`` and ``keep_fraction`` the band of them (sharpest first) the verdict averages;
    ``head`` how the image-level blur head is fitted on the validation split (None: no head).
    Bias and temperature are fitted after the head, on the verdicts it gives.
    """
    import keras

    from iqa.trainer.convert import convert_float, convert_int8, write_model

    run_dir, out = Path(run_dir), Path(out)
    cfg, dataset = load_train_config(run_dir)
    model = keras.models.load_model(run_dir / MODEL_FILE)
    _, train = load_split_patches(dataset, "train", cfg.policy, cfg.max_side)
    _, test = load_split_patches(dataset, "test", cfg.policy, cfg.max_side)
    write_model(convert_int8(model, train.x), out)
    write_model(convert_float(model), run_dir / FLOAT_TFLITE)
    float_acc = float((model.predict(test.x.astype(np.float32), batch_size=512, verbose=0).argmax(1) == test.y).mean())
    int8_acc = tflite_patch_accuracy(out, test.x, test.y)
    meta = ModelMeta(
        name=name or out.stem, version="1", labels=LABELS, max_side=cfg.max_side,
        patch_policy=replace(cfg.policy, count=patch_count),
        aggregation=Aggregation(bias=(0.0,) * len(LABELS), keep_fraction=keep_fraction, trim_fraction=trim_fraction),
        input={"dtype": "uint8", "shape": [None, cfg.policy.size, cfg.policy.size, 3], "range": [0, 255],
               "note": "raw RGB pixels; rescaling is inside the model"},
        output={"dtype": "int8", "kind": "logits", "note": "dequantize, then softmax"},
        architecture=asdict(cfg.model),
        training={"dataset_manifest_sha256": manifest_hash(dataset), "seed": cfg.seed, "epochs": cfg.epochs,
                  "batch_size": cfg.batch_size, "learning_rate": cfg.learning_rate,
                  "lr_schedule": cfg.lr_schedule, **({"ema": cfg.ema} if cfg.ema else {}),
                  **({"also_manifest_sha256": [manifest_hash(a) for a in cfg.also]} if cfg.also else {})},
        versions=_versions(),
    )
    meta_file = metadata_path(out)  # written by calibrate_model, step by step
    meta, result = calibrate_model(out, meta, dataset, calibration, policy, head, progress, source_roots)
    meta = replace(meta, metrics={"patch_accuracy_float": float_acc, "patch_accuracy_int8": int8_acc, **meta.metrics})
    write_model_meta(meta_file, meta)
    bias, temperature, test_summary, real_summary = result
    return QuantizeReport(out, meta_file, float_acc, int8_acc, out.stat().st_size, bias, temperature, test_summary,
                          real_summary)


def calibrate_model(model: Path, meta: ModelMeta, dataset: str | Path, calibration: Iterable[str | Path] = (),
                    policy: CalibrationPolicy = CalibrationPolicy(), head: HeadConfig | None = HeadConfig(),
                    progress: Callable[[int], None] | None = None,
                    source_roots: Iterable[str | Path] = ()) -> tuple[ModelMeta, tuple]:
    """Fit the image-level rule of an int8 ``model`` (head, then bias and temperature) and score it.

    With ``source_roots`` (the folders ``dataset`` was built from), its validation photos at native
    size cap how often untouched real photos are called blurry or over-sharpened (``fit_bias``).

    Writes the metadata beside ``model`` after each step and returns it with
    ``(bias, temperature, test summary, calibration summary or None)``; ``meta.metrics`` holds the
    headline figures. It converts nothing: ``iqa recalibrate`` runs it on an existing int8 model.
    """
    meta_file = metadata_path(model)
    rule = meta.aggregation
    meta = replace(meta, aggregation=replace(rule, bias=(0.0,) * len(LABELS), temperature=1.0, head=None))
    write_model_meta(meta_file, meta)
    if head is not None:
        val_items, val_logits = patch_logits_per_image(list_items(dataset, "val"), model, meta.patch_policy,
                                                       meta.max_side, progress)
        fitted = fit_blur_head(val_items, val_logits, rule.keep_fraction, rule.trim_fraction, head)
        meta = replace(meta, aggregation=replace(meta.aggregation, head=fitted))
        write_model_meta(meta_file, meta)
    val = score_items(list_items(dataset, "val"), model, progress=progress)
    real = _score_folders(calibration, model, progress)
    source_roots = tuple(source_roots)  # an iterator would always look non-empty
    native_items = held_out_photos(dataset, source_roots) if source_roots else []
    native = score_items(native_items, model, progress=progress) if native_items else None
    bias, fit = fit_bias(val, real, policy, native)
    temperature = fit_temperature([val, real], bias)
    calibrated = {**fit, "calibration_folders": [Path(c).name for c in calibration]}
    extra = {k: v for k, v in rule.extra.items() if k != "calibration"}
    meta = replace(meta, aggregation=replace(meta.aggregation, bias=tuple(bias), temperature=temperature,
                                             extra={**extra, "calibration": calibrated}))
    write_model_meta(meta_file, meta)
    test_summary = summarize(score_items(list_items(dataset, "test"), model, progress=progress))
    # log-odds are free of bias and temperature: the calibration photos need no second pass
    real_summary = summarize(real, bias, temperature) if real is not None else None
    if real_summary is not None:
        real_summary["leave_one_scene_out"] = leave_one_scene_out(val, real, policy, native)
    meta = replace(meta, metrics={**(meta.metrics or {}), "test": _headline(test_summary),
                                  "calibration": _headline(real_summary) if real_summary else None})
    write_model_meta(meta_file, meta)
    return meta, (tuple(bias), temperature, test_summary, real_summary)


def _headline(summary: dict[str, Any]) -> dict[str, Any]:
    keys = ("images", "macro_f1", "accuracy", "blurry_balanced_accuracy", "blurry_auc", "ece", "confident_wrong",
            "original_called_blurry", "partial_called_blurry", "leave_one_scene_out")
    out = {k: summary[k] for k in keys if k in summary}
    out["sharp_recall"] = summary["per_class"]["sharp"]["recall"]
    out["laplacian_baseline_balanced_accuracy"] = summary["laplacian_baseline"]["blurry_balanced_accuracy"]
    return out
