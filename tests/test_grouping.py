"""Burst and near-duplicate grouping, the best frame, delete candidates and their list."""
from __future__ import annotations

import itertools
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from skimage import data

from iqa.cli import main
from iqa.auditor.grouping import (BURST, DUPLICATE, GUARANTEED_BITS, Frame, assign_groups, compatible, near_pairs,
                              pick_best)
from iqa.auditor.phash import hamming
from iqa.auditor.results import AuditResult
from iqa.reports.csv_io import iter_rows, read_results
from iqa.reports.culling import RejectsTargetError, reject_reason, write_rejects


def _flip(h: int, bits: list[int]) -> int:
    for b in bits:
        h ^= 1 << b
    return h


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=30), st.data())
def test_near_pairs_finds_every_pair_within_the_guarantee(bases: list[int], draw: st.DataObject) -> None:
    hashes = list(bases)
    for h in bases:  # a few variants of each base, 0 to 7 bits away
        bits = draw.draw(st.lists(st.integers(0, 63), max_size=GUARANTEED_BITS, unique=True))
        hashes.append(_flip(h, bits))
    pairs = list(near_pairs(hashes, GUARANTEED_BITS))
    assert all(hamming(hashes[i], hashes[j]) <= GUARANTEED_BITS for i, j in pairs)
    component = list(range(len(hashes)))  # identical hashes are chained: compare connectivity, not pairs

    def find(i: int) -> int:
        while component[i] != i:
            i = component[i]
        return i

    for i, j in pairs:
        component[find(i)] = find(j)
    for i, j in itertools.combinations(range(len(hashes)), 2):
        if hashes[i] and hashes[j] and hamming(hashes[i], hashes[j]) <= GUARANTEED_BITS:
            assert find(i) == find(j), (hashes[i], hashes[j])


def test_identical_hashes_are_chained_not_all_paired() -> None:
    pairs = list(near_pairs([5] * 1000))
    assert len(pairs) == 999
    assert list(near_pairs([0, 0, None, None])) == []  # flat or missing hashes join nothing


def test_exif_separates_look_alikes() -> None:
    a = Frame(1, "2024:06:01 10:00:00", "Cam A")
    assert compatible(a, Frame(1, "2024:06:01 10:00:30", "Cam A"))
    assert not compatible(a, Frame(1, "2024:06:01 10:05:00", "Cam A"))  # another moment
    assert not compatible(a, Frame(1, "2024:06:01 10:00:00", "Cam B"))  # another photographer
    assert compatible(a, Frame(1))  # a re-upload without EXIF


def test_groups_numbered_in_order_best_frame_and_kind() -> None:
    h = 0x0123456789ABCDEF
    frames = [Frame(0xFFFF0000FFFF0000, p_blurry=0.1),  # alone
              Frame(h, "2024:06:01 10:00:00", "C", p_blurry=0.9),
              Frame(_flip(h, [1, 2, 3, 40, 41, 50, 60, 61, 62, 63, 5, 6, 7]), "2024:06:01 10:00:01", "C",
                    p_blurry=0.05),  # 13 bits away: joined only through the capture time
              Frame(h ^ 1, "2024:06:01 10:00:02", "C", p_blurry=0.7),
              Frame(0x00FF00FF00FF00FF), Frame(0x00FF00FF00FF00FF ^ 2)]  # a re-upload pair without EXIF
    groups = assign_groups(frames)
    assert 0 not in groups
    assert {i: (m.group, m.best, m.kind) for i, m in groups.items()} == {
        1: (1, False, BURST), 2: (1, True, BURST), 3: (1, False, BURST),
        4: (2, True, DUPLICATE), 5: (2, False, DUPLICATE)}
    without_time = [Frame(f.hash, "", f.camera, f.p_blurry) for f in frames]
    assert 2 not in assign_groups(without_time)  # 13 bits is too far for look-alikes alone


def test_pick_best_prefers_the_model_then_exposure_then_sharpness() -> None:
    assert pick_best([Frame(1, p_blurry=0.9), Frame(1, p_blurry=0.3), Frame(1, p_blurry=0.6)]) == 1
    saturated = [Frame(1, p_blurry=1.0, sharpness=20), Frame(1, p_blurry=0.999, sharpness=60)]
    assert pick_best(saturated) == 1  # the model cannot tell: the classical score does
    dark = [Frame(1, p_blurry=0.01, sharpness=90, exposure_ok=False), Frame(1, p_blurry=0.02, sharpness=50)]
    assert pick_best(dark) == 1
    assert pick_best([Frame(1, p_blurry=None), Frame(1, p_blurry=0.5)]) == 1


def test_an_over_sharpened_copy_is_not_kept_over_its_original() -> None:
    """Halos raise the classical score: within a tie the untouched frame wins, whatever that score says."""
    pair = [Frame(1, p_blurry=0.0, sharpness=900, over_sharpened=True), Frame(1, p_blurry=0.01, sharpness=300)]
    assert pick_best(pair) == 1
    blurry_original = [Frame(1, p_blurry=0.0, over_sharpened=True), Frame(1, p_blurry=0.9)]
    assert pick_best(blurry_original) == 0  # a sharp, over-processed frame still beats a blurry one


def _ok(path: str, **kw: object) -> AuditResult:
    return AuditResult(path=path, status="ok", root="/photos", label=kw.pop("label", "original"), **kw)


def test_reject_reasons() -> None:
    assert reject_reason(_ok("a.jpg", label="blurry")) == "blurry"
    assert reject_reason(_ok("b.jpg", group=3, group_kind="burst", best_in_group=0)) == "not the best of burst 3"
    assert reject_reason(_ok("c.jpg", group=3, group_kind="burst", best_in_group=1)) == ""
    assert reject_reason(AuditResult(path="d.jpg", status="error", label="blurry")) == ""


def test_rejects_list_handles_hostile_names_and_never_overwrites_foreign_files(tmp_path: Path) -> None:
    rows = [_ok("ok.jpg"), _ok("sub/blur one.jpg", label="blurry"), _ok("line\nbreak.jpg", label="blurry"),
            _ok(os.fsdecode(b"bad-\xff.jpg"), label="blurry"), _ok("b.jpg", group=1, best_in_group=0)]
    out = tmp_path / "rejects.txt"
    done = write_rejects(rows, out)
    assert (done.written, done.skipped) == (3, 1)
    assert out.read_bytes().split(b"\n") == [b"/photos/sub/blur one.jpg", b"/photos/bad-\xff.jpg", b"/photos/b.jpg",
                                             b""]
    nul = write_rejects(rows, out, null=True)  # replacing our own list is fine
    assert nul.written == 4 and out.read_bytes().count(b"\0") == 4 and b"/photos/line\nbreak.jpg\0" in out.read_bytes()
    notes = tmp_path / "notes.txt"
    notes.write_text("my shopping list\n")
    with pytest.raises(RejectsTargetError):
        write_rejects(rows, notes)
    assert notes.read_text() == "my shopping list\n"


def _burst_tree(root: Path) -> Path:
    photo = np.ascontiguousarray(data.astronaut()[::2, ::2])
    (root / "burst").mkdir(parents=True)
    for i, sigma in enumerate((3.0, 0.0, 6.0)):  # the middle frame is the sharp one
        frame = cv2.GaussianBlur(photo, (0, 0), sigma) if sigma else photo
        exif = Image.Exif()
        exif[0x0110] = "Cam"
        exif.get_ifd(0x8769)[0x9003] = f"2024:06:01 10:00:0{i}"
        Image.fromarray(np.roll(frame, 2 * i, axis=1)).save(root / f"burst/f{i}.jpg", quality=90, exif=exif.tobytes())
    Image.fromarray(np.ascontiguousarray(data.chelsea())).save(root / "cat.jpg", quality=90)
    dark = (data.coffee().astype(np.float32) * 0.1).astype(np.uint8)
    Image.fromarray(dark).save(root / "dark.jpg", quality=90)
    return root


def test_audit_groups_lists_rejects_and_resume_gives_the_same_csv(tmp_path: Path) -> None:
    root = _burst_tree(tmp_path / "photos")
    out, rejects = tmp_path / "out", tmp_path / "rejects.txt"
    args = ["audit", str(root), "-o", str(out), "--workers", "1", "--quiet"]
    result = CliRunner().invoke(main, [*args, "--list-rejects", str(rejects)])
    assert result.exit_code == 0, result.output
    rows = {r.path: r for r in read_results(out / "audit.csv")}
    assert [rows[f"burst/f{i}.jpg"].group for i in range(3)] == [1, 1, 1]
    assert [rows[f"burst/f{i}.jpg"].best_in_group for i in range(3)] == [0, 1, 0]
    assert rows["cat.jpg"].group is None and rows["dark.jpg"].exposure == "under"
    listed = rejects.read_text().splitlines()
    assert str(root / "burst/f0.jpg") in listed and str(root / "burst/f2.jpg") in listed
    assert str(root / "burst/f1.jpg") not in listed
    full = (out / "audit.csv").read_bytes()
    lines = full.split(b"\r\n")  # drop the burst's last rows as a kill would, and clear the groups of the rest
    kept = [lines[0]] + [line for line in lines[1:] if b"f2.jpg" not in line and b"dark" not in line and line]
    (out / "audit.csv").write_bytes(b"\r\n".join(kept) + b"\r\n")
    again = CliRunner().invoke(main, [*args, "--no-report"])
    assert again.exit_code == 0, again.output
    assert (out / "audit.csv").read_bytes() == full


def test_rejects_target_that_is_not_ours_fails_before_the_audit(tmp_path: Path) -> None:
    root = _burst_tree(tmp_path / "photos")
    target = tmp_path / "keep.txt"
    target.write_text("important\n")
    result = CliRunner().invoke(main, ["audit", str(root), "-o", str(tmp_path / "out"), "--workers", "1",
                                       "--list-rejects", str(target)])
    assert result.exit_code == 2 and "not overwriting" in result.output
    assert target.read_text() == "important\n" and not (tmp_path / "out").exists()


def test_no_groups_leaves_the_columns_empty(tmp_path: Path) -> None:
    root = _burst_tree(tmp_path / "photos")
    result = CliRunner().invoke(main, ["audit", str(root), "-o", str(tmp_path / "out"), "--workers", "1", "--quiet",
                                       "--no-groups", "--no-report"])
    assert result.exit_code == 0
    assert all(row["group"] == "" for row in iter_rows(tmp_path / "out/audit.csv"))


def test_check_fail_on_exposure(tmp_path: Path) -> None:
    root = _burst_tree(tmp_path / "photos")
    result = CliRunner().invoke(main, ["check", str(root / "dark.jpg"), str(root / "cat.jpg"), "--fail-on",
                                       "exposure"])
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [f"{root / 'dark.jpg'}: exposure under (score=" + result.stdout.split("=")[1]
                                          .splitlines()[0]]
    assert CliRunner().invoke(main, ["check", str(root / "cat.jpg"), "--fail-on", "exposure"]).exit_code == 0
    assert CliRunner().invoke(main, ["check", str(root), "--fail-on", "exposure,fuzzy"]).exit_code == 2
