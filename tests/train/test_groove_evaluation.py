"""The groove figures on windows made by hand: hits as the drums count them, the feel in MIDI
velocity and milliseconds at each window's tempo, and the humanize and drumify aims against
their "no change" baselines."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from symusic.data import groove_windows as G
from symusic.musicvae import groove_evaluation as E


def window(hits: list[tuple[int, int, float, float]], steps: int = 32) -> np.ndarray:
    """A groove of ``(step, class, velocity, offset)`` hits."""
    groove = np.zeros((steps, 27), dtype=np.float32)
    for step, drum, velocity, offset in hits:
        groove[step, drum], groove[step, 9 + drum], groove[step, 18 + drum] = 1, velocity, offset
    return groove


def test_feel_errors_in_velocity_and_ms_at_each_tempo():
    target = np.stack([window([(0, 0, 1.0, 0.5), (4, 1, 0.5, 0.0)]),
                       window([(0, 0, 1.0, -0.5)])])
    predicted = np.stack([window([(0, 0, 0.5, 0.0), (8, 2, 0.5, 0.0)]),
                          window([(0, 0, 1.0, 0.5)])])
    errors = E.feel_errors(predicted, target, tempo=np.array([120.0, 60.0]))
    # shared hits: the kick of each window; a 16th is 125 ms at 120 bpm, 250 ms at 60
    assert errors["shared_hits"] == 2
    assert errors["velocity_mae"] == pytest.approx((0.5 * 127 + 0) / 2)
    assert errors["timing_mae_ms"] == pytest.approx((0.25 * 125 + 0.5 * 250) / 2)
    accuracy, hit_accuracy = E.step_accuracies(predicted, target)
    assert accuracy == pytest.approx(62 / 64) and hit_accuracy == pytest.approx(2 / 3)


def test_humanize_report_against_the_flattened_input():
    played = np.stack([window([(0, 0, 0.8, 0.4), (4, 1, 0.6, -0.2)])])
    data = np.stack([window([(0, 0, 0.9, 0.5), (4, 1, 0.5, -0.3)])])
    report = E.humanize_report(played, data, np.array([120.0]))
    assert report["hit_f1"] == 1.0
    # the flat input's timing error is the data's offsets: (0.25 + 0.15) / 2 steps of 125 ms
    assert report["flattened_timing_mae_ms"] == pytest.approx(0.2 * 125)
    assert report["timing_mae_ms"] == pytest.approx(0.05 * 125)
    assert report["timing_error_reduction"] == pytest.approx(0.75)
    # the constant baseline plays the median velocity, 0.7: 0.2 off each hit
    assert report["constant_velocity_mae"] == pytest.approx(0.2 * 127, rel=1e-5)
    assert report["velocity_error_reduction"] == pytest.approx(0.5, rel=1e-5)


def test_drumify_report_counts_taps_and_the_beat():
    data = np.stack([window([(0, 0, 0.9, 0.0), (4, 1, 0.7, 0.0), (8, 0, 0.9, 0.0)])] * 2)
    taps = G.transform_input(torch.from_numpy(data), tapify=True).numpy()
    played = np.stack([window([(0, 0, 0.9, 0.0), (4, 1, 0.7, 0.0), (6, 2, 0.5, 0.0)])] * 2)
    report = E.drumify_report(played, data, np.array([100.0, 100.0]), taps)
    assert report["onsets_on_taps"] == pytest.approx(2 / 3)
    assert report["taps_with_onsets"] == pytest.approx(2 / 3)
    assert report["hit_f1"] == pytest.approx(2 / 3)
    assert report["taps_hit_f1"] == 0.0  # every tap is on the open hi-hat
    assert report["drumified"]["hits_per_bar_ratio"] == pytest.approx(1.0)
