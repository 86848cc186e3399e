"""Step-by-step generation through an ``nn.LSTM``'s own weights, without its per-call cost.

Free-running decoding calls the LSTM once per step on a small batch. A one-step ``nn.LSTM``
call costs about 0.3 ms on a 2-core CPU whatever the batch (oneDNN sets up its RNN primitive
and re-lays out every weight matrix on each call), three times the arithmetic of the step
(``benchmarks/recurrent_profile.py``). :class:`LSTMStepper` does the same step as plain matrix
products on the same weights, laid out once per sequence, and computes the share of the first
layer's input projection that stays the same over a sequence (the context an ``another``
decoder appends to every input) once instead of at every step.

It adds no parameters and no state to any module: it reads the ``nn.LSTM``'s
``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}`` and ``bias_hh_l{k}``, so checkpoints
are unchanged, and training keeps the fused ``nn.LSTM`` call (faster than any loop of ours for
training on CPU, fp32 and bf16; see issue 23's section of ``benchmarks/README.md``). Results
equal ``nn.LSTM``'s up to the rounding of a different order of sums (about 1e-6 in fp32).

:func:`decoding_step` is what the sequence decoders' free-running loops call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from symusic.musicvae.model.decoders import LSTMState, TokenDecoder

# (items [B, *item_shape], state[, lookback]) -> (outputs [B, output_size], state)
DecodingStep = Callable[[Tensor, Any], tuple[Tensor, Any]]


def lstm_cell(gates: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """Pre-activations [B, 4H] in ``nn.LSTM``'s gate order (input, forget, cell, output) and
    the cell [B, H] -> (h, c), each [B, H]."""
    i, f, g, o = gates.chunk(4, dim=1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


class LSTMStepper:
    """One step at a time through ``lstm`` (unidirectional, any number of layers), for
    inference (no autograd).

    ``constant_input`` [B, C]: features appended after the step's own features to every
    step's input (``lstm.input_size`` = F + C), or None. Built once per sequence.
    """

    def __init__(self, lstm: nn.LSTM, constant_input: Tensor | None = None):
        if lstm.bidirectional or lstm.proj_size or not lstm.bias:
            raise ValueError("LSTMStepper runs unidirectional LSTMs with biases and no "
                             "projection")
        w_ih = lstm.weight_ih_l0.detach()
        bias = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach()
        constant_size = 0 if constant_input is None else constant_input.shape[1]
        step_size = lstm.input_size - constant_size
        # every step's first-layer gates start from the biases and the constant features' share
        self.first_gates = bias.expand(1, -1) if constant_input is None else torch.addmm(
            bias, constant_input, w_ih[:, step_size:].t())
        self.w_step = w_ih[:, :step_size].t().contiguous()  # [F, 4H]
        self.w_ih = [None] + [getattr(lstm, f"weight_ih_l{k}").detach().t().contiguous()
                              for k in range(1, lstm.num_layers)]  # [H, 4H]
        self.biases = [None] + [(getattr(lstm, f"bias_ih_l{k}")
                                 + getattr(lstm, f"bias_hh_l{k}")).detach()
                                for k in range(1, lstm.num_layers)]
        self.w_hh = [getattr(lstm, f"weight_hh_l{k}").detach().t().contiguous()
                     for k in range(lstm.num_layers)]  # [H, 4H]

    @torch.no_grad()
    def step(self, x: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState]:
        """x [B, F] (this step's own features), state (h, c) [L, B, H] -> (the top layer's
        output [B, H], the new state)."""
        h_in, c_in = state
        hs, cs = [], []
        for k, w_hh in enumerate(self.w_hh):
            if k == 0:
                gates = torch.addmm(self.first_gates, x, self.w_step)
            else:
                gates = torch.addmm(self.biases[k], x, self.w_ih[k])
            gates = torch.addmm(gates, h_in[k], w_hh)
            x, c = lstm_cell(gates, c_in[k])
            hs.append(x)
            cs.append(c)
        return x, (torch.stack(hs), torch.stack(cs))


def forward_step(decoder: nn.Module, context: Tensor) -> DecodingStep:
    """One step through ``decoder``'s own ``forward`` (one ``nn.LSTM`` call a step)."""
    def step(items: Tensor, state: Any, lookback: Tensor | None = None) -> tuple[Tensor, Any]:
        outputs, state = decoder(items[:, None], context, state, lookback)
        return outputs[:, 0], state
    return step


def decoding_step(decoder: nn.Module, context: Tensor) -> DecodingStep:
    """One free-running step of ``decoder`` for the sequences of ``context`` [B, C]:
    (items [B, *item_shape], state) -> (outputs [B, output_size], state), the same as
    ``decoder(items[:, None], context, state)`` on one step.

    A :class:`~decoders.TokenDecoder` in eval mode steps through :class:`LSTMStepper`; any
    other decoder, or one in training mode (its dropout then applies), through its own
    ``forward``."""
    if not isinstance(decoder, TokenDecoder) or decoder.training:
        return forward_step(decoder, context)

    stepper = LSTMStepper(decoder.lstm, context if decoder.context_every_step else None)

    def stepped(items: Tensor, state: LSTMState,
                lookback: Tensor | None = None) -> tuple[Tensor, LSTMState]:
        """lookback [B, 1, n, *item_shape] with ``lookback_distances``, else None."""
        features = decoder.with_lookback(decoder.embed(items[:, None]), lookback)[:, 0]
        hidden, state = stepper.step(features, state)
        return decoder.out(hidden), state
    return stepped
