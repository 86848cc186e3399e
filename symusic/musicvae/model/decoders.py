"""Decoders: an LSTM whose initial state comes from a context vector, registered in
``DECODERS`` (config key -> params class; each params class builds its decoder).

* ``simple``: previous item (token) -> input features -> LSTM -> outputs (logits).
* ``another``: as ``simple``, with the context also concatenated to the input at every step
  (Magenta's ``BaseLstmDecoder`` wiring).
* ``conductor``: no token input; runs ``n`` steps on zero inputs and projects each output to
  ``c_size``: one embedding per subsequence of a hierarchical decoder.

What a step reads and writes comes from the model's :class:`~step_io.StepIO` (a token
embedding and logits for melodies and drums), never from the decoder itself.

A token decoder's ``forward`` runs any number of steps in one fused ``nn.LSTM`` call (cuDNN on
GPU, oneDNN on CPU); it is the sequence decoders that decide whether to call it once for the
whole sequence or step by step.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
from pydantic import Field, model_serializer
from torch import Tensor, nn

from symusic.musicvae.model.params import EmbedSize, Params, PositiveInt, Registry
from symusic.musicvae.model.step_io import StepIO

LSTMState = tuple[Tensor, Tensor]  # (h, c), each [n_layers, B, hidden_size]

DECODERS = Registry("decoder")


@DECODERS.register("simple")
class InitialStateDecoderParams(Params):
    """``simple``: token embedding -> LSTM -> logits; the context sets the initial state.

    ``start_input`` (an extra key): what the first step reads, a learned start-token
    embedding (``"learned"``, the default) or zeros (``"zeros"``, fixed, as Magenta's decoders
    feed: a model trained so exports to magenta.js exactly)."""

    context_every_step: ClassVar[bool] = False

    embed_size: EmbedSize  # a list: one size a part of a multi-part step (the trio)
    hidden_size: PositiveInt
    n_layers: PositiveInt
    start_input: Literal["learned", "zeros"] = "learned"
    # an extra key: the share of every LSTM layer's input dropped while training (Magenta's
    # dropout_keep_prob = 1 - dropout, its DropoutWrapper(input_keep_prob) on each cell)
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    # an extra key (not Magenta's): the share of steps whose previous item the decoder is not
    # shown in training, its input features zeroed ("word dropout", Bowman et al. 2016), so it
    # leans on z (or the bar's embedding) instead of the notes just before
    word_dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    # an extra key (Magenta's Lookback RNN, not its MusicVAE): every step also reads the items
    # these many steps before the one it predicts (e.g. [64, 128]: 4 and 8 bars back), so a
    # decoder can restate a bar instead of recalling it through its state
    lookback_distances: tuple[PositiveInt, ...] = Field(default=(), max_length=8)
    # an extra key: the share of spans of ``lookback_span`` steps (a bar of sixteenths) whose
    # lookback items are hidden in training (shown as "before the window"), so the decoder
    # learns a bar from z as well as by copying the bars before, and does not loop running free
    lookback_dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    lookback_span: PositiveInt = 16

    @model_serializer(mode="wrap")
    def _without_default_start(self, handler):
        # a config that leaves the defaults out stays the spec's keys (checkpoints, to_dict)
        values = handler(self)
        fields = type(self).model_fields
        for key in ("start_input", "dropout", "word_dropout", "lookback_dropout", "lookback_span"):
            if key in values and values[key] == fields[key].default:
                del values[key]
        if not values.get("lookback_distances", ()):
            values.pop("lookback_distances", None)
        else:
            values["lookback_distances"] = list(values["lookback_distances"])
        return values

    def build(self, context_size: int, io: StepIO) -> TokenDecoder:
        """The decoder of a ``context_size`` context over ``io``'s items."""
        return TokenDecoder(context_size, self.embed_size, self.hidden_size, self.n_layers,
                            io, self.context_every_step,
                            zero_start=self.start_input == "zeros", dropout=self.dropout,
                            word_dropout=self.word_dropout,
                            lookback_distances=self.lookback_distances,
                            lookback_dropout=(self.lookback_dropout, self.lookback_span))


@DECODERS.register("another")
class ContextEveryStepDecoderParams(InitialStateDecoderParams):
    """``another``: as ``simple``, with the context (``z_size``) also an input at every step."""

    context_every_step: ClassVar[bool] = True

    z_size: PositiveInt


@DECODERS.register("conductor")
class ConductorParams(Params):
    """``conductor``: zero-input LSTM giving one embedding of ``c_size`` per subsequence."""

    only_as = "conductor_args of 'hier'"

    hidden_size: PositiveInt
    c_size: PositiveInt
    n_layers: PositiveInt

    def build(self, context_size: int, io: StepIO) -> ConductorDecoder:
        """The conductor of a ``context_size`` context (it reads no tokens)."""
        return ConductorDecoder(context_size, self.hidden_size, self.c_size, self.n_layers)


# keys registered in modules of their own, imported before the config types are derived
from symusic.musicvae.model import split_decoder  # noqa: E402, F401 ("split": one per part)

TokenDecoderArgs = DECODERS.args_type(DECODERS.unrestricted())  # what greedy/sample decode with
ConductorArgs = DECODERS.args_type(["conductor"])


class InitialState(nn.Module):
    """Context -> LSTM state of every layer, through a linear layer and tanh (Magenta's
    ``initial_cell_state_from_embedding``)."""

    def __init__(self, context_size: int, hidden_size: int, n_layers: int):
        super().__init__()
        self.hidden_size, self.n_layers = hidden_size, n_layers
        self.proj = nn.Linear(context_size, 2 * n_layers * hidden_size)

    def forward(self, context: Tensor) -> LSTMState:
        """context [B, C] -> (h, c), each [n_layers, B, hidden_size]."""
        state = torch.tanh(self.proj(context))
        state = state.view(-1, 2, self.n_layers, self.hidden_size).permute(1, 2, 0, 3)
        return state[0].contiguous(), state[1].contiguous()


class TokenDecoder(nn.Module):
    """The previous item's input features (+ the context if ``context_every_step``) -> LSTM ->
    outputs of ``io.output_size`` per step. The items and the start marker are ``io``'s (for
    tokens: an embedding of ``vocab_size + 1`` rows, the last the start token).

    Args:
        context_size: size of the context that sets the initial state.
        embed_size, hidden_size, n_layers: the input features and the LSTM.
        io: what a step reads and writes (:mod:`step_io`).
        context_every_step: also feed the context at every step (``another``).
        zero_start: the start marker's input is zeros and never learned (Magenta's first input).
        dropout: the share of each layer's input dropped in training (0: none).
        word_dropout: the share of steps whose previous item's features are zeroed in training
            (whole steps, not rescaled; 0: none).
        lookback_distances: each step also reads the items these many steps before the one it
            predicts (:func:`lookback_items`), through an embedding of its own; () for none.
        lookback_dropout: (share, span): in training, that share of each call's spans of
            ``span`` steps (counted from the call's first step: a bar under ``hier``) read the
            start marker instead of their lookback items; (0.0, span): none.
    """

    def __init__(self, context_size: int, embed_size: int | tuple[int, ...],
                 hidden_size: int, n_layers: int, io: StepIO, context_every_step: bool,
                 zero_start: bool = False, dropout: float = 0.0, word_dropout: float = 0.0,
                 lookback_distances: tuple[int, ...] = (),
                 lookback_dropout: tuple[float, int] = (0.0, 1)):
        super().__init__()
        self.io = io
        self.word_dropout = word_dropout
        self.context_every_step = context_every_step
        self.lookback_distances = tuple(lookback_distances)
        self.lookback_dropout, self.lookback_span = lookback_dropout
        self.embed = io.decoder_input(embed_size, zero_start)
        self.initial_state = InitialState(context_size, hidden_size, n_layers)
        input_size = self.embed.embedding_dim + (context_size if context_every_step else 0)
        if self.lookback_distances:
            # the start marker's row stands for "before the window"
            self.lookback_embed = io.decoder_input(embed_size, False)
            input_size += len(self.lookback_distances) * self.lookback_embed.embedding_dim
        # no parameters: checkpoints without dropout keep their state-dict names
        self.input_dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(input_size, hidden_size, n_layers, batch_first=True,
                            dropout=dropout if n_layers > 1 else 0.0)
        self.out = nn.Linear(hidden_size, io.output_size)

    def forward(
        self, inputs: Tensor, context: Tensor, state: LSTMState, lookback: Tensor | None = None
    ) -> tuple[Tensor, LSTMState]:
        """Run ``t`` steps in one LSTM call.

        inputs [B, t, *item_shape] (the start marker allowed), context [B, C], state from
        ``initial_state(context)`` or a previous call, lookback [B, t, n_distances,
        *item_shape] (with ``lookback_distances`` only) -> (outputs [B, t, output_size], state).
        """
        x = self.embed(inputs)
        if self.training and self.word_dropout > 0.0:
            shown = torch.rand(x.shape[:2], device=x.device) >= self.word_dropout
            x = x * shown[..., None].to(x.dtype)
        if self.training and self.lookback_dropout > 0.0 and lookback is not None:
            lookback = self.hide_lookback(lookback)
        x = self.with_lookback(x, lookback)
        if self.context_every_step:
            x = torch.cat([x, context[:, None, :].expand(-1, inputs.shape[1], -1)], dim=-1)
        hidden, state = self.lstm(self.input_dropout(x), state)
        return self.out(hidden), state

    def hide_lookback(self, lookback: Tensor) -> Tensor:
        """lookback [B, t, n, *item_shape] -> the same with a random ``lookback_dropout`` share
        of each row's spans of ``lookback_span`` steps replaced by the start marker."""
        batch, steps = lookback.shape[:2]
        spans = -(-steps // self.lookback_span)
        hidden = torch.rand(batch, spans, device=lookback.device) < self.lookback_dropout
        hidden = hidden.repeat_interleave(self.lookback_span, dim=1)[:, :steps]
        marker = self.io.start_items(batch, lookback.device)
        marker = marker[:, None, None].expand_as(lookback)
        shape = (batch, steps) + (1,) * (lookback.dim() - 2)
        return torch.where(hidden.reshape(shape), marker, lookback)

    def with_lookback(self, features: Tensor, lookback: Tensor | None) -> Tensor:
        """features [B, t, F] -> [B, t, F + n_distances * F'], the lookback items' embeddings
        appended (unchanged without ``lookback_distances``)."""
        if not self.lookback_distances:
            return features
        if lookback is None:
            raise ValueError("this decoder reads lookback items (lookback_distances "
                             f"{list(self.lookback_distances)}); none were given")
        batch, steps, n = lookback.shape[:3]
        flat = lookback.reshape(batch, steps * n, *lookback.shape[3:])
        looked = self.lookback_embed(flat).reshape(batch, steps, -1)
        return torch.cat([features, looked.to(features.dtype)], dim=-1)


def lookback_items(history: Tensor, start: int, steps: int, distances: tuple[int, ...],
                   marker: Tensor) -> Tensor:
    """The items ``distances`` before each of the ``steps`` positions from ``start`` on.

    history [B, H, *item_shape] holds the positions 0..H-1 (at least up to ``start + steps
    - min(distances)``); marker [B, *item_shape] stands in before position 0 ->
    [B, steps, n_distances, *item_shape].
    """
    positions = torch.arange(start, start + steps, device=history.device)
    offsets = torch.as_tensor(distances, device=history.device)
    index = positions[:, None] - offsets[None, :]  # [steps, n]
    valid = index >= 0
    picked = history[:, index.clamp(min=0)]  # [B, steps, n, *item_shape]
    shape = (1, steps, len(distances)) + (1,) * (history.dim() - 2)
    filler = marker[:, None, None].expand_as(picked)
    return torch.where(valid.reshape(shape), picked, filler)


class ConductorDecoder(nn.Module):
    """``conductor``: a zero-input LSTM started from the context; one ``c_size`` embedding per
    step.

    ``nn.LSTM`` needs an input of at least one feature; its input weights would only ever
    multiply zeros, so they are frozen at zero (no dead trainable parameter).
    """

    def __init__(self, context_size: int, hidden_size: int, c_size: int, n_layers: int):
        super().__init__()
        self.initial_state = InitialState(context_size, hidden_size, n_layers)
        self.lstm = nn.LSTM(1, hidden_size, n_layers, batch_first=True)
        nn.init.zeros_(self.lstm.weight_ih_l0)
        self.lstm.weight_ih_l0.requires_grad_(False)
        self.out = nn.Linear(hidden_size, c_size)

    def forward(self, context: Tensor, n_steps: int) -> Tensor:
        """context [B, C] -> embeddings [B, n_steps, c_size]."""
        zeros = context.new_zeros(context.shape[0], n_steps, 1)
        hidden, _ = self.lstm(zeros, self.initial_state(context))
        return self.out(hidden)
