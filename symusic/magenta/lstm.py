"""Magenta's LSTM and dense parametrisation as ``torch.nn`` weights, and back.

Magenta's cells are ``LSTMBlockCell``: one ``kernel [input + units, 4 * units]`` multiplying
``[x, h]``, gates in the order i, j (the candidate), f, o, and a forget bias of 1.0 added at
run time (not stored). ``nn.LSTM`` keeps ``weight_ih [4H, input]``, ``weight_hh [4H, H]`` and
two biases, gates i, f, g, o. A dense layer is ``kernel [in, out]``, ``nn.Linear`` holds its
transpose. An initial state from a context (``z_to_initial_state``, the conductor's
``initial_state``) is split ``[c0, h0, c1, h1, ...]`` in Magenta, ``[h0, h1, ..., c0, c1,
...]`` in symusic's :class:`InitialState`. Every map here is a permutation, a transpose or the
forget bias moved: exact in both directions but for the one float32 addition of that bias.
"""

from __future__ import annotations

import numpy as np

FORGET_BIAS = 1.0
# nn.LSTM's gate blocks (i, f, g, o) as positions of Magenta's (i, j, f, o); its own inverse
GATE_ORDER = [0, 2, 1, 3]
FORGET_GATE = 1  # in nn.LSTM's order


def _gates(values: np.ndarray, units: int) -> np.ndarray:
    """The last axis, 4 gate blocks of ``units``, reordered Magenta <-> torch."""
    blocks = values.reshape(*values.shape[:-1], 4, units)[..., GATE_ORDER, :]
    return blocks.reshape(values.shape)


def torch_lstm(kernel: np.ndarray, bias: np.ndarray, input_size: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Magenta's ``kernel [input + H, 4H]`` and ``bias [4H]`` -> ``(weight_ih [4H, input],
    weight_hh [4H, H], bias_ih [4H], bias_hh [4H])``; the forget bias goes into ``bias_ih``."""
    units = bias.shape[0] // 4
    kernel = _gates(kernel.astype(np.float32), units)
    bias_ih = _gates(bias.astype(np.float32), units).copy()
    bias_ih[FORGET_GATE * units:(FORGET_GATE + 1) * units] += np.float32(FORGET_BIAS)
    return (np.ascontiguousarray(kernel[:input_size].T),
            np.ascontiguousarray(kernel[input_size:].T), bias_ih, np.zeros_like(bias_ih))


def magenta_lstm(weight_ih: np.ndarray, weight_hh: np.ndarray, bias_ih: np.ndarray,
                 bias_hh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of :func:`torch_lstm`: ``(kernel [input + H, 4H], bias [4H])``, the two
    biases summed and the run-time forget bias taken out (in float64, then float32)."""
    units = weight_hh.shape[1]
    kernel = np.concatenate([weight_ih.T, weight_hh.T], axis=0).astype(np.float64)
    bias = bias_ih.astype(np.float64) + bias_hh.astype(np.float64)
    bias[FORGET_GATE * units:(FORGET_GATE + 1) * units] -= FORGET_BIAS
    return _gates(kernel, units).astype(np.float32), _gates(bias, units).astype(np.float32)


def _state_order(n_layers: int) -> list[int]:
    """Magenta's chunks (c0, h0, c1, h1, ...) in symusic's order (h0, h1, ..., c0, c1, ...)."""
    return [2 * layer + 1 for layer in range(n_layers)] + [2 * layer for layer in range(n_layers)]


def torch_initial_state(kernel: np.ndarray, bias: np.ndarray, n_layers: int
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Magenta's initial-state dense ``kernel [C, 2 L H]``, ``bias`` -> symusic's
    ``InitialState.proj`` ``(weight [2 L H, C], bias)``."""
    context, width = kernel.shape
    units = width // (2 * n_layers)
    order = _state_order(n_layers)
    weight = kernel.reshape(context, 2 * n_layers, units)[:, order].reshape(context, width).T
    return (np.ascontiguousarray(weight, dtype=np.float32),
            bias.reshape(2 * n_layers, units)[order].reshape(width).astype(np.float32))


def magenta_initial_state(weight: np.ndarray, bias: np.ndarray, n_layers: int
                          ) -> tuple[np.ndarray, np.ndarray]:
    """The inverse of :func:`torch_initial_state`: ``(kernel [C, 2 L H], bias)``."""
    width, context = weight.shape
    units = width // (2 * n_layers)
    back = np.argsort(_state_order(n_layers))
    kernel = weight.T.reshape(context, 2 * n_layers, units)[:, back].reshape(context, width)
    return (np.ascontiguousarray(kernel, dtype=np.float32),
            bias.reshape(2 * n_layers, units)[back].reshape(width).astype(np.float32))
