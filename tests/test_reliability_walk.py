"""Regression tests of issue 11 for the walk: any depth, links into the tree, skipped files counted."""
from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from iqa.auditor.walk import WalkStats, iter_image_files
from conftest import save_image


def _deep(root: Path, depth: int) -> Path:
    # os.makedirs would hit PATH_MAX; build it with relative mkdirs from a moving cwd
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            nxt = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nxt
        with open(os.open("deep.png", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "wb") as fh:
            from PIL import Image

            Image.new("RGB", (40, 30), (9, 9, 9)).save(fh, format="PNG")
    finally:
        os.close(fd)
    return root



DEPTH = 1100


def test_deep_tree_is_walked_without_recursion_error(tmp_path: Path) -> None:
    # issue 11 item 3: ~1,000 nested folders gave RecursionError, exit 1, zero rows
    _deep(tmp_path, DEPTH)
    try:
        found = list(iter_image_files([tmp_path]))
    finally:  # shutil.rmtree (pytest's cleanup) recurses; GNU rm does not
        subprocess.run(["rm", "-rf", str(tmp_path / "d")], check=True)
    assert len(found) == 1 and found[0][1].endswith(os.sep.join(["d", "d", "deep.png"]))
    assert found[0][1].count(os.sep) == DEPTH




def test_link_into_the_tree_does_not_hide_the_real_folder(tmp_path: Path) -> None:
    # issue 11 item 11: "a_link" sorts before "z_real" and used to claim its files
    (tmp_path / "z_real").mkdir()
    save_image(tmp_path / "z_real" / "x.jpg")
    (tmp_path / "a_link").symlink_to(tmp_path / "z_real", target_is_directory=True)
    stats = WalkStats()
    assert [p for _, p in iter_image_files([tmp_path], stats=stats)] == ["z_real/x.jpg"]
    assert stats.linked_inside == 1


def test_link_to_a_folder_outside_is_followed_once(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    save_image(tmp_path / "outside" / "x.jpg")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "l1").symlink_to(tmp_path / "outside", target_is_directory=True)
    (tmp_path / "tree" / "l2").symlink_to(tmp_path / "outside", target_is_directory=True)
    assert [p for _, p in iter_image_files([tmp_path / "tree"])] == ["l1/x.jpg"]


def test_skipped_files_are_counted_by_reason(tmp_path: Path) -> None:
    save_image(tmp_path / "a.jpg")
    save_image(tmp_path / ".hidden.jpg")
    (tmp_path / ".cache").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    os.mkfifo(tmp_path / "pipe.jpg")
    (tmp_path / "dangling.jpg").symlink_to(tmp_path / "missing")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "s.jpg"))
    try:
        stats = WalkStats()
        assert [p for _, p in iter_image_files([tmp_path], stats=stats)] == ["a.jpg"]
    finally:
        sock.close()
    assert stats.as_dict() == {"hidden": 2, "not_image": 1, "not_regular": 3, "unreadable_dirs": 0,
                               "linked_inside": 0}
    assert stats.total == 6


def test_tilde_is_expanded(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    save_image(tmp_path / "a.jpg")
    assert list(iter_image_files(["~"])) == [(str(tmp_path), "a.jpg")]
