"""``trainer.data.list_items``: the manifest mode and the labelled-folder mode (no TensorFlow needed)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import save_image

from iqa.dataset.manifest import MANIFEST_COLUMNS, ManifestError, read_manifest, write_manifest
from iqa.trainer.data import (ImageItem, PatchData, check_same_split, concat_patches, held_out_photos,
                              list_items)


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


def _build(root: Path, splits: dict[str, str]) -> Path:
    """A manifest-only build: one original image per source, in the split given."""
    root.mkdir()
    write_manifest(root, [dict.fromkeys(MANIFEST_COLUMNS, "") | {"file": f"{split}/original/{i}.png", "source": src,
                                                                "split": split, "label": "original",
                                                                "variant": "original"}
                          for i, (src, split) in enumerate(splits.items())])
    return root


def test_another_draw_of_the_same_split_may_join_training(tmp_path: Path) -> None:
    first = _build(tmp_path / "a", {"0:x.jpg": "train", "0:y.jpg": "val", "0:z.jpg": "test"})
    again = _build(tmp_path / "b", {"0:x.jpg": "train", "0:y.jpg": "val", "0:z.jpg": "test"})
    check_same_split(first, [again])  # no error


@pytest.mark.parametrize("leaked", ["0:y.jpg", "0:z.jpg"])
def test_a_draw_that_trains_on_held_out_photos_is_refused(tmp_path: Path, leaked: str) -> None:
    first = _build(tmp_path / "a", {"0:x.jpg": "train", "0:y.jpg": "val", "0:z.jpg": "test"})
    other = _build(tmp_path / "b", {"0:x.jpg": "val", leaked: "train"})
    with pytest.raises(ValueError, match="trains on 1 source photo"):
        check_same_split(first, [other])


def test_concatenated_patches_keep_image_indices_apart() -> None:
    def part(images: list[int], label: int) -> PatchData:
        n = len(images)
        return PatchData(np.full((n, 2, 2, 3), label, np.uint8), np.full(n, label), np.array(images))

    joined = concat_patches([part([0, 0, 1], 0), part([0, 2], 2)])
    assert joined.image.tolist() == [0, 0, 1, 2, 4]
    assert joined.y.tolist() == [0, 0, 0, 2, 2] and joined.x.shape == (5, 2, 2, 3)


def test_held_out_photos_are_the_split_sources_at_native_size(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    for rel in ("a.jpg", "sub/b.jpg", "c.jpg"):
        (photos / rel).parent.mkdir(parents=True, exist_ok=True)
        save_image(photos / rel)
    build = _build(tmp_path / "build", {"0:a.jpg": "train", "0:sub/b.jpg": "val", "0:gone.jpg": "val",
                                        "cifar:7": "val", "0:c.jpg": "test"})
    assert held_out_photos(build, [photos]) == [ImageItem(photos / "sub/b.jpg", "original", "native")]
    assert [it.path.name for it in held_out_photos(build, [photos], "test")] == ["c.jpg"]
