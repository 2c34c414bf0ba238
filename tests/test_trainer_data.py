"""``trainer.data.list_items``: the manifest mode and the labelled-folder mode (no TensorFlow needed)."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import save_image

from iqa.dataset.manifest import MANIFEST_COLUMNS, ManifestError, read_manifest, write_manifest
from iqa.trainer.data import ImageItem, list_items


def test_labelled_folders_take_the_nearest_label_folder(tmp_path: Path) -> None:
    for rel in ("scene1/blurry/a.jpg", "scene1/original/b.png", "sharp/c.jpg", "blurry/deep/sharp/d.jpg",
                "unlabelled/e.jpg", "f.jpg"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        save_image(tmp_path / rel)
    items = {(p.relative_to(tmp_path).as_posix(), it.label) for it in list_items(tmp_path) for p in [it.path]}
    assert items == {("scene1/blurry/a.jpg", "blurry"), ("scene1/original/b.png", "original"),
                     ("sharp/c.jpg", "sharp"), ("blurry/deep/sharp/d.jpg", "sharp")}


def test_labelled_folders_with_a_split_folder(tmp_path: Path) -> None:
    for rel in ("test/blurry/a.jpg", "train/original/b.jpg"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        save_image(tmp_path / rel)
    assert [it.label for it in list_items(tmp_path, "test")] == ["blurry"]
    assert len(list_items(tmp_path)) == 2  # no split: the whole tree


def test_manifest_mode_reads_one_split(tmp_path: Path) -> None:
    rows = [dict.fromkeys(MANIFEST_COLUMNS, "") | {"file": f"{split}/{label}/{i}.png", "split": split,
                                                    "label": label, "variant": variant}
            for i, (split, label, variant) in enumerate([("train", "blurry", "shake"), ("val", "original", "partial"),
                                                         ("val", "sharp", "boost")])]
    write_manifest(tmp_path, rows)
    assert list_items(tmp_path, "val") == [ImageItem(tmp_path / "val/original/1.png", "original", "partial"),
                                           ImageItem(tmp_path / "val/sharp/2.png", "sharp", "boost")]
    assert len(list_items(tmp_path)) == 3


def test_a_foreign_manifest_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "manifest.csv").write_text("name,size\na,1\n")
    with pytest.raises(ManifestError, match="manifest.csv.*no column file, split, label, variant"):
        read_manifest(tmp_path)
