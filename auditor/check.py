"""``iqa check``: a fast pass/fail verdict on a few files (pre-commit hook, CI).

Imports only the imaging core and the LiteRT interpreter: never pandas, matplotlib,
jinja2 or TensorFlow, so the hook starts in a fraction of a second.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from iqa.auditor.labels import BLURRY, LABELS
from iqa.auditor.pipeline import AuditConfig, LogitsModel, audit
from iqa.auditor.results import AuditResult

# Below this many files the pool's start-up costs more than it saves.
IN_PROCESS_MAX_FILES = 16


@dataclass(frozen=True)
class CheckConfig:
    """What makes a file fail the check.

    Attributes
    ----------
    fail_on : labels that fail (default: blurry).
    threshold : when set, a file fails when the probability of any ``fail_on`` label is at
        least this value (whatever the decided label); when None, a file fails when its
        decided label is in ``fail_on``.
    allow_unreadable : unreadable files are reported but do not fail the check.
    model_path : model to use; None for the shipped one.
    include_hidden : also check hidden files inside directories that are walked.
    """

    fail_on: tuple[str, ...] = (BLURRY,)
    threshold: float | None = None
    allow_unreadable: bool = False
    model_path: str | Path | None = None
    include_hidden: bool = False

    def __post_init__(self) -> None:
        unknown = [label for label in self.fail_on if label not in LABELS]
        if unknown or not self.fail_on:
            raise ValueError(f"fail_on must be a non-empty subset of {LABELS}, got {self.fail_on}")


@dataclass(frozen=True)
class Finding:
    """A file that failed the check (``label`` is ``"unreadable"`` for an undecodable file)."""

    result: AuditResult
    label: str
    probability: float | None

    @property
    def unreadable(self) -> bool:
        return not self.result.ok


@dataclass
class CheckReport:
    """Counts of one check run and its exit code (after :class:`black.report.Report`).

    ``return_code`` is

    * 0 when no file was flagged and none was unreadable (or unreadable files are allowed),
    * 1 when a file was flagged, or was unreadable without ``allow_unreadable``.

    Usage and model errors never reach a report: the CLI exits with 2 for those.
    """

    allow_unreadable: bool = False
    checked: int = 0
    flagged: int = 0
    unreadable: int = 0
    findings: list[Finding] = field(default_factory=list)

    def add(self, finding: Finding | None) -> None:
        """Count one checked file and its finding, if any."""
        self.checked += 1
        if finding is None:
            return
        self.findings.append(finding)
        if finding.unreadable:
            self.unreadable += 1
        else:
            self.flagged += 1

    @property
    def return_code(self) -> int:
        """0: all good; 1: something flagged, or unreadable and not allowed."""
        if self.flagged or (self.unreadable and not self.allow_unreadable):
            return 1
        return 0

    def __str__(self) -> str:
        parts = [f"{self.checked} file{'s' if self.checked != 1 else ''} checked", f"{self.flagged} flagged"]
        if self.unreadable:
            parts.append(f"{self.unreadable} unreadable" + (" (allowed)" if self.allow_unreadable else ""))
        return ", ".join(parts)


def judge(result: AuditResult, config: CheckConfig) -> Finding | None:
    """The finding for one result, or None when the file passes.

    Parameters
    ----------
    result : an audited file.
    config : the failure rule.
    """
    if not result.ok:
        return Finding(result, "unreadable", None)
    probs = {label: result.probs.get(label) for label in config.fail_on}
    if config.threshold is not None:
        label, p = max(probs.items(), key=lambda kv: (kv[1] if kv[1] is not None else -1.0))
        return Finding(result, label, p) if p is not None and p >= config.threshold else None
    if result.label in config.fail_on:
        return Finding(result, result.label, probs[result.label])
    return None


def run_check(paths: Sequence[str | os.PathLike[str]], config: CheckConfig = CheckConfig(),
              on_finding: Callable[[Finding], None] | None = None,
              classifier: LogitsModel | None = None) -> CheckReport:
    """Check files (directories are walked) and return the :class:`CheckReport`.

    Parameters
    ----------
    paths : files and/or directories.
    config : the failure rule and model.
    on_finding : called with each finding as soon as it is known (the CLI prints it).
    classifier : replaces the TFLite interpreter (tests).

    Raises
    ------
    auditor.model.ModelError
        Missing or unusable model.
    FileNotFoundError
        A path does not exist.
    """
    audit_config = AuditConfig(model_path=config.model_path, include_hidden=config.include_hidden,
                               in_process_up_to=IN_PROCESS_MAX_FILES)
    report = CheckReport(allow_unreadable=config.allow_unreadable)
    for result in audit(paths, audit_config, classifier=classifier):
        finding = judge(result, config)
        report.add(finding)
        if finding is not None and on_finding is not None:
            on_finding(finding)
    return report

