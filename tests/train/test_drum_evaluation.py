"""The drum figures of the one evaluation, on windows whose answers are known by hand."""

from __future__ import annotations

import numpy as np
import pytest

from symusic.data.drum_tracks import classes_token
from symusic.musicvae import drum_evaluation as de

KICK, SNARE, HAT = 1, 2, 4  # tokens of one class each (bit c = class c)


def test_hit_figures_count_each_class_as_a_detection():
    target = np.array([[KICK | HAT, 0, SNARE | HAT, 0]])
    predicted = np.array([[KICK | HAT, HAT, SNARE, 0]])
    figures = de.hit_figures(predicted, target)
    assert figures["hit_accuracy"] == 0.5  # of the two steps with hits, one is exact
    # 4 true hits (kick, hat, snare, hat), 4 guessed (kick, hat, hat, snare), 3 in both
    assert figures["hit_precision"] == pytest.approx(3 / 4)
    assert figures["hit_recall"] == pytest.approx(3 / 4)
    assert figures["f1_kick"] == 1.0 and figures["f1_snare"] == 1.0
    assert figures["f1_closed_hi_hat"] == pytest.approx(0.5)  # 1 of 2 guessed, 1 of 2 true
    assert "f1_ride" not in figures  # no ride in the target: no figure


def test_hits_per_bar_and_class_distribution():
    bar = np.zeros(16, dtype=np.int64)
    bar[::4] = KICK | HAT  # 8 hits
    bar[2::4] = SNARE  # 4 hits
    windows = np.stack([np.concatenate([bar, bar])])
    assert de.hits_per_bar(windows) == 12.0
    shares = de.class_distribution(windows)
    assert shares[:3].tolist() == [4 / 12, 4 / 12, 4 / 12] and shares[3:].sum() == 0
    assert classes_token(np.eye(9, dtype=bool)[[0, 2]]).tolist() == [KICK, HAT]


def test_the_report_holds_the_split_half_yardstick():
    rng = np.random.default_rng(0)
    windows = rng.choice([0, KICK, SNARE, HAT, KICK | HAT], size=(40, 32))
    noise = rng.integers(0, 512, size=(20, 32))
    report = de.drum_report(windows, noise, (np.arange(20), np.arange(20, 40)))
    assert report["data_halves"]["class_distance"] < 0.1
    assert report["prior_samples"]["class_distance"] > 0.3  # noise hits every class
    assert report["prior_samples"]["hits_per_bar_ratio"] > 2
    assert set(report["data"]["class_distribution"]) >= {"kick", "snare", "ride"}
