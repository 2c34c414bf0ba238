"""The image-level blur head: features, fit, metadata round trip and its effect on the verdict."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import minimize

from iqa.auditor.image_head import FEATURES, head_features, with_head_margin
from iqa.auditor.model import aggregate, blur_margin, image_logits, sharpest_patches, softmax
from iqa.auditor.model_meta import ModelError, read_model_meta
from iqa.trainer.data import ImageItem
from iqa.trainer.image_head import HeadConfig, _newton_logistic, fit_blur_head

RNG = np.random.default_rng(3)


def _frame(blurry_share: float, n: int = 24, crisp: float = -5.0, soft: float = 3.0) -> np.ndarray:
    """Patch logits (blurry, original, sharp) of a frame whose ``blurry_share`` of patches look blurry."""
    k = int(round(blurry_share * n))
    blur = np.r_[np.full(k, soft), np.full(n - k, crisp)] + RNG.normal(0, 0.5, n)
    return np.stack([blur, np.zeros(n), np.full(n, -2.0)], axis=1).astype(np.float32)


def _training_set() -> tuple[list[ImageItem], list[np.ndarray]]:
    items, logits = [], []
    for i in range(60):  # blurry: most of the frame blurry, a few crisp patches (lamp streaks, captions)
        items.append(ImageItem(Path(f"b{i}.jpg"), "blurry", "shake"))
        logits.append(_frame(RNG.uniform(0.75, 1.0)))
    for i in range(60):  # untouched
        items.append(ImageItem(Path(f"o{i}.jpg"), "original", "original"))
        logits.append(_frame(RNG.uniform(0.0, 0.1)))
    for i in range(30):  # bokeh: the sharp subject is a third to half of the textured patches
        items.append(ImageItem(Path(f"p{i}.jpg"), "original", "partial"))
        logits.append(_frame(RNG.uniform(0.5, 0.65)))
    return items, logits


def test_features_have_the_documented_names_and_read_the_whole_frame():
    lg = _frame(0.75)
    f = head_features(lg, sharpest_patches(lg, 0.5))
    assert f.shape == (len(FEATURES),)
    m = np.sort(blur_margin(lg))
    assert f[FEATURES.index("margin_q0")] == pytest.approx(m[0])
    assert f[FEATURES.index("margin_q100")] == pytest.approx(m[-1])
    assert f[FEATURES.index("margin_q50")] == pytest.approx(np.median(m))


def test_newton_fit_reaches_the_optimum_of_its_objective():
    x = RNG.normal(size=(200, 4))
    y = (x @ [1.0, -2.0, 0.5, 0.0] + RNG.normal(0, 1, 200) > 0).astype(float)
    w = RNG.uniform(0.5, 2.0, 200)
    c = 0.7

    def objective(beta: np.ndarray) -> float:
        z = beta[0] + x @ beta[1:]
        return c * float(np.sum(w * (np.logaddexp(0, z) - y * z))) + 0.5 * float(beta[1:] @ beta[1:])

    beta = _newton_logistic(x, y, w, c, 50)
    reference = minimize(objective, np.zeros(5), method="BFGS", options={"gtol": 1e-8}).x
    assert objective(beta) <= objective(reference) + 1e-6
    np.testing.assert_allclose(beta, reference, atol=1e-3)


def test_head_calls_a_mostly_blurry_frame_blurry_that_the_band_mean_misses():
    items, logits = _training_set()
    head = fit_blur_head(items, logits, keep_fraction=0.5, config=HeadConfig(partial_weight=3.0))
    shaken = _frame(0.8)  # 80 % of patches blurry: the sharpest half still holds the crisp ones
    assert blur_margin(image_logits(shaken, 0.5)) < 0  # the plain rule: not blurry
    assert blur_margin(image_logits(shaken, 0.5, head=head)) > 0
    for share in (0.0, 0.05, 0.55):  # untouched and bokeh stay not blurry
        assert blur_margin(image_logits(_frame(share), 0.5, head=head)) < 0, share


def test_more_blurry_patches_never_lower_the_head_margin():
    items, logits = _training_set()
    head = fit_blur_head(items, logits, keep_fraction=0.5)
    base = np.stack([np.linspace(-6, 4, 24), np.zeros(24), np.full(24, -2.0)], axis=1).astype(np.float32)
    margins = []
    for k in range(0, 24, 4):  # turn the k sharpest patches blurry, one step at a time
        lg = base.copy()
        lg[:k, 0] = 4.0
        margins.append(head.margin(lg, sharpest_patches(lg, 0.5)))
    assert margins == sorted(margins)


def test_head_changes_only_the_blurry_margin():
    lg = _frame(0.3)
    band_mean = sharpest_patches(lg, 0.5).mean(axis=0)
    moved = with_head_margin(band_mean, 1.5)
    assert blur_margin(moved) == pytest.approx(1.5)
    assert moved[2] - moved[1] == pytest.approx(band_mean[2] - band_mean[1])
    items, logits = _training_set()
    head = fit_blur_head(items, logits, keep_fraction=0.5)
    p = aggregate(lg, (0.0, 0.0, 0.0), 0.5, head=head)
    q = softmax(band_mean)
    assert p[2] / p[1] == pytest.approx(q[2] / q[1], rel=1e-4)


def test_head_round_trips_through_the_metadata(tmp_path):
    items, logits = _training_set()
    head = fit_blur_head(items, logits, keep_fraction=0.5)
    shipped = json.loads((Path(__file__).parents[1] / "models" / "default.json").read_text())
    shipped["aggregation"]["head"] = head.to_json()
    path = tmp_path / "m.json"
    path.write_text(json.dumps(shipped))
    meta = read_model_meta(path)
    assert meta.aggregation.head == head
    assert meta.to_json()["aggregation"]["head"]["weights"] == list(head.weights)


@pytest.mark.parametrize("bad", [{"weights": [1.0]}, {"scale": [0.0] * len(FEATURES)}, {"features": ["x"]},
                                 {"intercept": None}, "not an object"])
def test_unusable_head_names_the_file(tmp_path, bad):
    items, logits = _training_set()
    head = fit_blur_head(items, logits, keep_fraction=0.5).to_json()
    shipped = json.loads((Path(__file__).parents[1] / "models" / "default.json").read_text())
    shipped["aggregation"]["head"] = {**head, **bad} if isinstance(bad, dict) else bad
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(shipped))
    with pytest.raises(ModelError, match="broken.json"):
        read_model_meta(path)


def test_missing_head_field_is_named(tmp_path):
    shipped = json.loads((Path(__file__).parents[1] / "models" / "default.json").read_text())
    shipped["aggregation"]["head"] = {"mean": [0.0] * len(FEATURES)}
    path = tmp_path / "m.json"
    path.write_text(json.dumps(shipped))
    with pytest.raises(ModelError, match="scale"):
        read_model_meta(path)


def test_fit_needs_both_classes():
    items = [ImageItem(Path("a.jpg"), "original", "original")] * 3
    with pytest.raises(ValueError, match="blurry and non-blurry"):
        fit_blur_head(items, [_frame(0.0)] * 3, keep_fraction=0.5)
    with pytest.raises(ValueError, match="no images"):
        fit_blur_head([], [], keep_fraction=0.5)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 24, 64])
def test_quantiles_match_numpy(n):
    from iqa.auditor.image_head import QUANTILES, _quantiles

    x = np.sort(RNG.normal(size=n))
    np.testing.assert_allclose(_quantiles(x, QUANTILES), np.quantile(x, QUANTILES))
