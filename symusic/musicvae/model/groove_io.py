"""The groove step head: Magenta's ``GrooveLstmDecoder`` behind the step-I/O seam.

A groove step is 27 numbers (:mod:`symusic.data.groove_windows`): the hits, velocities and
offsets of the nine drum classes. The decoder's 27 outputs are read as 9 hit logits, 9
velocities (sigmoid) and 9 offsets (tanh), as ``GrooveLstmDecoder._activate_outputs`` does
(https://github.com/magenta/magenta/blob/main/magenta/models/music_vae/lstm_models.py, class
``GrooveLstmDecoder``):

* the loss (``_flat_reconstruction_loss``) is the hits' sigmoid cross-entropy plus the squared
  errors of the velocities and the offsets, summed over the classes and the steps;
* a step running free (``_sample``) draws the hits from Bernoulli(logits / temperature) (at
  temperature 0: a hit where the logit is above 0, probability above 0.5) and takes the
  predicted velocities and offsets. Unlike ``_sample``, they are zeroed where no hit is drawn,
  as they are in every window the decoder is trained on (the next input stays one of them;
  ``from_tensors`` ignores them anyway), unless the data settings ask for ``magenta_feedback``
  (an imported Magenta model, or one trained for magenta.js: then exactly ``_sample``);
* the decoder reads the previous step's 27 numbers, the first step zeros.

The encoder reads a window through the model's input transformation (the data settings'
``humanize``, ``tapify``, ``fixed_velocities``: Magenta's converter options), so a humanize
model is given the whole played groove and sees it flattened; a user's flat beat reads the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from symusic.data import groove_windows as G
from symusic.musicvae.model.step_io import StepIO, register

if TYPE_CHECKING:
    from symusic.data.representation import Representation
    from symusic.data.settings import DataSettings


class GrooveInput(nn.Module):
    """Windows ``[B, T, 27]`` -> the encoder's features ``[B, T, 27]`` after the input
    transformation (no parameters)."""

    embedding_dim = G.ITEM_SIZE

    def __init__(self, humanize: bool = False, tapify: bool = False,
                 fixed_velocities: bool = False):
        super().__init__()
        self.flags = {"humanize": humanize, "tapify": tapify,
                      "fixed_velocities": fixed_velocities}

    def forward(self, items: Tensor) -> Tensor:
        """items [B, T, 27] -> features [B, T, 27]."""
        return G.transform_input(items.float(), **self.flags)


class PreviousStep(nn.Module):
    """The decoder's input: the previous step's 27 numbers as they are."""

    embedding_dim = G.ITEM_SIZE

    def forward(self, items: Tensor) -> Tensor:
        """items [B, t, 27] -> [B, t, 27] (float)."""
        return items.float()


def split_outputs(outputs: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """outputs ``[..., 27]`` -> ``(hit logits, velocities, offsets)``, each ``[..., 9]``
    (velocities through a sigmoid, offsets through tanh), in float32."""
    outputs = outputs.float()
    return (outputs[..., G.HITS], torch.sigmoid(outputs[..., G.VELOCITIES]),
            torch.tanh(outputs[..., G.OFFSETS]))


def groove_loss(outputs: Tensor, targets: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Per step ``(hits, velocities, offsets)`` losses ``[..., T]`` of outputs and targets
    ``[..., T, 27]``: the hits' sigmoid cross-entropy and the squared errors, each summed
    over the classes."""
    logits, velocities, offsets = split_outputs(outputs)
    targets = targets.float()
    hits = F.binary_cross_entropy_with_logits(logits, targets[..., G.HITS], reduction="none")
    return (hits.sum(-1), ((velocities - targets[..., G.VELOCITIES]) ** 2).sum(-1),
            ((offsets - targets[..., G.OFFSETS]) ** 2).sum(-1))


class GrooveIO(StepIO):
    """Hits, velocities and offsets of nine drum classes a step (see the module docstring)."""

    item_shape = (G.ITEM_SIZE,)
    item_dtype = torch.float32
    output_size = G.ITEM_SIZE

    def __init__(self, humanize: bool = False, tapify: bool = False,
                 fixed_velocities: bool = False, magenta_feedback: bool = False):
        self.flags = {"humanize": humanize, "tapify": tapify,
                      "fixed_velocities": fixed_velocities}
        self.magenta_feedback = magenta_feedback

    def encoder_input(self, embed_size: int) -> nn.Module:
        return GrooveInput(**self.flags)

    def decoder_input(self, embed_size: int, zero_start: bool) -> nn.Module:
        return PreviousStep()

    def start_items(self, batch: int, device: torch.device | str) -> Tensor:
        return torch.zeros(batch, G.ITEM_SIZE, device=device)

    def choose(self, outputs: Tensor, temperature: float,
               generator: torch.Generator | None = None) -> Tensor:
        logits, velocities, offsets = split_outputs(outputs)
        if temperature == 0:
            hits = (logits > 0).float()
        else:
            hits = torch.bernoulli(torch.sigmoid(logits / temperature), generator=generator)
        if self.magenta_feedback:
            return torch.cat([hits, velocities, offsets], dim=-1)
        return torch.cat([hits, velocities * hits, offsets * hits], dim=-1)

    def reconstruction(self, outputs: Tensor, targets: Tensor) -> Tensor:
        hits, velocities, offsets = groove_loss(outputs, targets)
        return (hits + velocities + offsets).sum(-1)

    def accuracies(self, outputs: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        """Steps whose nine hits are all right, of all steps and of the steps with a hit."""
        predicted = outputs[..., G.HITS].float() > 0
        actual = targets[..., G.HITS] > 0.5
        right = (predicted == actual).all(-1)
        played = actual.any(-1)
        return (right.float().mean(),
                right[played].float().mean() if played.any() else right.new_tensor(float("nan")))


@register("groove")
def groove_io(representation: Representation, settings: DataSettings) -> GrooveIO:
    """The groove head under ``settings``' input transformations."""
    return GrooveIO(settings.humanize, settings.tapify, settings.fixed_velocities,
                    settings.magenta_feedback)
