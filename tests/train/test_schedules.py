"""The schedules give the spec's values at chosen steps."""

import math

import pytest

from symusic.musicvae.training.config import BetaSettings, SamplingSettings
from symusic.musicvae.training.schedules import beta, sampling_probability


def test_constant_sampling_is_the_rate_at_every_step():
    settings = SamplingSettings(schedule="constant", rate=0.25)
    assert [sampling_probability(settings, s) for s in (0, 10, 10**6)] == [0.25] * 3
    assert sampling_probability(SamplingSettings(schedule="constant", rate=0.0), 500) == 0.0


@pytest.mark.parametrize("step", [0, 1000, 7500, 30000, 66000, 200000])
def test_inverse_sigmoid_matches_the_formula(step):
    k = 7500.0
    settings = SamplingSettings(schedule="inverse_sigmoid", rate=k)
    expected = 1.0 - k / (k + math.exp(step / k))
    assert sampling_probability(settings, step) == pytest.approx(expected, abs=1e-12)


def test_inverse_sigmoid_rises_from_near_zero_to_one():
    settings = SamplingSettings(schedule="inverse_sigmoid", rate=7500)
    assert sampling_probability(settings, 0) == pytest.approx(1 / 7501)
    midpoint = int(7500 * math.log(7500))
    assert sampling_probability(settings, midpoint) == pytest.approx(0.5, abs=1e-3)
    assert sampling_probability(settings, 10**8) == 1.0  # no overflow


def test_beta_is_linear_then_constant():
    settings = BetaSettings(start_beta=0.0, end_beta=0.2, duration=1000)
    assert beta(settings, 0) == 0.0
    assert beta(settings, 250) == pytest.approx(0.05)
    assert beta(settings, 500) == pytest.approx(0.1)
    assert beta(settings, 1000) == pytest.approx(0.2)
    assert beta(settings, 5000) == pytest.approx(0.2)
    assert beta(BetaSettings(start_beta=0.5, end_beta=0.1, duration=0), 0) == 0.1


def test_exponential_decay_follows_magenta_and_floors_at_the_minimum():
    from symusic.musicvae.training.schedules import learning_rate_factor

    assert learning_rate_factor(1e-3, 1.0, 1e-5, 10_000) == 1.0  # 1.0: no decay
    assert learning_rate_factor(1e-3, 0.9999, 1e-5, 0) == pytest.approx(1.0)
    # Magenta: lr = (lr0 - min) * decay**step + min
    expected = ((1e-3 - 1e-5) * 0.9999 ** 5000 + 1e-5) / 1e-3
    assert learning_rate_factor(1e-3, 0.9999, 1e-5, 5000) == pytest.approx(expected)
    assert learning_rate_factor(1e-3, 0.9, 1e-5, 10_000) == pytest.approx(1e-2)


def test_at_gives_every_schedule_of_a_step():
    from symusic.musicvae.training.config import ExperimentConfig
    from symusic.musicvae.training.schedules import at, learning_rate_factor

    from .test_train_cli import tiny_config

    cfg = ExperimentConfig.from_dict(tiny_config("train", "eval", lr_decay=0.9)).training
    schedule = at(cfg, 10)
    assert schedule.beta == pytest.approx(0.1)  # halfway through 20 steps to 0.2
    assert schedule.sampling_probability == pytest.approx(1 - 10 / (10 + math.e))
    assert schedule.lr_factor == learning_rate_factor(3e-3, 0.9, 1e-5, 10) < 1.0
    assert at(cfg, 0).beta == 0.0 and at(cfg, 0).lr_factor == 1.0
