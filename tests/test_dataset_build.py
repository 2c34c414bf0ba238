"""Dataset builder: determinism, split by source, bad sources skipped, CIFAR and seed layouts."""
from __future__ import annotations

import csv
import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from iqa.cli import main
from iqa.auditor.imaging import open_image
from iqa.auditor.labels import LABELS
from iqa.dataset.build import BuildConfig, build_dataset, list_sources
from iqa.dataset.cifar import iter_cifar
from iqa.dataset.manifest import MANIFEST_COLUMNS

skdata = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twelve small photos cut from scikit-image's shipped images, one broken file, one subfolder."""
    root = tmp_path_factory.mktemp("photos")
    (root / "sub").mkdir()
    big = skdata.astronaut()
    for i in range(12):
        y, x = (i * 29) % 320, (i * 23) % 270
        crop = np.ascontiguousarray(big[y : y + 180, x : x + 240, ::-1])
        cv2.imwrite(str(root / ("sub" if i % 3 == 0 else "") / f"p{i:02d}.png"), crop)
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return root


def _manifest(out: Path) -> list[dict[str, str]]:
    with open(out / "manifest.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_build_is_deterministic_split_by_source_and_skips_bad_files(photo_dir: Path, tmp_path: Path) -> None:
    sources = list_sources([photo_dir])
    a = build_dataset(sources, tmp_path / "a", BuildConfig(seed=3, workers=2))
    build_dataset(sources, tmp_path / "b", BuildConfig(seed=3, workers=1))
    assert (tmp_path / "a/manifest.csv").read_bytes() == (tmp_path / "b/manifest.csv").read_bytes()
    assert [k for k, _ in a.skipped] == ["0:broken.jpg"] and a.sources == 13
    rows = _manifest(tmp_path / "a")
    assert len(rows) == a.samples == 12 * 9
    splits_of: dict[str, set[str]] = {}
    for r in rows:
        splits_of.setdefault(r["source"], set()).add(r["split"])
        assert r["file"].startswith(f"{r['split']}/{r['label']}/")
        assert (tmp_path / "a" / r["file"]).is_file()
    assert all(len(s) == 1 for s in splits_of.values())
    assert {s for v in splits_of.values() for s in v} == {"train", "val", "test"}
    c = build_dataset(sources, tmp_path / "c", BuildConfig(seed=4, workers=2))
    assert (tmp_path / "c/manifest.csv").read_bytes() != (tmp_path / "a/manifest.csv").read_bytes()
    assert c.counts == a.counts


def test_samples_are_written_at_analysis_scale_and_loadable(photo_dir: Path, tmp_path: Path) -> None:
    report = build_dataset(list_sources([photo_dir]), tmp_path, BuildConfig(seed=1, workers=1))
    for r in _manifest(tmp_path)[:16]:
        img = open_image(tmp_path / r["file"])
        assert max(img.width, img.height) <= 1024
        assert r["label"] in LABELS
        assert (r["jpeg_quality"] != "") == r["file"].endswith(".jpg")
    assert report.counts["blurry"] == 36 and report.counts["original"] == 48  # + the unshrunk "native" variant


def test_native_variant_is_the_unshrunk_photo_labelled_original(photo_dir: Path, tmp_path: Path) -> None:
    build_dataset(list_sources([photo_dir]), tmp_path, BuildConfig(seed=2, workers=1))
    rows = {(r["source"], r["variant"]): r for r in _manifest(tmp_path)}
    checked = 0
    for (source, variant), r in rows.items():
        if variant != "native" or r["resample"]:
            continue
        shrunk = rows[(source, "original")]
        assert r["label"] == "original" and float(r["source_scale"]) == 1.0 > float(shrunk["source_scale"])
        native, small = open_image(tmp_path / r["file"]), open_image(tmp_path / shrunk["file"])
        assert (native.width, native.height) == (240, 180) and native.width > small.width
        checked += 1
    assert checked >= 3


def _fake_cifar(folder: Path, n: int = 10) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    for name in ("data_batch_1", "test_batch"):
        with open(folder / name, "wb") as fh:
            pickle.dump({b"data": data, b"labels": list(range(n))}, fh)
    return folder


def test_cifar_reader_and_seed_layout(tmp_path: Path) -> None:
    cifar = _fake_cifar(tmp_path / "cifar-10-batches-py")
    items = list(iter_cifar(tmp_path, limit=15))
    assert len(items) == 15 and items[0][1].shape == (32, 32, 3) and items[0][0] == "cifar/data_batch_1/0"
    result = CliRunner().invoke(main, ["dataset", "build", "--cifar", str(cifar), "-o", str(tmp_path / "seed"),
                                       "--layout", "seed", "--count", "6", "--seed", "2", "--quiet"])
    assert result.exit_code == 0, result.output
    for label in LABELS:
        assert len(list((tmp_path / "seed" / label).iterdir())) == 6
    rows = _manifest(tmp_path / "seed")
    assert len(rows) == 18
    by_label = {label: {r["variant"] for r in rows if r["label"] == label} for label in LABELS}
    assert by_label == {"original": {"original"}, "sharp": {"unsharp"}, "blurry": {"gaussian", "defocus", "shake"}}
    with open(tmp_path / "seed" / "manifest.csv", encoding="utf-8") as fh:
        assert tuple(next(csv.reader(fh))) == MANIFEST_COLUMNS


def test_cli_requires_a_source(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["dataset", "build", "-o", str(tmp_path / "x")])
    assert result.exit_code == 2


def test_split_seed_keeps_the_held_out_photos_while_the_degradations_change():
    from iqa.dataset.build import BuildConfig, Source, _tasks

    sources = [Source(key=f"0:{i:03d}.jpg", path=Path(f"{i:03d}.jpg")) for i in range(40)]

    def splits(config: BuildConfig) -> list[str]:
        return [task[2] for task in _tasks(sources, config, Path("out"))]

    assert splits(BuildConfig(seed=2, split_seed=1)) == splits(BuildConfig(seed=1))
    assert splits(BuildConfig(seed=2)) != splits(BuildConfig(seed=1))
