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
from iqa.trainer.calibrate import CalibrationPolicy, fit_bias
from iqa.trainer.data import list_items, load_split_patches, manifest_hash
from iqa.trainer.evaluate import ScoredImages, score_items, summarize
from iqa.trainer.train import MODEL_FILE, load_train_config

FLOAT_TFLITE = "model_float.tflite"
KEEP_FRACTION = 0.5  # image verdict = mean over the sharpest half of the analysed patches
# Training cuts 24 patches per image (more data); the verdict reads only the 8 most textured ones:
# the most detailed regions carry the blur evidence, smooth ones look soft in any photo. Chosen by
# the calibration objective (benchmarks/compare_aggregation.py), and 3x cheaper per photo.
AUDIT_PATCH_COUNT = 8
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
                 policy: CalibrationPolicy = CalibrationPolicy(),
                 patch_count: int = AUDIT_PATCH_COUNT) -> QuantizeReport:
    """Quantize a training run to ``out`` (.tflite) and write calibrated metadata beside it.

    ``patch_count`` is how many of the most textured patches the auditor analyses per photo.
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
        aggregation=Aggregation(bias=(0.0,) * len(LABELS), keep_fraction=KEEP_FRACTION),
        input={"dtype": "uint8", "shape": [None, cfg.policy.size, cfg.policy.size, 3], "range": [0, 255],
               "note": "raw RGB pixels; rescaling is inside the model"},
        output={"dtype": "int8", "kind": "logits", "note": "dequantize, then softmax"},
        architecture=asdict(cfg.model),
        training={"dataset_manifest_sha256": manifest_hash(dataset), "seed": cfg.seed, "epochs": cfg.epochs,
                  "batch_size": cfg.batch_size, "learning_rate": cfg.learning_rate},
        versions=_versions(),
    )
    meta_file = write_model_meta(metadata_path(out), meta)
    val = score_items(list_items(dataset, "val"), out, progress=progress)
    real = _score_folders(calibration, out, progress)
    bias, fit = fit_bias(val, real, policy)
    calibrated = {**fit, "calibration_folders": [Path(c).name for c in calibration]}
    meta = replace(meta, aggregation=replace(meta.aggregation, bias=tuple(bias), extra={"calibration": calibrated}))
    write_model_meta(meta_file, meta)
    test_summary = summarize(score_items(list_items(dataset, "test"), out, progress=progress))
    # log-odds are bias-free, so the calibration photos need no second pass through the final model
    real_summary = summarize(real, bias) if real is not None else None
    meta = replace(meta, metrics={"patch_accuracy_float": float_acc, "patch_accuracy_int8": int8_acc,
                                  "test": _headline(test_summary),
                                  "calibration": _headline(real_summary) if real_summary else None})
    write_model_meta(meta_file, meta)
    return QuantizeReport(out, meta_file, float_acc, int8_acc, out.stat().st_size, bias, test_summary, real_summary)


def _headline(summary: dict[str, Any]) -> dict[str, Any]:
    keys = ("images", "macro_f1", "accuracy", "blurry_balanced_accuracy", "blurry_auc",
            "original_called_blurry", "partial_called_blurry")
    out = {k: summary[k] for k in keys if k in summary}
    out["sharp_recall"] = summary["per_class"]["sharp"]["recall"]
    out["laplacian_baseline_balanced_accuracy"] = summary["laplacian_baseline"]["blurry_balanced_accuracy"]
    return out
