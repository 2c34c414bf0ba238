"""Per-patch loss weights of ``iqa train --weight VARIANT=W`` (needs TensorFlow: the trainer imports it)."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.tf
pytest.importorskip("tensorflow")

from iqa.cli import main  # noqa: E402
from iqa.trainer.train import class_weights, sample_weights  # noqa: E402


def test_weights_keep_the_class_balance_and_scale_one_variant() -> None:
    y = np.array([0, 0, 0, 1, 1, 2])
    variants = np.array(["shake", "defocus", "shake", "native", "original", "unsharp"], dtype=object)
    plain = sample_weights(y, variants, {})
    balance = class_weights(y)
    assert np.allclose(plain, [balance[int(c)] for c in y])  # no variant weight: Keras' class weights
    weighted = sample_weights(y, variants, {"native": 2.0})
    assert weighted[3] == pytest.approx(2 * plain[3])
    assert np.array_equal(np.delete(weighted, 3), np.delete(plain, 3))


@pytest.mark.parametrize("bad", ["native", "native=0", "native=-1", "native=inf", "nosuch=2", "native=x"])
def test_malformed_weight_is_a_usage_error(bad: str, tmp_path) -> None:
    r = CliRunner().invoke(main, ["train", str(tmp_path), "-o", str(tmp_path / "run"), "--weight", bad])
    assert r.exit_code == 2 and "VARIANT=W" in r.output, r.output
