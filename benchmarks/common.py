"""Helpers shared by the benchmark scripts: interleaved timing rounds and the ``iqa`` command line."""
from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path


def interleaved_rounds(names: Sequence[str], rounds: int, measure: Callable[[str], float],
                       line: Callable[[dict[str, float]], str]) -> dict[str, list[float]]:
    """``measure(name)`` for every contender, ``rounds`` times after one untimed warm-up round.

    The starting contender rotates each round, so no contender always runs first (cold caches)
    or last (after the machine warmed up). ``line`` formats one round's values for printing.
    """
    names = list(names)
    values: dict[str, list[float]] = {name: [] for name in names}
    for r in range(-1, rounds):  # round -1: warm-up, not recorded
        k = max(r, 0) % len(names)
        for name in names[k:] + names[:k]:
            value = measure(name)
            if r >= 0:
                values[name].append(value)
        if r >= 0:
            print(f"round {r + 1}: {line({name: values[name][-1] for name in names})}", flush=True)
    return values


REPO = Path(__file__).resolve().parents[1]


def iqa_command() -> list[str]:
    """``iqa`` of this checkout: ``python -m iqa``, run with :func:`checkout_env`.

    (The ``iqa`` script on PATH may belong to another install of the package; set
    ``IQA_BENCH_INSTALLED=1`` to time that one instead.)
    """
    exe = shutil.which("iqa")
    if exe and os.environ.get("IQA_BENCH_INSTALLED"):
        return [exe]
    compile_checkout()
    return [sys.executable, "-m", "iqa"]


def compile_checkout(tree: Path = REPO) -> None:
    """Byte-compile a checkout's packages (the folders of its setup.cfg's ``package_dir``; this one
    by default), as ``pip install .`` does at install time.

    Where ``PYTHONDONTWRITEBYTECODE`` is set (as on this project's machines) and nothing wrote
    the ``.pyc`` files, every ``iqa`` process, its fork server included, would compile some 40
    modules from source first: about 0.1 s of start-up that an installed ``iqa`` never pays.
    """
    import compileall
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(tree / "setup.cfg")
    folders = {line.split("=")[1].strip() for line in cfg["options"]["package_dir"].strip().splitlines()}
    for folder in sorted(folders):
        compileall.compile_dir(str(tree / folder), quiet=1)


def checkout_env() -> dict[str, str]:
    """The environment with this checkout first on ``PYTHONPATH`` (for :func:`iqa_command`)."""
    paths = [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths))


def children_of(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc/PID/task/*/children)."""
    kids: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                kids.extend(int(x) for x in fh.read().split())
    except OSError:
        pass
    return kids


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children_of(p))
    return tree


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one live process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class TreeCpu:
    """CPU seconds of a process tree, sampled from /proc (a fork server's workers are not our
    children, so ``RUSAGE_CHILDREN`` would miss them); a process's last interval is lost."""

    def __init__(self) -> None:
        self.seen: dict[int, float] = {}

    def sample(self, pid: int) -> None:
        for p in process_tree(pid):
            self.seen[p] = max(self.seen.get(p, 0.0), cpu_seconds(p))

    @property
    def total(self) -> float:
        return sum(self.seen.values())


# instruction sets that int8 inference speed (XNNPACK) depends on: the shipped model cost 0.96 ms per
# image on the earlier sessions' machine and 7.5 ms on an AVX2-only EPYC, so timings name their CPU
INT8_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8", "avx512f", "avx2")


def cpu_summary(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """One line: the CPU's model name and which of :data:`INT8_FLAGS` it has (Linux; else the platform)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        import platform

        return platform.processor() or platform.machine()
    fields = dict(line.split(":", 1) for line in reversed(text.splitlines()) if ":" in line)  # first CPU wins
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    name, flags = fields.get("model name", "?"), set(fields.get("flags", "").split())
    return f"{name}; {' '.join(f for f in INT8_FLAGS if f in flags) or 'none of ' + '/'.join(INT8_FLAGS)}"
