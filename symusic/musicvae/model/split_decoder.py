"""The ``split`` decoder: one core decoder per part of a multi-part step (the trio's melody,
bass and drums), after Magenta's ``SplitMultiOutLstmDecoder``
(https://github.com/magenta/magenta/blob/main/magenta/models/music_vae/lstm_models.py).

Each part has a token decoder of its own (its own initial state from the context, its own
LSTM and output layer), which reads only that part's previous token and writes that part's
logits; the outputs are concatenated in part order, so to a sequence decoder ``split`` is one
decoder over the model's whole step. Under ``hier`` (``hierdec-trio_16bar``) every part's core
decoder is started by the conductor's embedding of the bar and seeded by its part's last token
of the bar before. A representation of one part has nothing to split: building refuses it.

Registered in ``decoders.DECODERS`` as ``split`` (``decoders`` imports this module before it
derives the decoder config types).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import torch
from pydantic import model_serializer
from torch import Tensor, nn

# decoders imports this module while it is being built (before it derives its config types):
# only its registry exists yet, so the decoder classes are imported where they are used
from symusic.musicvae.model.decoders import DECODERS
from symusic.musicvae.model.params import ConfigError, EmbedSize, Params, PositiveInt
from symusic.musicvae.model.step_io import StepIO

if TYPE_CHECKING:
    from symusic.musicvae.model.decoders import LSTMState, TokenDecoder


@DECODERS.register("split")
class SplitDecoderParams(Params):
    """``split``: one token decoder of ``embed_size`` (or a list, one a part), ``hidden_size``
    and ``n_layers`` per part of the step (a multi-part representation only: the trio).
    ``start_input`` as for ``simple``; ``context_every_step`` (default false): each core
    decoder also reads the context at every step, as ``another`` does and Magenta's core
    decoders do (``SplitMultiOutLstmDecoder`` over ``CategoricalLstmDecoder``s)."""

    embed_size: EmbedSize
    hidden_size: PositiveInt
    n_layers: PositiveInt
    start_input: Literal["learned", "zeros"] = "learned"
    context_every_step: bool = False

    @model_serializer(mode="wrap")
    def _without_defaults(self, handler):
        values = handler(self)
        if values.get("start_input") == "learned":
            del values["start_input"]
        if not values.get("context_every_step", True):
            del values["context_every_step"]
        return values

    def build(self, context_size: int, io: StepIO) -> SplitDecoder:
        """One core decoder per part of ``io`` (``ConfigError`` when it has no parts)."""
        from symusic.musicvae.model.decoders import TokenDecoder
        from symusic.musicvae.model.trio_io import part_embed_sizes

        parts = getattr(io, "parts", None)
        if not parts:
            raise ConfigError("decoder_args: the 'split' decoder decodes a step of several "
                              "parts (the trio representation); this model's step is one "
                              "token: use 'simple' or 'another'")
        sizes = part_embed_sizes(self.embed_size, len(parts))
        cores = [TokenDecoder(context_size, size, self.hidden_size, self.n_layers, part,
                              self.context_every_step, zero_start=self.start_input == "zeros")
                 for part, size in zip(parts, sizes, strict=True)]
        return SplitDecoder(cores, io)


class SplitDecoder(nn.Module):
    """Core decoders side by side: ``forward(inputs [B, t, P], context [B, C], state)`` ->
    ``(outputs [B, t, sum of the parts' sizes], state)``, the state a tuple of the parts'.
    Its cores read no lookback items (``split`` has no ``lookback_distances`` key)."""

    lookback_distances: tuple[int, ...] = ()

    def __init__(self, cores: list[TokenDecoder], io: StepIO):
        super().__init__()
        self.io = io
        self.cores = nn.ModuleList(cores)

    def initial_state(self, context: Tensor) -> tuple[LSTMState, ...]:
        """context [B, C] -> each core decoder's initial state."""
        return tuple(core.initial_state(context) for core in self.cores)

    def forward(self, inputs: Tensor, context: Tensor, state: tuple[LSTMState, ...],
                lookback: None = None) -> tuple[Tensor, tuple[LSTMState, ...]]:
        outputs, states = [], []
        for p, (core, part_state) in enumerate(zip(self.cores, state, strict=True)):
            logits, part_state = core(inputs[..., p], context, part_state)
            outputs.append(logits)
            states.append(part_state)
        return torch.cat(outputs, dim=-1), tuple(states)
