"""Decoders: an LSTM whose initial state comes from a context vector, keyed in ``DECODERS``.

* ``simple``: previous token -> embedding -> LSTM -> logits over the ``NUM_CLASSES`` tokens.
* ``another``: as ``simple``, with the context also concatenated to the input at every step
  (Magenta's ``BaseLstmDecoder`` wiring).
* ``conductor``: no token input; runs ``n`` steps on zero inputs and projects each output to
  ``c_size``: one embedding per subsequence of a hierarchical decoder.

A token decoder's ``forward`` runs any number of steps in one fused ``nn.LSTM`` call (cuDNN on
GPU, oneDNN on CPU); it is the sequence decoders that decide whether to call it once for the
whole sequence or step by step.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from symusic.data.tokens import NUM_CLASSES
from symusic.musicvae.model.config import (
    AnotherParams,
    ConductorParams,
    DecoderArgs,
    SimpleParams,
)

START_TOKEN = NUM_CLASSES  # the decoders' embeddings have one more row: the start token

LSTMState = tuple[Tensor, Tensor]  # (h, c), each [n_layers, B, hidden_size]


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
    """Embedding of the previous token (+ the context if ``context_as_input``) -> LSTM -> logits.

    Args:
        context_size: size of the context that sets the initial state.
        embed_size, hidden_size, n_layers: the embedding and the LSTM.
        context_as_input: also feed the context at every step (``another``).
    """

    def __init__(
        self,
        context_size: int,
        embed_size: int,
        hidden_size: int,
        n_layers: int,
        context_as_input: bool,
    ):
        super().__init__()
        self.context_as_input = context_as_input
        self.embed = nn.Embedding(NUM_CLASSES + 1, embed_size)
        self.initial_state = InitialState(context_size, hidden_size, n_layers)
        input_size = embed_size + (context_size if context_as_input else 0)
        self.lstm = nn.LSTM(input_size, hidden_size, n_layers, batch_first=True)
        self.out = nn.Linear(hidden_size, NUM_CLASSES)

    def forward(
        self, inputs: Tensor, context: Tensor, state: LSTMState
    ) -> tuple[Tensor, LSTMState]:
        """Run ``t`` steps in one LSTM call.

        inputs [B, t] (token ids, ``START_TOKEN`` allowed), context [B, C], state from
        ``initial_state(context)`` or a previous call -> (logits [B, t, NUM_CLASSES], state).
        """
        x = self.embed(inputs)
        if self.context_as_input:
            x = torch.cat([x, context[:, None, :].expand(-1, inputs.shape[1], -1)], dim=-1)
        hidden, state = self.lstm(x, state)
        return self.out(hidden), state


class SimpleDecoder(TokenDecoder):
    """``simple``: the context only sets the initial state."""

    def __init__(self, context_size: int, embed_size: int, hidden_size: int, n_layers: int):
        super().__init__(context_size, embed_size, hidden_size, n_layers, context_as_input=False)

    @classmethod
    def from_params(cls, params: SimpleParams, context_size: int) -> SimpleDecoder:
        return cls(context_size, params.embed_size, params.hidden_size, params.n_layers)


class AnotherDecoder(TokenDecoder):
    """``another``: the context sets the initial state and is an input at every step."""

    def __init__(self, context_size: int, embed_size: int, hidden_size: int, n_layers: int):
        super().__init__(context_size, embed_size, hidden_size, n_layers, context_as_input=True)

    @classmethod
    def from_params(cls, params: AnotherParams, context_size: int) -> AnotherDecoder:
        return cls(context_size, params.embed_size, params.hidden_size, params.n_layers)


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

    @classmethod
    def from_params(cls, params: ConductorParams, context_size: int) -> ConductorDecoder:
        return cls(context_size, params.hidden_size, params.c_size, params.n_layers)

    def forward(self, context: Tensor, n_steps: int) -> Tensor:
        """context [B, C] -> embeddings [B, n_steps, c_size]."""
        zeros = context.new_zeros(context.shape[0], n_steps, 1)
        hidden, _ = self.lstm(zeros, self.initial_state(context))
        return self.out(hidden)


DECODERS: dict[str, type[nn.Module]] = {
    "simple": SimpleDecoder,
    "another": AnotherDecoder,
    "conductor": ConductorDecoder,
}


def build_decoder(args: DecoderArgs, context_size: int) -> nn.Module:
    """The decoder named by ``args.key``, receiving a context of ``context_size``."""
    if args.key not in DECODERS:
        raise KeyError(f"unknown decoder {args.key!r}; known: {', '.join(sorted(DECODERS))}")
    return DECODERS[args.key].from_params(args.params, context_size)
