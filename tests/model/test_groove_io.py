"""The groove step head against Magenta's GrooveLstmDecoder, on tensors made by hand.

Magenta's loss and sampling are restated from
https://github.com/magenta/magenta/blob/main/magenta/models/music_vae/lstm_models.py
(``class GrooveLstmDecoder``: ``_activate_outputs``, ``_flat_reconstruction_loss`` with
``tf.losses.log_loss`` (epsilon 1e-7) and ``tf.losses.mean_squared_error``, unreduced and
summed over the classes; ``_sample``), in numpy.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from symusic.data.representation import get_representation
from symusic.data.settings import DataSettings
from symusic.musicvae.model.groove_io import GrooveIO, groove_loss
from symusic.musicvae.model.step_io import step_io_for


def magenta_step_loss(target: np.ndarray, output: np.ndarray) -> np.ndarray:
    """``_flat_reconstruction_loss`` of ``[n, 27]`` targets and raw outputs: ``[n]``."""
    target_hits, target_velocities, target_offsets = np.split(target, 3, axis=1)
    output_hits, output_velocities, output_offsets = np.split(output, 3, axis=1)
    output_hits = 1 / (1 + np.exp(-output_hits))
    output_velocities = 1 / (1 + np.exp(-output_velocities))
    output_offsets = np.tanh(output_offsets)
    eps = 1e-7  # tf.losses.log_loss
    hits_loss = np.sum(-target_hits * np.log(output_hits + eps)
                       - (1 - target_hits) * np.log(1 - output_hits + eps), axis=1)
    velocities_loss = np.sum((target_velocities - output_velocities) ** 2, axis=1)
    offsets_loss = np.sum((target_offsets - output_offsets) ** 2, axis=1)
    return hits_loss + velocities_loss + offsets_loss


def hand_made() -> tuple[torch.Tensor, torch.Tensor]:
    """Two sequences of three steps: outputs and targets ``[2, 3, 27]``."""
    targets = torch.zeros(2, 3, 27)
    targets[0, 0, 0], targets[0, 0, 9], targets[0, 0, 18] = 1, 100 / 127, -0.4  # kick, late
    targets[0, 2, 1], targets[0, 2, 10], targets[0, 2, 19] = 1, 1.0, 1.0  # snare, early
    targets[1, 1, 2], targets[1, 1, 11], targets[1, 1, 20] = 1, 1 / 127, 0.0
    outputs = torch.zeros(2, 3, 27)
    outputs[0, 0, 0], outputs[0, 0, 9], outputs[0, 0, 18] = 3.0, 1.0, -0.5
    outputs[0, 1, 4] = -2.0
    outputs[1, 1, 2], outputs[1, 1, 11], outputs[1, 1, 20] = -1.0, -4.0, 0.3
    return outputs, targets


def test_loss_is_magentas_on_hand_made_tensors():
    outputs, targets = hand_made()
    io = GrooveIO()
    expected = magenta_step_loss(targets.reshape(-1, 27).numpy().astype(np.float64),
                                 outputs.reshape(-1, 27).numpy().astype(np.float64))
    got = io.reconstruction(outputs, targets)
    np.testing.assert_allclose(got.numpy(), expected.reshape(2, 3).sum(1), rtol=1e-5, atol=1e-5)
    # by hand, one step: logits 0 (p = 0.5) on nine empty classes, velocities 0.5, offsets 0
    hits, velocities, offsets = groove_loss(torch.zeros(1, 27), torch.zeros(1, 27))
    assert float(hits) == pytest.approx(9 * np.log(2), rel=1e-6)
    assert float(velocities) == pytest.approx(9 * 0.25) and float(offsets) == 0


def test_choose_draws_hits_and_zeroes_the_rest():
    io = GrooveIO()
    outputs = torch.zeros(4, 27)
    outputs[:, 0] = torch.tensor([2.0, 0.1, -0.1, -3.0])  # kick logits
    outputs[:, 9] = 0.0  # velocity 0.5
    outputs[:, 18] = 10.0  # offset ~1
    outputs[:, 1] = -50.0  # no snare ever
    mode = io.choose(outputs, 0.0)
    assert mode[:, 0].tolist() == [1, 1, 0, 0]  # probability above 0.5
    assert mode[:, 9].tolist() == [0.5, 0.5, 0, 0]
    assert mode[:2, 18].tolist() == pytest.approx([1.0, 1.0]) and mode[2:, 18].tolist() == [0, 0]
    assert (mode[:, [1, 10, 19]] == 0).all()
    # at temperature 1 the kick is hit with probability sigmoid(logit)
    generator = torch.Generator().manual_seed(0)
    draws = torch.stack([io.choose(outputs, 1.0, generator) for _ in range(4000)])
    rate = draws[..., 0].mean(0).numpy()
    np.testing.assert_allclose(rate, torch.sigmoid(outputs[:, 0]).numpy(), atol=0.03)
    # a high temperature flattens towards 0.5; a low one sharpens
    hot = torch.stack([io.choose(outputs, 50.0, generator) for _ in range(2000)])[..., 0]
    assert abs(float(hot[:, 3].mean()) - 0.5) < 0.05
    assert torch.equal(io.choose(outputs, 1e-6, generator)[:, 0], mode[:, 0])


def test_accuracies_count_whole_steps():
    outputs, targets = hand_made()
    accuracy, hit_accuracy = GrooveIO().accuracies(outputs, targets)
    # predicted hits: [0,0] kick only (right), [0,1] none (right), [0,2] none (snare missed),
    # [1,*] none (the hat at [1,1] missed)
    assert float(accuracy) == pytest.approx(4 / 6)
    assert float(hit_accuracy) == pytest.approx(1 / 3)


def test_the_data_settings_choose_the_encoder_input():
    groove = get_representation("groove")
    window = torch.zeros(1, 2, 27)
    window[0, 0, [0, 1]] = 1
    window[0, 0, [9, 10]] = torch.tensor([0.3, 0.9])
    window[0, 0, [18, 19]] = torch.tensor([0.2, -0.6])
    plain = step_io_for(groove, DataSettings("groove")).encoder_input(27)
    assert torch.equal(plain(window), window)
    humanize = step_io_for(groove, DataSettings("groove", humanize=True)).encoder_input(27)
    flat = humanize(window)
    assert flat[0, 0, :9].tolist() == window[0, 0, :9].tolist() and not flat[..., 9:].any()
    tapify = step_io_for(groove, DataSettings("groove", tapify=True)).encoder_input(27)
    taps = tapify(window)
    assert taps[0, 0].nonzero().flatten().tolist() == [3, 12, 21]  # the open hat channel
    assert taps[0, 0, 12] == pytest.approx(0.9) and taps[0, 0, 21] == pytest.approx(-0.6)
