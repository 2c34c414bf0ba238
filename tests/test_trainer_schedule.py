"""``iqa train --lr-schedule``: the plateau recipe and a cosine decay (needs TensorFlow: the trainer imports it)."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.tf
pytest.importorskip("tensorflow")

from iqa.cli import main  # noqa: E402
from iqa.trainer.train import COSINE_FLOOR, LR_SCHEDULES, TrainConfig, learning_rate  # noqa: E402


def test_plateau_keeps_a_constant_rate_for_the_callback_to_cut() -> None:
    assert learning_rate(TrainConfig(learning_rate=1e-3), steps_per_epoch=10) == 1e-3


def test_cosine_decays_from_the_rate_to_its_floor_over_all_epochs() -> None:
    schedule = learning_rate(TrainConfig(learning_rate=1e-3, epochs=4, lr_schedule="cosine"), steps_per_epoch=10)
    rates = [float(schedule(step)) for step in (0, 10, 20, 30, 40)]
    assert rates[0] == pytest.approx(1e-3)
    assert all(a > b for a, b in zip(rates, rates[1:]))  # falls every epoch
    assert rates[2] == pytest.approx(1e-3 * (1 + COSINE_FLOOR) / 2, rel=1e-4)  # halfway: the mean of both ends
    assert rates[-1] == pytest.approx(1e-3 * COSINE_FLOOR, rel=1e-4)


def test_an_unknown_schedule_is_refused() -> None:
    with pytest.raises(ValueError, match="schedule"):
        learning_rate(TrainConfig(lr_schedule="step"), steps_per_epoch=10)


def test_the_cli_offers_exactly_the_trainer_schedules(tmp_path) -> None:
    r = CliRunner().invoke(main, ["train", "--help"])
    assert r.exit_code == 0 and "--lr-schedule [" + "|".join(LR_SCHEDULES) + "]" in r.output, r.output
    r = CliRunner().invoke(main, ["train", str(tmp_path), "-o", str(tmp_path / "run"), "--lr-schedule", "step"])
    assert r.exit_code == 2 and "'step' is not one of" in r.output, r.output
