"""End to end on tiny data: dataset build -> train -> quantize -> evaluate (needs TensorFlow)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from iqa.cli import main
from iqa.auditor.labels import LABELS
from iqa.dataset.manifest import read_manifest

pytestmark = [pytest.mark.tf, pytest.mark.slow]
pytest.importorskip("tensorflow")
skdata = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def tiny_photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny_photos")
    images = [skdata.astronaut(), skdata.coffee(), skdata.chelsea(), skdata.rocket()]
    for i in range(10):
        img = images[i % len(images)]
        y, x = (i * 17) % (img.shape[0] - 200), (i * 31) % (img.shape[1] - 260)
        cv2.imwrite(str(root / f"photo{i}.png"), np.ascontiguousarray(img[y : y + 200, x : x + 260, ::-1]))
    return root


def test_build_train_quantize_evaluate(tiny_photos: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    data, run, model = tmp_path / "data", tmp_path / "run", tmp_path / "m" / "tiny.tflite"
    r = runner.invoke(main, ["dataset", "build", "--source", str(tiny_photos), "-o", str(data), "--seed", "1",
                             "--quiet"])
    assert r.exit_code == 0, r.output
    again, other = tmp_path / "again", tmp_path / "other"  # another draw of the same split; another split
    for out, seeds in ((again, ["--seed", "2", "--split-seed", "1"]), (other, ["--seed", "3"])):
        r = runner.invoke(main, ["dataset", "build", "--source", str(tiny_photos), "-o", str(out), *seeds, "--quiet"])
        assert r.exit_code == 0, r.output
    train = ["train", str(data), "-o", str(run), "--epochs", "2", "--batch-size", "32", "--patches", "4", "--width", "8"]
    r = runner.invoke(main, [*train, "--also", str(other)])
    assert r.exit_code == 1 and "holds out for validation or test" in r.output, r.output
    r = runner.invoke(main, [*train, "--also", str(again), "--weight", "native=2", "--lr-schedule", "cosine"])
    assert r.exit_code == 0, r.output
    from iqa.trainer.train import load_train_config

    config = load_train_config(run)[0]
    assert config.variant_weights == (("native", 2.0),) and config.lr_schedule == "cosine"
    for name in ("model.keras", "history.csv", "curves.png", "confusion.png", "report.html"):
        assert (run / name).is_file(), name
    r = runner.invoke(main, ["quantize", str(run), "-o", str(model), "--calibration", str(data / "test"),
                             "--patch-count", "2", "--sources", str(tiny_photos)])
    assert "int8 model" in r.output
    # a 2-epoch model may lose more than the 1-point budget to int8: then, and only then, exit 1
    loss = re.search(r"\(loss (-?[0-9.]+) points; budget ([0-9.]+)\)", r.output)
    assert loss, r.output
    assert r.exit_code == (1 if float(loss[1]) > float(loss[2]) else 0), r.output
    meta = json.loads(model.with_suffix(".json").read_text())
    assert tuple(meta["labels"]) == LABELS and len(meta["aggregation"]["bias"]) == 3
    assert len(meta["training"]["also_manifest_sha256"]) == 1 and meta["training"]["lr_schedule"] == "cosine"
    val_sources = {r["source"] for r in read_manifest(data, "val")}
    assert meta["aggregation"]["calibration"]["native"]["photos"] == len(val_sources) > 0
    # trained on 4 patches per image, the auditor analyses the 2 most textured ones
    assert meta["patch_policy"] == {"size": 64, "count": 2, "max_fraction": 0.5, "half_step_below": 47}
    assert meta["aggregation"]["keep_fraction"] == 0.5
    assert model.stat().st_size < 1_000_000
    r = runner.invoke(main, ["evaluate", str(model), str(data), "--json", "-o", str(tmp_path / "eval")])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["images"] == len(list((data / "test").rglob("*.*")))
    assert sum(map(sum, summary["confusion"])) == summary["images"]
    assert 0 <= summary["laplacian_baseline"]["blurry_balanced_accuracy"] <= 1
    assert (tmp_path / "eval" / "report.html").is_file()
    assert (tmp_path / "eval" / "reliability.png").is_file() and 0 <= summary["ece"] <= 1
    rule = meta["aggregation"]
    assert rule["temperature"] > 0 and 0 <= rule["trim_fraction"] < rule["keep_fraction"]
    assert 0 <= meta["metrics"]["calibration"]["leave_one_scene_out"]["balanced_accuracy"] <= 1
    # the image-level head was fitted on the val split; recalibrating without it removes it, in place
    head = rule["head"]
    assert len(head["weights"]) == len(head["features"]) and head["training"]["images"] > 0
    from iqa.auditor.model import load_model_info

    assert load_model_info(model).head is not None
    r = runner.invoke(main, ["recalibrate", str(model), str(data), "--no-head"])
    assert r.exit_code == 0, r.output
    assert "calibrated bias" in r.output
    after = json.loads(model.with_suffix(".json").read_text())
    assert "head" not in after["aggregation"] and load_model_info(model).head is None
    assert after["metrics"]["patch_accuracy_int8"] == meta["metrics"]["patch_accuracy_int8"]
