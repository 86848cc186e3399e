"""Melody attributes and attribute vectors, as in Magenta's MusicVAE (Roberts et al., 2018, 5.4).

An attribute is one number per melody (note density, pitch range, ...). Its attribute
vector is the mean latent code of the melodies high in it (the top quartile) minus that of
the melodies low in it (the bottom quartile); adding a multiple of it to a melody's code and
decoding moves the melody along the attribute while keeping the rest of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from symusic.data.representation import MELODY, Representation
from symusic.musicvae.tools.metrics import note_densities


def pitch_range(melodies: np.ndarray, representation: Representation = MELODY) -> np.ndarray:
    """Highest minus lowest onset pitch of each melody ``[N, T]`` -> ``[N]`` (0 if < 2 notes)."""
    out = [float(np.ptp(p)) if p.size else 0.0
           for p in map(representation.onset_pitches, melodies)]
    return np.asarray(out, dtype=np.float64)


def syncopation(melodies: np.ndarray, representation: Representation = MELODY) -> np.ndarray:
    """Share of each melody's onsets that fall off the beat (not on a quarter note) -> ``[N]``."""
    melodies = np.asarray(melodies)
    onsets = representation.onsets(melodies)
    off_beat = (np.arange(melodies.shape[1]) % representation.steps_per_quarter) != 0
    count = onsets.sum(axis=1)
    return np.where(count > 0, (onsets & off_beat).sum(axis=1) / np.maximum(count, 1), 0.0)


def mean_interval(melodies: np.ndarray, representation: Representation = MELODY) -> np.ndarray:
    """Mean absolute leap between consecutive onsets, in semitones -> ``[N]`` (0 if < 2 notes)."""
    out = []
    for p in map(representation.onset_pitches, melodies):
        out.append(float(np.abs(np.diff(p)).mean()) if p.size > 1 else 0.0)
    return np.asarray(out, dtype=np.float64)


@dataclass(frozen=True)
class Attribute:
    """A melody attribute: its key, what the page calls it, its unit and how it is measured
    (``measure(melodies [N, T], representation) -> [N]``)."""

    name: str
    label: str
    unit: str
    measure: Callable[[np.ndarray, Representation], np.ndarray]


ATTRIBUTES: dict[str, Attribute] = {a.name: a for a in (
    Attribute("note_density", "note density", "notes per bar", note_densities),
    Attribute("pitch_range", "pitch range", "semitones", pitch_range),
    Attribute("syncopation", "syncopation", "share of notes off the beat", syncopation),
    Attribute("mean_interval", "mean interval", "semitones per leap", mean_interval),
)}


def measure_all(melodies: np.ndarray,
                representation: Representation = MELODY) -> dict[str, list[float]]:
    """Every attribute of each melody ``[N, T]``: ``{name: [N values]}``."""
    melodies = np.asarray(melodies)
    return {name: [round(float(v), 4) for v in a.measure(melodies, representation)]
            for name, a in ATTRIBUTES.items()}


@dataclass(frozen=True)
class AttributeVector:
    """The mean code of the top quartile minus that of the bottom quartile of one attribute."""

    name: str
    vector: np.ndarray  # [z_size]
    low_mean: float  # the attribute's mean over the bottom quartile
    high_mean: float  # and over the top quartile
    group_size: int  # melodies in each quartile

    @property
    def usable(self) -> bool:
        """False when the attribute does not vary over the reference set."""
        return self.high_mean > self.low_mean


def attribute_vector(name: str, values: np.ndarray, mu: np.ndarray) -> AttributeVector:
    """The attribute vector of ``values [N]`` over the codes ``mu [N, Z]``.

    Quartiles are taken by rank (ties broken by order), so each group holds ``max(1, N // 4)``
    melodies. A constant attribute gives a zero vector (``usable`` is then False).
    """
    values, mu = np.asarray(values, dtype=np.float64), np.asarray(mu, dtype=np.float64)
    if len(values) != len(mu) or len(values) < 2:
        raise ValueError(f"need two or more melodies with codes, got {len(values)} and {len(mu)}")
    k = max(1, len(values) // 4)
    order = np.argsort(values, kind="stable")
    low, high = order[:k], order[-k:]
    low_mean, high_mean = float(values[low].mean()), float(values[high].mean())
    if high_mean <= low_mean:
        vector = np.zeros(mu.shape[1])
    else:
        vector = mu[high].mean(axis=0) - mu[low].mean(axis=0)
    return AttributeVector(name, vector.astype(np.float32), low_mean, high_mean, k)


def attribute_vectors(melodies: np.ndarray, mu: np.ndarray,
                      representation: Representation = MELODY) -> dict[str, AttributeVector]:
    """The vector of every attribute in ``ATTRIBUTES`` over melodies ``[N, T]`` and codes."""
    return {name: attribute_vector(name, a.measure(np.asarray(melodies), representation), mu)
            for name, a in ATTRIBUTES.items()}
