"""Compare patch size, width and stem stride on the validation split (patch-level accuracy).

usage: python benchmarks/compare_architectures.py DATASET RUNS_DIR [EPOCHS] [CONFIG ...]
Prints one line per configuration: best val accuracy and val loss within EPOCHS epochs, parameters,
training seconds. Same seed for all; callbacks are causal, so the first EPOCHS epochs of a longer run
with the same config are identical to a run of EPOCHS epochs.
"""
from __future__ import annotations

import sys
import time

from iqa.auditor.patches import PatchPolicy
from iqa.trainer.model import ModelConfig, build_model
from iqa.trainer.train import TrainConfig, train

CANDIDATES = {
    "p64_w16_s2": (PatchPolicy(64, 16), ModelConfig(64, width=16, stem_stride=2)),
    "p64_w16_s1": (PatchPolicy(64, 16), ModelConfig(64, width=16, stem_stride=1)),
    "p64_w32_s2": (PatchPolicy(64, 16), ModelConfig(64, width=32, stem_stride=2)),
    "p96_w16_s2": (PatchPolicy(96, 16), ModelConfig(96, width=16, stem_stride=2)),
}


def main() -> None:
    dataset, runs = sys.argv[1], sys.argv[2]
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    chosen = sys.argv[4:] or list(CANDIDATES)
    print("config,val_accuracy,best_val_loss,params,seconds", flush=True)
    for name in chosen:
        policy, model_cfg = CANDIDATES[name]
        start = time.perf_counter()
        res = train(dataset, f"{runs}/{name}", TrainConfig(epochs=epochs, policy=policy, model=model_cfg), verbose=0)
        params = build_model(model_cfg).count_params()
        print(f"{name},{res.val_accuracy:.4f},{min(res.history['val_loss']):.4f},{params},"
              f"{time.perf_counter() - start:.0f}", flush=True)


if __name__ == "__main__":
    main()
