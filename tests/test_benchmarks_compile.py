"""Every benchmark script compiles on the interpreter the tests run on (they are run by hand, rarely)."""
from __future__ import annotations

import py_compile
from pathlib import Path

import pytest

SCRIPTS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py"))


def test_there_are_benchmarks():
    assert len(SCRIPTS) > 5


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_benchmark_compiles(script, tmp_path):
    py_compile.compile(str(script), cfile=str(tmp_path / "x.pyc"), doraise=True)


def test_cpu_summary_names_the_int8_instruction_sets(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPTS[0].parent))
    from common import cpu_summary

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Test CPU 9000\nflags\t\t: fpu sse2 avx2 fma avx512_vnni\n")
    assert cpu_summary(info) == "Test CPU 9000; avx512_vnni avx2"
    info.write_text("processor\t: 0\nmodel name\t: Old CPU\nflags\t\t: fpu sse2\n")
    assert cpu_summary(info).startswith("Old CPU; none of avx512_vnni")
    assert cpu_summary(tmp_path / "missing")  # elsewhere: the platform's name
