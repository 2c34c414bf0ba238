"""Schemas defined once: model metadata, dataset manifest, the CSV's sidecar, shared defaults."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import save_image

from iqa.auditor import defaults, imaging
from iqa.auditor.model import default_model_path, load_model_info, metadata_path
from iqa.auditor.model_meta import ModelError, ModelMeta, read_model_meta, write_model_meta
from iqa.auditor.patches import PatchPolicy
from iqa.cli import main
from iqa.reports.csv_io import read_results
from iqa.reports.sidecar import read_sidecar, sidecar_path

SHIPPED_JSON = metadata_path(default_model_path())


def test_shipped_metadata_round_trips_byte_for_byte(tmp_path: Path) -> None:
    meta = read_model_meta(SHIPPED_JSON)
    assert meta.labels == ("blurry", "original", "sharp") and meta.patch_policy.count == 8
    write_model_meta(tmp_path / "m.json", meta)
    assert (tmp_path / "m.json").read_bytes() == SHIPPED_JSON.read_bytes()


def test_unknown_keys_are_kept(tmp_path: Path) -> None:
    data = json.loads(SHIPPED_JSON.read_text())
    data["aggregation"]["temperature"] = 1.5
    data["provenance"] = {"by": "a newer trainer"}
    meta = ModelMeta.from_json(data, "x.json")
    assert meta.aggregation.extra["temperature"] == 1.5
    assert meta.to_json() == data


def _model_with(tmp_path: Path, edit) -> Path:
    model = tmp_path / "m.tflite"
    shutil.copy(default_model_path(), model)
    data = json.loads(SHIPPED_JSON.read_text())
    edit(data)
    metadata_path(model).write_text(json.dumps(data))
    return model


@pytest.mark.parametrize("edit, field", [
    (lambda d: d["aggregation"].update(bias=[1.0, 2.0]), "aggregation.bias"),
    (lambda d: d.update(max_side=0), "max_side"),
    (lambda d: d.update(max_side="big"), "max_side"),
    (lambda d: d["patch_policy"].update(size=128) or d.update(max_side=100), "patch_policy.size"),
    (lambda d: d["aggregation"].update(keep_fraction=0), "keep_fraction"),
    (lambda d: d.pop("patch_policy"), "patch_policy"),
    (lambda d: d.update(labels=["sharp", "original", "blurry"]), "labels"),
])
def test_bad_metadata_names_the_file_and_the_field(tmp_path: Path, edit, field: str) -> None:
    model = _model_with(tmp_path, edit)
    with pytest.raises(ModelError) as err:
        load_model_info(model)
    assert str(metadata_path(model)) in str(err.value) and field.split(".")[-1] in str(err.value)


def test_defaults_are_defined_once() -> None:
    assert imaging.DEFAULT_MAX_SIDE == defaults.MAX_SIDE
    assert (PatchPolicy().size, PatchPolicy().count) == (defaults.PATCH_SIZE, defaults.TRAINING_PATCH_COUNT)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    root.mkdir()
    for i in range(3):
        save_image(root / f"p{i}.jpg", 200, 150, seed=i)
    return root


def test_max_side_sets_the_analysis_scale_and_is_recorded(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["audit", str(photos), "-o", str(out), "--workers", "1", "--quiet", "--no-report"]
    assert CliRunner().invoke(main, [*args, "--max-side", "100"]).exit_code == 0
    rows = read_results(out / "audit.csv")
    assert {(r.analysis_width, r.analysis_height) for r in rows} == {(100, 75)}
    side = read_sidecar(out / "audit.csv")
    assert side["max_side"] == 100 and side["schema_version"] == 1
    assert side["model"]["sha256"] == __import__("hashlib").sha256(default_model_path().read_bytes()).hexdigest()
    # resuming at another scale says so: the kept rows were analysed differently
    save_image(photos / "p9.jpg", 200, 150, seed=9)
    again = CliRunner().invoke(main, [*args, "--max-side", "64"])
    assert again.exit_code == 0 and "max side 100" in again.stderr and "--fresh" in again.stderr


def test_the_sidecar_is_optional_and_a_foreign_one_is_kept(photos: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["audit", str(photos), "-o", str(out), "--workers", "1", "--quiet", "--no-report"]
    assert CliRunner().invoke(main, args).exit_code == 0
    sidecar_path(out / "audit.csv").unlink()  # an audit folder from before the sidecar existed
    assert read_sidecar(out / "audit.csv") is None
    sidecar_path(out / "audit.csv").write_text('{"mine": true}')
    save_image(photos / "p9.jpg", 200, 150, seed=9)
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0 and len(read_results(out / "audit.csv")) == 4
    assert json.loads(sidecar_path(out / "audit.csv").read_text()) == {"mine": True}
    assert "not an iqa file" in again.stderr
