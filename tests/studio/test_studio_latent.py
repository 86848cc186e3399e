"""The studio's latent-space services on hand-made data: attributes, attribute vectors, the
2-D projections and the active dimensions (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from symusic.data.tokens import NO_EVENT, NOTE_OFF, pitch_to_token
from symusic.studio import attributes, projection
from symusic.studio.reference import active_dimensions


def melody(onsets: dict[int, int], length: int = 32) -> np.ndarray:
    """Tokens with a note of ``pitch`` at each ``{step: pitch}``, cut a step later."""
    tokens = np.full(length, NO_EVENT, dtype=np.int64)
    for step, pitch in onsets.items():
        tokens[step] = pitch_to_token(pitch)
        if step + 1 < length and step + 1 not in onsets:
            tokens[step + 1] = NOTE_OFF
    return tokens


def test_attributes_of_hand_made_melodies():
    on_beat = melody({0: 60, 4: 64, 8: 67, 12: 72})  # quarter notes, C E G C
    off_beat = melody({2: 60, 6: 62, 9: 60, 21: 55})  # all off the beat
    empty = np.zeros(32, dtype=np.int64)
    m = np.stack([on_beat, off_beat, empty])
    np.testing.assert_allclose(attributes.syncopation(m), [0.0, 1.0, 0.0])
    np.testing.assert_allclose(attributes.pitch_range(m), [12, 7, 0])
    np.testing.assert_allclose(attributes.mean_interval(m), [4.0, (2 + 2 + 5) / 3, 0.0])
    measured = attributes.measure_all(m)
    assert measured["note_density"] == [2.0, 2.0, 0.0]  # onsets per bar, 2 bars
    assert set(measured) == set(attributes.ATTRIBUTES)


def test_attribute_vector_points_from_the_low_to_the_high_quartile():
    rng = np.random.default_rng(0)
    values = np.arange(40, dtype=float)
    mu = rng.normal(0, 0.01, (40, 4))
    mu[:, 2] += values / 10  # dimension 2 follows the attribute
    vec = attributes.attribute_vector("x", values, mu)
    assert vec.group_size == 10 and vec.usable
    assert (vec.low_mean, vec.high_mean) == (4.5, 34.5)
    assert np.argmax(np.abs(vec.vector)) == 2
    assert vec.vector[2] == pytest.approx(3.0, abs=0.02)  # (34.5 - 4.5) / 10


def test_attribute_vector_of_a_constant_attribute_is_zero_and_unusable():
    mu = np.random.default_rng(1).normal(size=(12, 3))
    vec = attributes.attribute_vector("x", np.ones(12), mu)
    assert not vec.usable and not vec.vector.any()
    with pytest.raises(ValueError):
        attributes.attribute_vector("x", np.ones(1), np.ones((1, 3)))


def test_pca_finds_the_main_direction_and_does_not_flip():
    rng = np.random.default_rng(2)
    t = rng.normal(size=200)
    direction = np.array([0.0, 3.0, 4.0]) / 5
    codes = t[:, None] * direction + rng.normal(0, 0.01, (200, 3)) + 7.0
    xy = projection.pca_2d(codes)
    assert xy.shape == (200, 2)
    assert np.abs(xy).max() == pytest.approx(1.0)
    assert abs(np.corrcoef(xy[:, 0], t)[0, 1]) > 0.999
    np.testing.assert_allclose(projection.pca_2d(codes[::-1]), xy[::-1], atol=1e-9)
    flat = projection.pca_2d(np.ones((5, 3)))
    assert np.isfinite(flat).all() and not flat.any()


def test_project_by_name():
    codes = np.random.default_rng(3).normal(size=(30, 5))
    np.testing.assert_array_equal(projection.project(codes, "pca"), projection.pca_2d(codes))
    with pytest.raises(ValueError, match="unknown map method"):
        projection.project(codes, "umap")
    if projection.tsne_available():
        xy = projection.project(codes, "tsne")
        assert xy.shape == (30, 2) and np.abs(xy).max() == pytest.approx(1.0)
        assert not projection.project(np.ones((6, 3)), "tsne").any()  # sklearn would crash
    else:
        with pytest.raises(projection.ProjectionUnavailableError, match="scikit-learn"):
            projection.project(codes, "tsne")


def test_active_dimensions_are_ordered_by_spread():
    mu = np.zeros((10, 5))
    mu[:, 3] = np.arange(10)  # largest spread
    mu[:, 1] = np.arange(10) / 2
    mu[::2, 4] = 0.1
    indices, std = active_dimensions(mu, 3)
    assert list(indices) == [3, 1, 4]
    assert std[0] == pytest.approx(np.arange(10).std())
    assert len(active_dimensions(mu, 99)[0]) == 5
