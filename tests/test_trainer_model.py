"""The patch CNN's architecture knobs (needs TensorFlow/Keras)."""
from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tf
pytest.importorskip("tensorflow")


def test_separable_blocks_keep_the_interface_at_a_fraction_of_the_weights() -> None:
    from keras import layers

    from iqa.trainer.model import ModelConfig, build_model

    plain, separable = (build_model(ModelConfig(64, width=24, separable=s)) for s in (False, True))
    kinds = [type(layer) for layer in separable.layers]
    assert kinds.count(layers.DepthwiseConv2D) == 4 and not any(isinstance(x, layers.DepthwiseConv2D)
                                                                 for x in plain.layers)
    assert type(separable.layers[2]) is layers.Conv2D  # the first convolution stays a full one
    x = np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3)).astype(np.float32)
    assert plain(x).shape == separable(x).shape == (2, 3)
    assert separable.count_params() < plain.count_params() / 4
