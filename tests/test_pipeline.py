"""The streaming audit: one result per file, in walk order, errors as rows, bounded work in flight."""
from __future__ import annotations

import itertools
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import PYTHON, FakeClassifier, MixedTree

from iqa.auditor.model import ModelError, load_model_info, sharpest_patches
from iqa.auditor.patches import PatchPolicy
from iqa.auditor.pipeline import AuditConfig, audit, audit_dataframe
from iqa.auditor.engine import ProcessPool
from iqa.auditor.workers import Task, analyse_file, init_worker, timed_out
from iqa.auditor.results import CSV_COLUMNS, decode_patches
from iqa.auditor.walk import iter_image_files


@pytest.fixture(scope="module")
def mixed_results(mixed_tree: MixedTree) -> list:
    return list(audit([mixed_tree.root], AuditConfig(workers=1), classifier=FakeClassifier((2.0, 0.0, 0.0))))


def test_one_result_per_file_in_walk_order(mixed_tree: MixedTree, mixed_results: list) -> None:
    walked = [path for _root, path in iter_image_files([mixed_tree.root])]
    assert [r.path for r in mixed_results] == walked
    assert {r.root for r in mixed_results} == {str(mixed_tree.root)}


def test_good_files_decode_with_oriented_size(mixed_tree: MixedTree, mixed_results: list) -> None:
    by_path = {r.path: r for r in mixed_results}
    for path, size in mixed_tree.good.items():
        r = by_path[path]
        assert r.ok, (path, r.error)
        assert (r.width, r.height) == size, path
        assert r.bytes == (mixed_tree.root / path).stat().st_size
    assert by_path["formats/photo.heic"].format == "HEIF"
    assert by_path["formats/cmyk.jpg"].format == "JPEG"


def test_broken_files_become_error_rows(mixed_tree: MixedTree, mixed_results: list) -> None:
    by_path = {r.path: r for r in mixed_results}
    for path in mixed_tree.broken:
        r = by_path[path]
        assert r.status == "error" and r.error, path
        assert r.label == "" and r.p_blurry is None
    assert by_path["broken/empty.jpg"].bytes == 0
    assert "bomb" in by_path["broken/bomb.png"].error or "large" in by_path["broken/bomb.png"].error


def test_probabilities_and_patch_encoding(mixed_results: list) -> None:
    # the fake classifier gives every patch logits (2, 0, 0); the shipped model's bias is added, then its
    # temperature divides (per patch; the image verdict goes through the model's image-level head)
    info = load_model_info()
    b, t = info.bias, info.temperature
    blurry, original, sharp = math.exp((2.0 + b[0]) / t), math.exp(b[1] / t), math.exp(b[2] / t)
    expected = [blurry / (blurry + original + sharp)]
    r = next(r for r in mixed_results if r.path == "formats/photo.bmp")
    patches = decode_patches(r.patches)
    same = np.tile(np.float32([2.0, 0.0, 0.0]), (len(patches), 1))
    band = sharpest_patches(same, info.keep_fraction, info.trim_fraction)
    margin = info.head.margin(same, band) if info.head else 2.0  # blurry minus the best other logit
    image_blurry = math.exp((margin + b[0]) / t)
    assert r.label == "blurry"
    assert r.p_blurry == pytest.approx(image_blurry / (image_blurry + original + sharp), abs=1e-6)
    assert r.p_blurry + r.p_original + r.p_sharp == pytest.approx(1.0, abs=1e-5)
    assert r.confidence == r.p_blurry
    assert 1 <= len(patches) <= load_model_info().policy.count
    assert all(p == pytest.approx(expected[0], abs=1e-3) for _y, _x, p in patches)
    assert r.patch_size == 64 and (r.analysis_width, r.analysis_height) == (80, 60)
    assert r.sharpness > 0


def test_skip_and_single_file_root(mixed_tree: MixedTree) -> None:
    root = str(mixed_tree.root)
    skip = {(root, p) for p in mixed_tree.files if not p.startswith("orient/")}
    got = list(audit([mixed_tree.root], AuditConfig(workers=1), skip=skip, classifier=FakeClassifier()))
    assert [r.path for r in got] == [f"orient/o{i}.jpg" for i in range(1, 9)]
    one = list(audit([mixed_tree.root / "orient/o6.jpg"], AuditConfig(workers=1), classifier=FakeClassifier()))
    assert [(r.root, r.path, r.width, r.height) for r in one] == [(root + "/orient", "o6.jpg", 24, 48)]


def test_errors_are_raised_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(ModelError):
        audit([tmp_path], AuditConfig(model_path=tmp_path / "missing.tflite"))
    with pytest.raises(FileNotFoundError):
        audit([tmp_path / "missing"])


def test_worker_never_raises_for_a_bad_file(tmp_path: Path) -> None:
    task = Task(str(tmp_path), "gone.jpg", 256, PatchPolicy(64, 16))
    assert analyse_file(task).error == "file not found"
    (tmp_path / "dir.jpg").mkdir()
    assert analyse_file(Task(str(tmp_path), "dir.jpg", 256, PatchPolicy(64, 16))).error == "not a regular file"


def test_pool_matches_in_process_and_bounds_work_in_flight(photo_dir) -> None:
    root = photo_dir(24)
    pulled = itertools.count()

    def tasks():
        for r, p in iter_image_files([root]):
            next(pulled)
            yield Task(r, p, 256, PatchPolicy(64, 16))

    stream = ProcessPool(2, 120, init_worker).map_ordered(analyse_file, tasks(), timed_out)
    first = next(stream)
    in_flight = next(pulled)  # tasks taken from the walk so far
    assert in_flight <= 2 * 4 + 1  # the window, not the whole folder
    rest = list(stream)
    serial = [analyse_file(t) for t in (Task(r, p, 256, PatchPolicy(64, 16)) for r, p in iter_image_files([root]))]
    pooled = [first, *rest]
    assert [a.path for a in pooled] == [a.path for a in serial]
    assert all(np.array_equal(a.patches, b.patches) and a.sharpness == b.sharpness for a, b in zip(pooled, serial))


def test_thumbnails_are_made_from_the_analysed_image(photo_dir) -> None:
    import cv2

    root = photo_dir(2)
    (r, p), _ = iter_image_files([root])
    plain = analyse_file(Task(r, p, 256, PatchPolicy(64, 16)))
    a = analyse_file(Task(r, p, 256, PatchPolicy(64, 16), thumb_side=60))
    assert plain.thumbnail is None and a.thumbnail is not None
    thumb = cv2.imdecode(np.frombuffer(a.thumbnail, np.uint8), cv2.IMREAD_COLOR)
    assert max(thumb.shape[:2]) == 60
    ratio = a.analysis_width / a.analysis_height
    assert thumb.shape[1] / thumb.shape[0] == pytest.approx(ratio, rel=0.05)
    assert a.small_thumbnail is None
    both = analyse_file(Task(r, p, 256, PatchPolicy(64, 16), thumb_side=60, small_thumb_side=24))
    small = cv2.imdecode(np.frombuffer(both.small_thumbnail, np.uint8), cv2.IMREAD_COLOR)
    assert both.thumbnail == a.thumbnail and max(small.shape[:2]) == 24
    assert small.shape[1] / small.shape[0] == pytest.approx(ratio, rel=0.1)
    seen = []
    config = AuditConfig(workers=1, thumbnail_side=60, small_thumbnail_side=24)
    results = list(audit([root], config, classifier=FakeClassifier(),
                         on_thumbnail=lambda res, jpeg, tiny: seen.append((res.path, jpeg[:2], tiny[:2]))))
    assert seen == [(res.path, b"\xff\xd8", b"\xff\xd8") for res in results]


def test_audit_dataframe_columns(photo_dir) -> None:
    df = audit_dataframe([photo_dir(3)], AuditConfig(workers=1))
    assert list(df.columns) == list(CSV_COLUMNS)
    assert len(df) == 3 and set(df["status"]) == {"ok"}


def test_importing_the_pipeline_stays_light() -> None:
    code = ("import sys, iqa.auditor.pipeline, iqa.auditor.check, iqa.reports.csv_io; "
            "heavy = {'pandas', 'matplotlib', 'tensorflow', 'jinja2'} & set(sys.modules); "
            "assert not heavy, heavy")
    subprocess.run([PYTHON, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1], timeout=60)


def test_stopping_early_shuts_the_pool_down(photo_dir) -> None:
    import multiprocessing

    before = set(multiprocessing.active_children())
    stream = audit([photo_dir(12)], AuditConfig(workers=2), classifier=FakeClassifier())
    first = next(stream)
    assert first.ok
    assert set(multiprocessing.active_children()) - before  # the workers are running
    stream.close()
    assert not set(multiprocessing.active_children()) - before


def test_pool_works_when_the_script_comes_from_stdin(photo_dir, subprocess_env: dict[str, str]) -> None:
    root = photo_dir(4)
    script = ("from iqa.auditor.pipeline import AuditConfig, audit\n"
              f"print(sorted({{r.status for r in audit([{str(root)!r}], AuditConfig(workers=2))}}))\n")
    proc = subprocess.run([PYTHON, "-"], input=script, env=subprocess_env, cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['ok']"


def test_worker_side_inference_matches_in_process(tmp_path: Path) -> None:
    """The shipped model gives the same verdicts whether workers or the parent run it."""
    import cv2

    rng = np.random.default_rng(0)
    for i in range(6):
        img = cv2.GaussianBlur(rng.integers(0, 256, (200, 260, 3), dtype=np.uint8), (0, 0), 0.5 + i)
        cv2.imwrite(str(tmp_path / f"img{i}.png"), img)
    one = list(audit([tmp_path], AuditConfig(workers=1)))
    two = list(audit([tmp_path], AuditConfig(workers=2)))
    assert [r.path for r in one] == [r.path for r in two]
    for a, b in zip(one, two):
        assert a.label == b.label and a.patches == b.patches
        assert (a.p_blurry, a.p_original, a.p_sharp) == pytest.approx((b.p_blurry, b.p_original, b.p_sharp), abs=1e-6)


def test_spawned_workers_do_not_import_the_main_script(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    """The ``iqa`` script's __main__ imports click and the CLI; a worker needs neither."""
    script = tmp_path / "main_with_click.py"
    probe = "sorted({'click', 'iqa.auditor.workers', 'iqa.cli'} & set(__import__('sys').modules))"
    script.write_text("import click\nimport iqa.cli\nfrom iqa.auditor.procs import WorkerPool\n"
                      "from iqa.auditor.startup import AUDIT_PRELOAD\n\n"
                      "if __name__ == '__main__':\n"
                      "    for preload in ((), AUDIT_PRELOAD):\n"
                      "        pool = WorkerPool(1, light=True, preload=preload)\n"
                      "        pool.wait_started()\n"
                      f"        print(pool._pool.apply_async(eval, ({probe!r},)).get(60))\n"
                      "        pool.stop()\n", encoding="utf-8")
    proc = subprocess.run([PYTHON, str(script)], env=subprocess_env, cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["[]", "['iqa.auditor.workers']"]  # spawned; forked from the preloaded server
