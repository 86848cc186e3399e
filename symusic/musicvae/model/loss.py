"""The ELBO's terms and the accuracies, as Magenta's ``base_model``.

reconstruction = cross entropy summed over time steps, averaged over the batch;
KL(q(z|x) || N(0, I)) per sequence; free bits: kl_cost = max(KL - free_bits * ln 2, 0);
loss = reconstruction + beta * mean(kl_cost); ELBO = -(reconstruction + mean(KL)).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from symusic.data.representation import MELODY

LN2 = math.log(2.0)


def sequence_cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """logits [B, T, C], targets [B, T] -> [B]: each sequence's cross entropy summed over T."""
    return F.cross_entropy(logits.transpose(1, 2), targets, reduction="none").sum(dim=1)


def reconstruction_loss(logits: Tensor, targets: Tensor) -> Tensor:
    """logits [B, T, C], targets [B, T] -> 0-d: cross entropy summed over T, mean over B
    (a token model's reconstruction; the model asks its ``StepIO``)."""
    return sequence_cross_entropy(logits, targets).mean()


def kl_divergence(mu: Tensor, sigma: Tensor) -> Tensor:
    """KL(N(mu, sigma^2) || N(0, I)) in nats: mu, sigma [B, Z] -> [B]."""
    return 0.5 * (mu.pow(2) + sigma.pow(2) - 1.0 - 2.0 * torch.log(sigma)).sum(dim=-1)


def kl_cost(kl: Tensor, free_bits: float) -> Tensor:
    """Free bits: the KL (nats) [B] above ``free_bits`` bits counts; below, nothing -> [B]."""
    return torch.clamp(kl - free_bits * LN2, min=0.0)


def token_accuracy(logits: Tensor, targets: Tensor) -> Tensor:
    """Fraction of steps whose argmax is the target: logits [B, T, C], targets [B, T] -> 0-d."""
    return (logits.argmax(dim=-1) == targets).float().mean()


def note_accuracy(logits: Tensor, targets: Tensor, no_event: int = MELODY.no_event) -> Tensor:
    """Accuracy over the steps whose target is not ``no_event`` (the representation's
    "nothing new" token; for melodies the onsets and note-offs); NaN if there are none -> 0-d."""
    events = targets != no_event
    correct = (logits.argmax(dim=-1) == targets) & events
    return correct.sum() / events.sum()
