"""Discovery of image files: hidden files, sniffing, symlink loops, determinism."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import MixedTree, save_image

from iqa.auditor.display import display_path, printable
from iqa.auditor.walk import iter_image_files, sniff_image, walk_order_key


def _paths(roots: list, **kwargs: bool) -> list[str]:
    return [path for _root, path in iter_image_files(roots, **kwargs)]


def test_lists_every_image_once_and_nothing_else(mixed_tree: MixedTree) -> None:
    paths = _paths([mixed_tree.root])
    assert len(paths) == len(set(paths))
    assert set(paths) == mixed_tree.files
    assert not set(paths) & set(mixed_tree.ignored)


def test_root_is_absolute_and_joins_back_to_the_file(mixed_tree: MixedTree, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(mixed_tree.root.parent)
    for root, path in iter_image_files([mixed_tree.root.name]):
        assert os.path.isabs(root)
        assert os.path.isfile(os.path.join(root, path))


def test_order_is_deterministic_and_sorted_by_components(mixed_tree: MixedTree) -> None:
    first = _paths([mixed_tree.root])
    assert first == _paths([mixed_tree.root])
    key = walk_order_key([mixed_tree.root])
    root = str(mixed_tree.root)
    assert first == sorted(first, key=lambda p: key(root, p))


def test_hidden_files_only_on_request(mixed_tree: MixedTree) -> None:
    with_hidden = set(_paths([mixed_tree.root], include_hidden=True))
    assert {".hidden.jpg", ".cache/inside.jpg"} <= with_hidden
    assert "notes.txt" not in with_hidden  # hidden or not, text is not an image


def test_sniffing_files_without_image_extension(tmp_path: Path) -> None:
    save_image(tmp_path / "IMG_0001", fmt="JPEG")
    (tmp_path / "notes").write_text("hello")
    (tmp_path / "fake.jpg").write_text("text in a .jpg is still a candidate")
    (tmp_path / "data.bin").write_bytes(b"\x00" * 100)
    assert _paths([tmp_path]) == ["IMG_0001", "fake.jpg"]


@pytest.mark.parametrize("head", [b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF\0\0\0\0WEBPVP8 ",
                                  b"II*\x00", b"MM\x00*", b"BM", b"\0\0\0\x18ftypheic"])
def test_sniff_magic_numbers(head: bytes) -> None:
    assert sniff_image(head)


def test_sniff_rejects_text() -> None:
    assert not sniff_image(b"hello world")
    assert not sniff_image(b"")


def test_symlink_loop_terminates(tmp_path: Path) -> None:
    save_image(tmp_path / "a.jpg")
    (tmp_path / "sub").mkdir()
    save_image(tmp_path / "sub" / "b.jpg")
    (tmp_path / "sub" / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "self").symlink_to(tmp_path / "sub", target_is_directory=True)
    # issue 11: links into the walked tree are not followed, so "sub" keeps its rows under its own path
    assert _paths([tmp_path]) == ["a.jpg", "sub/b.jpg"]


def test_broken_symlink_and_fifo_are_skipped(tmp_path: Path) -> None:
    save_image(tmp_path / "a.jpg")
    (tmp_path / "dangling.jpg").symlink_to(tmp_path / "missing.jpg")
    os.mkfifo(tmp_path / "pipe.jpg")  # opening it would block forever
    assert _paths([tmp_path]) == ["a.jpg"]


def test_single_file_root_and_no_double_listing(tmp_path: Path) -> None:
    save_image(tmp_path / "a.jpg")
    save_image(tmp_path / "b.jpg")
    assert list(iter_image_files([tmp_path / "a.jpg"])) == [(str(tmp_path), "a.jpg")]
    both = list(iter_image_files([tmp_path / "a.jpg", tmp_path, tmp_path / "a.jpg"]))
    assert both == [(str(tmp_path), "a.jpg"), (str(tmp_path), "b.jpg")]
    nested = list(iter_image_files([tmp_path, tmp_path]))
    assert nested == [(str(tmp_path), "a.jpg"), (str(tmp_path), "b.jpg")]


def test_explicit_hidden_file_is_listed(tmp_path: Path) -> None:
    save_image(tmp_path / ".secret.jpg")
    assert _paths([tmp_path / ".secret.jpg"]) == [".secret.jpg"]


def test_missing_root_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        list(iter_image_files([tmp_path / "nope"]))


def test_printable_escapes_control_characters_and_raw_bytes() -> None:
    shown = printable("a\nb\x1b[31m" + os.fsdecode(b"\xff") + "é")
    assert "\n" not in shown and "\x1b" not in shown
    assert shown == "a\\nb\\x1b[31m\\xffé"
    shown.encode("utf-8")  # no lone surrogates left


def test_display_path_is_relative_below_cwd(tmp_path: Path) -> None:
    assert display_path(str(tmp_path), "x/y.jpg", cwd=str(tmp_path)) == os.path.join("x", "y.jpg")
    assert display_path(str(tmp_path), "y.jpg", cwd="/nonexistent-dir") == str(tmp_path / "y.jpg")
