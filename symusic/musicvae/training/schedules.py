"""Training schedules as pure functions of the step (scheduled sampling, KL annealing and the
learning rate's exponential decay); :func:`at` gives all of them for one step."""

from __future__ import annotations

import math
from dataclasses import dataclass

from symusic.musicvae.training.config import BetaSettings, SamplingSettings, TrainingConfig


def sampling_probability(settings: SamplingSettings, step: int) -> float:
    """Probability of feeding the decoder its own previous output at ``step``.

    ``constant``: ``rate`` itself (0.0 is pure teacher forcing).
    ``inverse_sigmoid``: ``1 - k / (k + exp(step / k))`` with ``k = rate``, as Magenta's
    MusicVAE: it starts near 0 and rises towards 1 around step ``k * ln(k)``.
    """
    if settings.schedule == "constant":
        return min(max(settings.rate, 0.0), 1.0)
    k = settings.rate
    if k <= 0:
        return 1.0
    exponent = step / k
    if exponent > 700:  # exp would overflow; the limit is 1
        return 1.0
    return 1.0 - k / (k + math.exp(exponent))


def beta(settings: BetaSettings, step: int) -> float:
    """KL weight at ``step``: linear from ``start_beta`` to ``end_beta`` over ``duration`` steps."""
    if settings.duration <= 0 or step >= settings.duration:
        return settings.end_beta
    fraction = max(step, 0) / settings.duration
    return settings.start_beta + fraction * (settings.end_beta - settings.start_beta)


def learning_rate_factor(initial: float, decay: float, minimum: float, step: int) -> float:
    """Magenta's exponential decay as a factor of ``initial``: ``((initial - minimum) *
    decay**step + minimum) / initial`` (1.0 throughout when ``decay`` is 1)."""
    if decay >= 1.0 or initial <= minimum:
        return 1.0
    return ((initial - minimum) * decay ** step + minimum) / initial


@dataclass(frozen=True)
class StepSchedule:
    """What the schedules set for one training step."""

    beta: float  # the KL weight
    sampling_probability: float  # of feeding the decoder its own previous output
    lr_factor: float  # of ``learning_rate`` under the per-step exponential decay


def at(cfg: TrainingConfig, step: int) -> StepSchedule:
    """Every schedule of the training config ``cfg`` at ``step`` (0 for the first step)."""
    return StepSchedule(
        beta=beta(cfg.beta_settings, step),
        sampling_probability=sampling_probability(cfg.sampling_settings, step),
        lr_factor=learning_rate_factor(cfg.learning_rate, cfg.lr_decay, cfg.min_learning_rate,
                                       step),
    )
