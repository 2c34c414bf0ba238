"""The shipped model: int8 tensors, metadata labels, and sane verdicts on real photos."""
from __future__ import annotations

import json

import numpy as np
import pytest

from iqa.auditor.labels import LABELS
from iqa.auditor.model import PatchClassifier, aggregate, default_model_path, load_model_info, metadata_path
from iqa.auditor.patches import select_patches
from iqa.dataset import degrade

skdata = pytest.importorskip("skimage.data")


def test_shipped_model_is_full_integer_and_loads_with_litert_only() -> None:
    from ai_edge_litert.interpreter import Interpreter

    path = default_model_path()
    assert path.is_file() and path.stat().st_size <= 1_000_000
    interp = Interpreter(model_path=str(path))
    interp.allocate_tensors()
    assert interp.get_input_details()[0]["dtype"] in (np.uint8, np.int8)
    assert interp.get_output_details()[0]["dtype"] in (np.uint8, np.int8)
    float_ops = [t for t in interp.get_tensor_details() if t["dtype"] == np.float32]
    assert not float_ops, "full-integer model must not carry float tensors"


def test_shipped_metadata_matches_labels_and_policy() -> None:
    meta = json.loads(metadata_path(default_model_path()).read_text())
    assert tuple(meta["labels"]) == LABELS
    info = load_model_info()
    assert info.policy.size == meta["patch_policy"]["size"] and len(info.bias) == len(LABELS)
    assert "metrics" in meta and "versions" in meta and meta["training"]["dataset_manifest_sha256"]


def _scores(pixels: np.ndarray) -> tuple[np.ndarray, float]:
    """Image probabilities and the blurry-vs-rest log-odds (does not saturate like p does)."""
    info = load_model_info()
    logits = PatchClassifier(info.path).logits(select_patches(pixels, info.policy).patches)
    p = aggregate(logits, info.bias, info.keep_fraction).astype(np.float64)
    return p, float(np.log(p[0]) - np.log(p[1:].max()))


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea"])
def test_more_blur_raises_the_blur_score_and_halos_raise_p_sharp(name: str) -> None:
    photo = getattr(skdata, name)()
    p_orig, m_orig = _scores(photo)
    p_soft, m_soft = _scores(degrade.defocus_blur(photo, 2.0))
    p_blur, m_blur = _scores(degrade.defocus_blur(photo, 6.0))
    assert m_blur > m_soft > m_orig
    assert np.argmax(p_orig) == 1 and np.argmax(p_soft) == 0 and np.argmax(p_blur) == 0
    p_halo, _ = _scores(degrade.oversharpen(photo, 2.0, 2.5))
    assert p_halo[2] > p_orig[2] and np.argmax(p_halo) == 2
