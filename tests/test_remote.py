"""Roots as fsspec URLs: an S3 prefix served on 127.0.0.1 by moto gives the rows of the same files on disk."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import NON_UTF8_NAME, MixedTree

from iqa.auditor.pipeline import AuditConfig, audit
from iqa.auditor.walk import iter_image_files, walk_root

pytest.importorskip("fsspec")

BUCKET, PREFIX = "photos", "shoot/2026"


def _on_s3(rel: str) -> bool:
    """S3 keys are UTF-8 (not the raw-byte name); moto's HTTP server refuses control characters in keys."""
    return os.fsdecode(NON_UTF8_NAME) not in rel and all(ch.isprintable() for ch in rel)


def _local_files(tree: MixedTree) -> Iterator[tuple[str, Path]]:
    """Every file of the tree that S3 can hold, hidden and non-images included."""
    for folder, _, names in os.walk(tree.root):
        for name in names:
            full = Path(folder) / name
            rel = full.relative_to(tree.root).as_posix()
            if _on_s3(rel):
                yield rel, full


@pytest.fixture(scope="module")
def s3_root(mixed_tree: MixedTree) -> Iterator[str]:
    """``s3://photos/shoot/2026`` holding the mixed tree, on a moto server bound to 127.0.0.1."""
    pytest.importorskip("s3fs")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://{host}:{port}"}  # inherited by the worker processes
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        from multiprocessing import forkserver

        # the audit's workers fork from a server started by an earlier test, with that moment's
        # environment: stop it so the next pool's server (and workers) see these credentials
        forkserver._forkserver._stop()
        import boto3

        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        for rel, full in _local_files(mixed_tree):
            s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{rel}", Body=full.read_bytes())
        try:
            yield f"s3://{BUCKET}/{PREFIX}/"
        finally:
            server.stop()


def _rows(roots: list[str], config: AuditConfig, backend: object = None) -> list[dict[str, object]]:
    return [r.as_dict() for r in audit(roots, config, backend=backend)]


def _without_root(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{k: v for k, v in row.items() if k != "root"} for row in rows]


def _local_rows(tree: MixedTree) -> list[dict[str, object]]:
    rows = _rows([str(tree.root)], AuditConfig(workers=1))
    return [row for row in rows if _on_s3(str(row["path"]))]


def test_file_url_rows_equal_the_local_rows(mixed_tree: MixedTree) -> None:
    url = "file://" + mixed_tree.root.as_posix()
    rows = _rows([url], AuditConfig(workers=1))  # read through fsspec, not the local fast path
    assert {row["root"] for row in rows} == {url}
    assert _without_root(rows) == _without_root(_rows([str(mixed_tree.root)], AuditConfig(workers=1)))


@pytest.mark.s3
def test_s3_walk_lists_what_the_local_walk_lists(s3_root: str, mixed_tree: MixedTree) -> None:
    local = [p for _, p in iter_image_files([mixed_tree.root]) if _on_s3(p)]
    remote = list(iter_image_files([s3_root]))
    assert {root for root, _ in remote} == {s3_root.rstrip("/")} == {walk_root(s3_root)}
    assert [p for _, p in remote] == local  # same order, hidden names and non-images left out, sniffed kept
    assert len(list(iter_image_files([s3_root], include_hidden=True))) == len(remote) + 2


@pytest.mark.s3
def test_s3_rows_equal_the_local_rows(s3_root: str, mixed_tree: MixedTree) -> None:
    remote = _rows([s3_root], AuditConfig(workers=2))  # worker processes fetch the bytes themselves
    assert {row["root"] for row in remote} == {s3_root.rstrip("/")}
    assert _without_root(remote) == _without_root(_local_rows(mixed_tree))
    assert sum(row["status"] == "error" for row in remote) == len(mixed_tree.broken)


@pytest.mark.s3
def test_missing_keys_and_prefixes(s3_root: str) -> None:
    with pytest.raises(FileNotFoundError, match="no such file"):
        list(audit([f"s3://{BUCKET}/no/such/prefix"], AuditConfig(workers=1)))
    single = _rows([s3_root + "formats/photo.webp"], AuditConfig(workers=1))
    assert [(r["root"], r["path"], r["status"]) for r in single] == [(s3_root + "formats", "photo.webp", "ok")]


@pytest.mark.s3
@pytest.mark.dask
@pytest.mark.slow
def test_s3_on_a_dask_local_cluster(s3_root: str, mixed_tree: MixedTree) -> None:
    pytest.importorskip("distributed")
    from iqa.auditor.engine_dask import DaskBackend

    remote = _rows([s3_root], AuditConfig(), backend=DaskBackend(workers=2, batch_size=4))
    assert _without_root(remote) == _without_root(_local_rows(mixed_tree))


_LIGHT_AUDIT = """
import sys
from iqa.cli import main
try:
    main(["audit", sys.argv[1], "-o", sys.argv[2], "--workers", "1", "-q", "--no-report"], prog_name="iqa")
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
heavy = sorted(m for m in ("dask", "distributed", "fsspec", "s3fs", "botocore") if m in sys.modules)
print(",".join(heavy) or "none")
"""


def test_a_local_audit_imports_neither_dask_nor_fsspec(tmp_path: Path, subprocess_env: dict[str, str]) -> None:
    import subprocess

    from conftest import PYTHON, REPO_ROOT, save_image

    save_image(tmp_path / "a.jpg")
    done = subprocess.run([PYTHON, "-c", _LIGHT_AUDIT, str(tmp_path), str(tmp_path / "out")], env=subprocess_env,
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "none"
    assert (tmp_path / "out" / "audit.csv").exists()
