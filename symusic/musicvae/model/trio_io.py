"""The trio step head: Magenta's multi-part decoders behind the step-I/O seam.

A trio step is three tokens (:mod:`symusic.data.trio_tracks`): the lead's and the bass's
90-token melody tokens and the drums' 512-token class set. As MusicVAE's trio models
(https://github.com/magenta/magenta/blob/main/magenta/models/music_vae/lstm_models.py):

* the encoder reads the three parts' one-hot vectors concatenated (692 numbers a step, what
  ``TrioConverter`` feeds the encoder), fixed, not learned;
* a flat decoder (``MultiOutCategoricalLstmDecoder``) has one LSTM whose 692 outputs are three
  distributions, one a part (90, 90, 512 logits); it reads the previous step's three tokens
  (here each part's learned embedding, concatenated; the start marker is each part's own
  start token, its vocabulary size);
* the loss is the parts' cross-entropies summed (``_flat_reconstruction_loss`` over the split
  logits), running free each part is chosen from its own distribution (``_sample``);
* under ``hier``, ``SplitMultiOutLstmDecoder`` gives each part a core decoder of its own
  (:mod:`symusic.musicvae.model.split_decoder`, the ``split`` decoder key): each reads only
  its own part's previous token and writes its own part's logits.

The accuracy is the fraction of (step, part) tokens right; the event accuracy the same over
the tokens where something happens (a melody's onsets and note-offs, a drum hit).
The evaluation's figures per part are :mod:`symusic.musicvae.trio_evaluation`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from symusic.musicvae.model import loss as L
from symusic.musicvae.model.params import ConfigError
from symusic.musicvae.model.step_io import CategoricalIO, StepIO, choose_tokens, register

if TYPE_CHECKING:
    from symusic.data.representation import Representation
    from symusic.data.settings import DataSettings


class PartsOneHot(nn.Module):
    """Tokens ``[B, T, P]`` -> the parts' one-hot vectors concatenated ``[B, T, sum(sizes)]``
    (no parameters)."""

    def __init__(self, part_sizes: tuple[int, ...]):
        super().__init__()
        self.part_sizes = tuple(part_sizes)
        offsets = torch.tensor([0, *part_sizes[:-1]]).cumsum(0)
        self.register_buffer("offsets", offsets, persistent=False)

    @property
    def embedding_dim(self) -> int:
        return sum(self.part_sizes)

    def forward(self, tokens: Tensor) -> Tensor:
        features = tokens.new_zeros(*tokens.shape[:-1], self.embedding_dim, dtype=torch.float32)
        return features.scatter_(-1, tokens + self.offsets, 1.0)


def part_embed_sizes(embed_size: int | tuple[int, ...], parts: int) -> tuple[int, ...]:
    """Each part's embedding size: ``embed_size`` for all, or its list one a part
    (``ConfigError`` when the list is not one a part)."""
    if isinstance(embed_size, int):
        return (embed_size,) * parts
    if len(embed_size) != parts:
        raise ConfigError(f"decoder_args: embed_size {list(embed_size)} must give one size for "
                          f"each of the step's {parts} parts")
    return tuple(embed_size)


class PartsEmbedding(nn.Module):
    """Tokens ``[B, t, P]`` (each part's start token allowed) -> each part's embedding
    (``embed_size``, or one size a part), concatenated ``[B, t, sum of the sizes]``."""

    def __init__(self, parts: list[CategoricalIO], embed_size: int | tuple[int, ...],
                 zero_start: bool):
        super().__init__()
        sizes = part_embed_sizes(embed_size, len(parts))
        self.parts = nn.ModuleList(part.decoder_input(size, zero_start)
                                   for part, size in zip(parts, sizes, strict=True))

    @property
    def embedding_dim(self) -> int:
        return sum(embed.embedding_dim for embed in self.parts)

    def forward(self, tokens: Tensor) -> Tensor:
        return torch.cat([embed(tokens[..., p]) for p, embed in enumerate(self.parts)], dim=-1)


class TrioIO(StepIO):
    """Several categorical parts a step (``part_sizes`` tokens each); see the module
    docstring. ``parts``: each part's own :class:`CategoricalIO` (what ``split`` builds its
    core decoders with)."""

    item_dtype = torch.long

    def __init__(self, part_sizes: tuple[int, ...], no_events: tuple[int, ...],
                 part_names: tuple[str, ...]):
        self.part_sizes = tuple(part_sizes)
        self.part_names = tuple(part_names)
        self.item_shape = (len(part_sizes),)
        self.output_size = sum(part_sizes)
        self.parts = [CategoricalIO(size, no_event)
                      for size, no_event in zip(part_sizes, no_events, strict=True)]

    def split(self, outputs: Tensor) -> tuple[Tensor, ...]:
        """outputs ``[..., output_size]`` -> each part's logits ``[..., size]``."""
        return torch.split(outputs, list(self.part_sizes), dim=-1)

    def encoder_input(self, embed_size: int) -> nn.Module:
        return PartsOneHot(self.part_sizes)

    def decoder_input(self, embed_size: int, zero_start: bool) -> nn.Module:
        return PartsEmbedding(self.parts, embed_size, zero_start)

    def start_items(self, batch: int, device: torch.device | str) -> Tensor:
        return torch.tensor(self.part_sizes, device=device).expand(batch, -1).clone()

    def choose(self, outputs: Tensor, temperature: float,
               generator: torch.Generator | None = None) -> Tensor:
        return torch.stack([choose_tokens(logits, temperature, generator)
                            for logits in self.split(outputs)], dim=-1)

    def reconstruction(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return sum(L.sequence_cross_entropy(logits, targets[..., p])
                   for p, logits in enumerate(self.split(outputs)))

    def _correct(self, outputs: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        """``(right, event)``: bool ``[B, T, P]`` each."""
        predicted = torch.stack([logits.argmax(dim=-1) for logits in self.split(outputs)], -1)
        no_event = torch.tensor([part.no_event for part in self.parts], device=targets.device)
        return predicted == targets, targets != no_event

    def accuracies(self, outputs: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        right, event = self._correct(outputs, targets)
        return right.float().mean(), (right & event).sum() / event.sum()


@register("trio")
def trio_io(representation: Representation, settings: DataSettings) -> TrioIO:
    """The trio's head: the parts' sizes and names come from the representation."""
    return TrioIO(representation.part_sizes, (representation.no_event,) * len(
        representation.part_sizes), representation.part_names)
