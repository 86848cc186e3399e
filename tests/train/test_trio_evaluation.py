"""The trio's per-part figures on hand-made windows whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from symusic.musicvae import trio_evaluation


def test_each_part_has_its_accuracy_and_event_accuracy():
    target = np.zeros((1, 4, 3), dtype=np.int64)
    target[0, :, 0] = [30, 0, 1, 0]  # lead: an onset and a note-off
    target[0, :, 1] = [20, 0, 0, 0]
    target[0, :, 2] = [1, 0, 5, 0]  # drums: two hit steps
    predicted = target.copy()
    predicted[0, 2, 0] = 0  # the lead misses its note-off
    predicted[0, 1, 1] = 22  # the bass adds an onset
    predicted[0, 2, 2] = 4  # one class of the second hit wrong
    figures = trio_evaluation.reconstruction_figures(predicted, target)
    assert figures == pytest.approx({
        "melody_accuracy": 0.75, "melody_note_accuracy": 0.5,
        "bass_accuracy": 0.75, "bass_note_accuracy": 1.0,
        "drums_accuracy": 0.75, "drums_hit_accuracy": 0.5})


def test_the_report_counts_onsets_and_playing_bars_per_part():
    windows = np.zeros((2, 32, 3), dtype=np.int64)
    windows[:, ::4, 2] = 1  # a kick every beat, both bars
    windows[:, 0, 0] = 40  # one lead note in the first bar
    described = trio_evaluation.describe(windows)
    assert described["drums"] == {"onsets_per_bar": 4.0, "playing_bars": 1.0}
    assert described["melody"] == {"onsets_per_bar": 0.5, "playing_bars": 0.5}
    assert described["bass"] == {"onsets_per_bar": 0.0, "playing_bars": 0.0}
    report = trio_evaluation.trio_report(windows, windows, (np.array([0]), np.array([1])))
    assert report["prior_samples_vs_data"]["drums"] == {"onsets_per_bar_ratio": 1.0,
                                                        "class_distance": 0.0}
