"""The model metadata schema, defined once: the JSON beside a ``.tflite`` file.

``trainer`` writes it (:meth:`ModelMeta.to_json`), the auditor reads and validates it
(:meth:`ModelMeta.from_json`). Keys this version does not know are kept, not dropped, at the
top level and in ``aggregation`` (e.g. a future ``temperature``), so older and newer files
round-trip. A file that cannot be used raises :class:`ModelError` naming the file and the field.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from iqa.auditor.image_head import BlurHead
from iqa.auditor.patches import PatchPolicy

AGGREGATION_RULE = ("softmax((mean logits of the patches ranked trim_fraction..keep_fraction by blur margin,"
                    " sharpest first, its blurry-vs-rest margin set by the head when there is one) + bias)"
                    " / temperature)")


class ModelError(Exception):
    """The model file or its metadata is missing or unusable."""


@dataclass(frozen=True)
class Aggregation:
    """How patch logits become the image verdict (see :func:`auditor.model.aggregate`).

    ``extra`` holds every other key of the JSON section (calibration record, future parameters).
    """

    bias: tuple[float, ...]
    keep_fraction: float = 1.0
    rule: str = AGGREGATION_RULE
    extra: Mapping[str, Any] = field(default_factory=dict)
    trim_fraction: float = 0.0  # share of the sharpest-looking patches left out (outliers)
    temperature: float = 1.0  # image-level temperature: honest probabilities, same decisions
    head: BlurHead | None = None  # image-level blur head (auditor.image_head); None: the band's mean decides

    def to_json(self) -> dict[str, Any]:
        out = {"rule": self.rule, "keep_fraction": self.keep_fraction, "trim_fraction": self.trim_fraction,
               "bias": list(self.bias), "temperature": self.temperature}
        if self.head is not None:
            out["head"] = self.head.to_json()
        return {**out, **self.extra}


@dataclass(frozen=True)
class ModelMeta:
    """Everything the metadata JSON holds; the first six fields are what the auditor needs."""

    name: str
    version: str
    labels: tuple[str, ...]
    max_side: int
    patch_policy: PatchPolicy
    aggregation: Aggregation
    input: Mapping[str, Any] = field(default_factory=dict)
    output: Mapping[str, Any] = field(default_factory=dict)
    architecture: Mapping[str, Any] = field(default_factory=dict)
    training: Mapping[str, Any] = field(default_factory=dict)
    versions: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # top-level keys this version does not know

    def validate(self, where: str | Path = "model metadata") -> ModelMeta:
        """Raise :class:`ModelError` (naming ``where``) when values cannot work together; else self."""
        _validate(self, str(where))
        return self

    def to_json(self) -> dict[str, Any]:
        """The JSON object, keys in the order of the shipped ``models/default.json``."""
        out: dict[str, Any] = {"name": self.name, "version": self.version, "labels": list(self.labels),
                               "input": dict(self.input), "output": dict(self.output), "max_side": self.max_side,
                               "patch_policy": asdict(self.patch_policy), "aggregation": self.aggregation.to_json(),
                               "architecture": dict(self.architecture), "training": dict(self.training),
                               "versions": dict(self.versions)}
        if self.metrics is not None:
            out["metrics"] = dict(self.metrics)
        out.update(self.extra)
        return out

    @classmethod
    def from_json(cls, data: Any, source: str | Path = "model metadata") -> ModelMeta:
        """Parse and validate a JSON object; ``source`` (the file) is named in every error.

        Defaults for files that predate a key: ``name`` the file's stem, ``version`` "0",
        bias all zeros, ``keep_fraction`` 1 (mean of every patch), ``trim_fraction`` 0, ``temperature`` 1,
        no ``head``.

        Raises
        ------
        ModelError
            A missing or ill-typed required field, or values that cannot work together.
        """
        where = str(source)
        if not isinstance(data, Mapping):
            raise ModelError(f"bad model metadata in {where}: not a JSON object")
        try:
            labels = tuple(str(v) for v in _require(data, "labels", where))
            policy = PatchPolicy(**_require(data, "patch_policy", where))
            max_side = _int(_require(data, "max_side", where), "max_side", where)
            rule = dict(data.get("aggregation") or {})
            bias = tuple(float(b) for b in rule.pop("bias", [0.0] * len(labels)))
            keep, trim = float(rule.pop("keep_fraction", 1.0)), float(rule.pop("trim_fraction", 0.0))
            temperature = float(rule.pop("temperature", 1.0))
            head = rule.pop("head", None)
            head = BlurHead.from_json(head) if head is not None else None
            aggregation = Aggregation(bias, keep, str(rule.pop("rule", AGGREGATION_RULE)), rule, trim, temperature,
                                      head)
        except ModelError:
            raise
        except KeyError as exc:
            raise ModelError(f"bad model metadata in {where}: aggregation.head has no field {exc}") from exc
        except (TypeError, ValueError) as exc:
            raise ModelError(f"bad model metadata in {where}: {exc}") from exc
        known = {f.name for f in fields(cls)} - {"extra"}
        meta = cls(name=str(data.get("name", Path(where).stem)), version=str(data.get("version", "0")),
                   labels=labels, max_side=max_side, patch_policy=policy, aggregation=aggregation,
                   input=data.get("input", {}), output=data.get("output", {}),
                   architecture=data.get("architecture", {}), training=data.get("training", {}),
                   versions=data.get("versions", {}), metrics=data.get("metrics"),
                   extra={k: v for k, v in data.items() if k not in known})
        return meta.validate(where)


def _require(data: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise ModelError(f"bad model metadata in {where}: no field {key!r}")
    return data[key]


def _int(value: Any, name: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise ModelError(f"bad model metadata in {where}: {name} must be an integer, got {value!r}")
    return int(value)


def _validate(meta: ModelMeta, where: str) -> None:
    """Values that each parse but cannot work together raise :class:`ModelError`."""
    policy, rule = meta.patch_policy, meta.aggregation
    problems = []
    if not meta.labels:
        problems.append("labels is empty")
    if len(rule.bias) != len(meta.labels):
        problems.append(f"aggregation.bias has {len(rule.bias)} values for {len(meta.labels)} labels")
    if meta.max_side <= 0:
        problems.append(f"max_side must be positive, got {meta.max_side}")
    if policy.size <= 0 or policy.count <= 0:
        problems.append(f"patch_policy size and count must be positive, got {policy.size} and {policy.count}")
    elif policy.size > meta.max_side:
        problems.append(f"patch_policy.size {policy.size} is bigger than max_side {meta.max_side}")
    if not 0 < policy.max_fraction <= 1:
        problems.append(f"patch_policy.max_fraction must be in (0, 1], got {policy.max_fraction}")
    if not 0 < rule.keep_fraction <= 1:
        problems.append(f"aggregation.keep_fraction must be in (0, 1], got {rule.keep_fraction}")
    if not 0 <= rule.trim_fraction < rule.keep_fraction:
        problems.append(f"aggregation.trim_fraction must be in [0, keep_fraction), got {rule.trim_fraction}")
    if not rule.temperature > 0:
        problems.append(f"aggregation.temperature must be positive, got {rule.temperature}")
    if problems:
        raise ModelError(f"bad model metadata in {where}: {'; '.join(problems)}")


def read_model_meta(path: str | Path) -> ModelMeta:
    """Read and validate the metadata JSON at ``path``.

    Raises
    ------
    ModelError
        The file is missing, is not JSON, or fails :meth:`ModelMeta.from_json`.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelError(f"model metadata not found: {path}") from exc
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelError(f"bad model metadata in {path}: {exc}") from exc
    return ModelMeta.from_json(data, path)


def write_model_meta(path: str | Path, meta: ModelMeta) -> Path:
    """Validate ``meta`` and write it as indented JSON (the format of the shipped ``models/default.json``)."""
    path = Path(path)
    meta.validate(path)
    path.write_text(json.dumps(meta.to_json(), indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path


__all__ = ["AGGREGATION_RULE", "Aggregation", "ModelError", "ModelMeta", "read_model_meta",
           "write_model_meta"]
