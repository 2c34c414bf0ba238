"""Per-patch inference time: shipped int8 TFLite vs the float model, measured side by side.

usage: python benchmarks/bench_model.py RUN_DIR [--model models/default.tflite] [--batch 16] [--seconds 3]

RUN_DIR is the training run the int8 model came from (it holds model.keras and, after
`iqa quantize`, model_float.tflite). Prints ms per patch for: int8 TFLite (LiteRT), float32
TFLite (LiteRT, same network), and float Keras (TensorFlow), then the speed-up ratios, and the
model's CPU time per image: one invoke on the ``patch_policy.count`` patches an image gets (what a
worker does per file), side by side with any ``--compare`` models (e.g. the previous default).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Callable

import numpy as np

from common import cpu_summary  # this script's folder
from iqa.auditor.model import PatchClassifier, default_model_path, load_model_info


def per_patch_ms(fn: Callable[[np.ndarray], object], x: np.ndarray, seconds: float) -> float:
    fn(x)  # warm-up: allocation, delegate set-up
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn(x)
        n += 1
    return (time.perf_counter() - start) / (n * len(x)) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    ap.add_argument("--model", default=str(default_model_path()))
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--compare", action="append", default=[], help="other .tflite models, per-image time only")
    args = ap.parse_args()
    info = load_model_info(args.model)
    s = info.policy.size
    x = np.random.default_rng(0).integers(0, 256, (args.batch, s, s, 3), dtype=np.uint8)
    results = {"int8 tflite": per_patch_ms(PatchClassifier(args.model).logits, x, args.seconds)}
    float_path = Path(args.run_dir) / "model_float.tflite"
    if float_path.is_file():
        results["float tflite"] = per_patch_ms(PatchClassifier(float_path).logits, x, args.seconds)
    try:
        import keras

        model = keras.models.load_model(Path(args.run_dir) / "model.keras")
        xf = x.astype(np.float32)
        results["float keras"] = per_patch_ms(lambda b: model(b, training=False), xf, args.seconds)
    except ImportError:
        pass
    print(f"model: {args.model} ({Path(args.model).stat().st_size / 1024:.0f} KiB), batch {args.batch}, 1 thread")
    print(f"cpu: {cpu_summary()}")
    for name, ms in results.items():
        print(f"{name:13} {ms:8.4f} ms/patch")
    base = results["int8 tflite"]
    for name, ms in results.items():
        if name != "int8 tflite":
            print(f"int8 speed-up over {name}: {ms / base:.2f}x")
    for path in [args.model, *args.compare]:
        policy = load_model_info(path).policy  # each model at its own patch size and count
        image = np.random.default_rng(1).integers(0, 256, (policy.count, policy.size, policy.size, 3), dtype=np.uint8)
        ms = per_patch_ms(PatchClassifier(path).logits, image, args.seconds) * policy.count
        print(f"per image: {ms:.3f} ms CPU for {policy.count} patches of {policy.size} px ({path})")


if __name__ == "__main__":
    main()
