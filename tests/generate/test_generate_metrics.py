"""The evaluation measures on hand-made token melodies (no model needed)."""

import math

import numpy as np
import pytest

from symusic.data.tokens import NO_EVENT, NOTE_OFF, pitch_to_token
from symusic.musicvae.tools import metrics


def melody(*pitches: int, step: int = 4, length: int = 32) -> np.ndarray:
    """Onsets of ``pitches`` every ``step`` steps, each cut by a note-off half-way."""
    tokens = np.full(length, NO_EVENT, dtype=np.int64)
    for i, pitch in enumerate(pitches):
        tokens[i * step] = pitch_to_token(pitch)
        tokens[i * step + step // 2] = NOTE_OFF
    return tokens


def test_token_and_note_accuracy():
    target = np.array([[2, 0, 0, 1], [3, 0, 1, 0]])
    predicted = np.array([[2, 0, 5, 0], [3, 0, 1, 0]])
    assert metrics.token_accuracy(predicted, target) == pytest.approx(6 / 8)
    # events in target: 2, 1, 3, 1 -> predicted 2, 0, 3, 1
    assert metrics.note_accuracy(predicted, target) == pytest.approx(3 / 4)
    with pytest.raises(ValueError):
        metrics.token_accuracy(predicted[:, :2], target)


def test_pitch_features():
    m = np.stack([melody(60, 64, 67, 72), melody(62, 50), np.zeros(32, dtype=np.int64)])
    pc = metrics.pitch_class_histogram(m)
    assert pc.sum() == 6 and pc[0] == 2 and pc[2] == 2 and pc[4] == 1 and pc[7] == 1
    iv = metrics.interval_histogram(m)
    mi = metrics.MAX_INTERVAL
    assert iv[mi + 4] == 1 and iv[mi + 3] == 1 and iv[mi + 5] == 1
    assert iv[0] == 1  # -12 (62 -> 50) lands in the lowest bin
    assert iv.sum() == 4
    np.testing.assert_allclose(metrics.pitch_ranges(m), [12, 12])  # empty window left out
    np.testing.assert_allclose(metrics.note_densities(m), [2, 1, 0])  # 2-bar windows
    assert metrics.empty_fraction(m) == pytest.approx(1 / 3)


def test_divergences():
    p = np.array([1.0, 1.0, 0.0])
    assert metrics.js_divergence(p, p) == pytest.approx(0.0, abs=1e-12)
    assert metrics.js_divergence([1, 0], [0, 1]) == pytest.approx(1.0)
    assert metrics.histogram_overlap([2, 2, 0], [0, 1, 1]) == pytest.approx(0.5)
    assert math.isnan(metrics.js_divergence([0, 0], [1, 0]))


def test_kde_overlap():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, 400)
    same = metrics.kde_overlap(x, rng.normal(0, 1, 400))
    apart = metrics.kde_overlap(x, rng.normal(8, 1, 400))
    assert same > 0.85 and apart < 0.02
    assert metrics.kde_overlap(np.full(10, 3.0), np.full(5, 3.0)) == pytest.approx(1.0, abs=1e-3)
    assert math.isnan(metrics.kde_overlap(x, []))


def test_sample_data_distances_separates_sets():
    data = np.stack([melody(60, 62, 64, 65), melody(67, 65, 64, 62)] * 4)
    far = np.stack([melody(90, 91), melody(30, 31, 32, 33, 34, 35, 36)] * 4)
    close = metrics.sample_data_distances(data, data)
    apart = metrics.sample_data_distances(far, data)
    for feature in ("pitch_class", "interval"):
        assert close[feature]["js_bits"] == pytest.approx(0, abs=1e-12)
        assert apart[feature]["js_bits"] > 0.3
    for feature in ("pitch_class", "interval", "pitch_range", "note_density"):
        assert close[feature]["overlap"] == pytest.approx(1.0, abs=1e-3)
        assert apart[feature]["overlap"] < close[feature]["overlap"]


def test_interpolation_smoothness():
    a, b = np.zeros(8, dtype=int), np.ones(8, dtype=int)
    even = np.stack([np.r_[b[:k], a[k:]] for k in (0, 2, 4, 6, 8)])  # 2 steps change each time
    jump = np.stack([a, a, a, a, b])
    s = metrics.interpolation_smoothness(np.stack([even]))
    assert s["adjacent_distance"] == pytest.approx(0.25)
    assert s["endpoint_distance"] == pytest.approx(1.0)
    assert s["path_ratio"] == pytest.approx(1.0)
    assert s["max_step_share"] == pytest.approx(0.25) == s["even_step_share"]
    wander = np.stack([a, b, a, b, b])
    w = metrics.interpolation_smoothness(np.stack([jump, wander]))
    assert w["max_step_share"] == pytest.approx((1.0 + 1 / 3) / 2)
    assert w["path_ratio"] == pytest.approx((1 + 3) / 2)
    with pytest.raises(ValueError):
        metrics.interpolation_smoothness(even)
