"""``iqa train --ema``: the moving average of the weights is what the model holds after every epoch."""
from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tf
pytest.importorskip("tensorflow")

import keras  # noqa: E402

from iqa.trainer.train import TrainConfig, make_optimizer  # noqa: E402


def _fit_one_epoch(ema: float, steps: int = 6) -> float:
    """The weight after one epoch of ``steps`` batches of a one-weight regression that starts at 0."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=make_optimizer(TrainConfig(learning_rate=0.1, ema=ema), steps), loss="mse")
    x = np.ones((steps, 1), np.float32)
    model.fit(x, 3 * x, batch_size=1, epochs=1, shuffle=False, verbose=0)
    return float(model.get_weights()[0].ravel()[0])


def test_without_ema_the_optimizer_is_plain_adam() -> None:
    opt = make_optimizer(TrainConfig(), steps_per_epoch=10)
    assert isinstance(opt, keras.optimizers.Adam) and not opt.use_ema


def test_ema_holds_the_weights_back_toward_where_they_started() -> None:
    plain = _fit_one_epoch(0.0)
    averaged = _fit_one_epoch(0.5)
    # the target pulls the weight from 0 toward 3; an average over the path lags the last step
    assert 0 < averaged < plain < 3


def test_an_impossible_momentum_is_refused() -> None:
    with pytest.raises(ValueError, match="EMA"):
        make_optimizer(TrainConfig(ema=1.0), steps_per_epoch=10)
