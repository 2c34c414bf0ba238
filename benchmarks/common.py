"""Helpers shared by the benchmark scripts: interleaved timing rounds and the ``iqa`` command line."""
from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Sequence


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


def iqa_command() -> list[str]:
    """The installed ``iqa`` executable, or ``python -m iqa`` when it is not on PATH."""
    exe = shutil.which("iqa")
    return [exe] if exe else [sys.executable, "-m", "iqa"]
