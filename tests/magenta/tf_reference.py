"""What Magenta's TensorFlow graph computes from a flat MusicVAE's variables, on TensorFlow's
own ops (run by ``make_tf_fixtures.py`` in a venv with TensorFlow; the tests only read the
numbers it wrote).

Restated from Magenta's ``lstm_models.py`` and ``lstm_utils.py``:

* every cell is ``LSTMBlockCell`` (``tf.raw_ops.LSTMBlockCell``, forget bias 1.0, no peepholes,
  no clipping), the op Magenta's ``contrib.rnn.LSTMBlockCell`` runs;
* ``BidirectionalLstmEncoder``: ``stack_bidirectional_dynamic_rnn`` over the one-hot input, each
  layer above the first reading both directions' outputs at each step, and
  ``concat(last layer's final fw h, final bw h)`` into ``encoder/mu``;
* ``CategoricalLstmDecoder`` at temperature 0: the initial state ``tanh(dense(z))`` split as
  ``[c0, h0, c1, h1, ...]``, each step's input ``[previous output one-hot (zeros first), z]``
  through the stacked cells and ``output_projection``, the argmax fed back;
  ``MultiOutCategoricalLstmDecoder`` (``flat-trio_16bar``): the same LSTM, its logits split by
  ``output_depths`` and each part's argmax fed back as that part's one-hot, side by side.
"""

from __future__ import annotations

import numpy as np


def _cell(variables, prefix, x, c, h):
    import tensorflow as tf

    kernel, bias = variables[prefix + "kernel"], variables[prefix + "bias"]
    units = bias.shape[0] // 4
    peephole = tf.zeros([units], tf.float32)
    out = tf.raw_ops.LSTMBlockCell(x=x, cs_prev=c, h_prev=h, w=kernel, wci=peephole,
                                   wcf=peephole, wco=peephole, b=bias, forget_bias=1.0,
                                   cell_clip=-1.0, use_peephole=False)
    return out[1], out[6]  # (cs, h)


def _run(variables, prefix, inputs, reverse=False):
    """One direction of one layer over ``inputs`` [T] of [B, F]: its outputs in input order
    and its final h."""
    import tensorflow as tf

    units = variables[prefix + "bias"].shape[0] // 4
    batch = inputs[0].shape[0]
    c = h = tf.zeros([batch, units], tf.float32)
    outputs = [None] * len(inputs)
    order = range(len(inputs) - 1, -1, -1) if reverse else range(len(inputs))
    for t in order:
        c, h = _cell(variables, prefix, inputs[t], c, h)
        outputs[t] = h
    return outputs, h


def encode_mu(variables, tokens: np.ndarray, vocab: int) -> np.ndarray:
    """mu [B, Z] of ``tokens`` [B, T] by Magenta's stacked bidirectional encoder."""
    import tensorflow as tf

    return encode_inputs_mu(variables, tf.one_hot(tokens, vocab, dtype=tf.float32).numpy())


def encode_inputs_mu(variables, inputs: np.ndarray) -> np.ndarray:
    """mu [B, Z] of encoder inputs [B, T, F] (one-hots, or a trio's side by side)."""
    import tensorflow as tf

    steps = tf.constant(inputs, tf.float32)
    layer_inputs = [steps[:, t] for t in range(inputs.shape[1])]
    layer = 0
    while f"encoder/cell_{layer}/bidirectional_rnn/fw/multi_rnn_cell/cell_0/lstm_cell/kernel" \
            in variables:
        cell = f"encoder/cell_{layer}/bidirectional_rnn/%s/multi_rnn_cell/cell_0/lstm_cell/"
        forward, last_fw = _run(variables, cell % "fw", layer_inputs)
        backward, last_bw = _run(variables, cell % "bw", layer_inputs, reverse=True)
        layer_inputs = [tf.concat([f, b], 1) for f, b in zip(forward, backward, strict=True)]
        layer += 1
    summary = tf.concat([last_fw, last_bw], 1)
    return (summary @ variables["encoder/mu/kernel"] + variables["encoder/mu/bias"]).numpy()


def greedy_decode(variables, z: np.ndarray, steps: int, vocab: int,
                  parts: tuple[int, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """tokens [B, steps] (``[B, steps, P]`` with ``parts``, the output depths) decoded from
    ``z`` [B, Z] at temperature 0, and each step's logits [steps, B, vocab]."""
    import tensorflow as tf

    layers = 0
    while f"decoder/multi_rnn_cell/cell_{layers}/lstm_cell/kernel" in variables:
        layers += 1
    units = [variables[f"decoder/multi_rnn_cell/cell_{i}/lstm_cell/bias"].shape[0] // 4
             for i in range(layers)]
    initial = tf.tanh(z @ variables["decoder/z_to_initial_state/kernel"]
                      + variables["decoder/z_to_initial_state/bias"])
    states = tf.split(initial, [u for u in units for _ in (0, 1)], axis=1)
    cs, hs = list(states[0::2]), list(states[1::2])
    previous = tf.zeros([z.shape[0], vocab], tf.float32)
    tokens, step_logits = [], []
    for _ in range(steps):
        x = tf.concat([previous, z], 1)
        for i in range(layers):
            cs[i], hs[i] = _cell(variables, f"decoder/multi_rnn_cell/cell_{i}/lstm_cell/", x,
                                 cs[i], hs[i])
            x = hs[i]
        logits = (x @ variables["decoder/output_projection/kernel"]
                  + variables["decoder/output_projection/bias"])
        step_logits.append(logits.numpy())
        if parts is None:
            choice = tf.argmax(logits, axis=1)
            tokens.append(choice.numpy())
            previous = tf.one_hot(choice, vocab, dtype=tf.float32)
            continue
        choices = [tf.argmax(part, axis=1) for part in tf.split(logits, list(parts), axis=1)]
        tokens.append(np.stack([c.numpy() for c in choices], axis=-1))
        previous = tf.concat([tf.one_hot(c, depth, dtype=tf.float32)
                              for c, depth in zip(choices, parts, strict=True)], axis=1)
    return np.stack(tokens, axis=1), np.stack(step_logits)
