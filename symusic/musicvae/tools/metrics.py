"""Evaluation measures on token melodies, in numpy.

Everything here works on token arrays (``[N, T]`` integer) and returns plain floats, so it
can be tested without a model. What the tokens mean (onsets, pitches, bars) the model's
representation says (``symusic.data.representation``; the melody one by default).

Sample-versus-data measures follow Yang & Lerch, "On the evaluation of generative models
in music" (Neural Computing and Applications, 2020): compute a musical feature on both
sets and compare the two distributions. We compare the feature distributions directly
(rather than their intra-/inter-set distance distributions):

* distributions over categories (pitch class, melodic interval) are pooled over the set,
  normalised, and compared with the Jensen-Shannon divergence in bits (0 = identical,
  1 = disjoint) and the overlapping area ``sum(min(p, q))`` (1 = identical, 0 = disjoint);
* one number per window (pitch range, note density) is smoothed with a Gaussian kernel
  density estimate per set and compared by the overlapping area of the two densities,
  integrated on a grid (1 = identical, 0 = disjoint).
"""

from __future__ import annotations

import numpy as np

from symusic.data.representation import MELODY, Representation

MAX_INTERVAL = 12  # intervals beyond an octave are pooled into the outermost bins


def token_accuracy(predicted: np.ndarray, target: np.ndarray) -> float:
    """Fraction of steps where ``predicted`` equals ``target`` (both ``[N, T]``)."""
    predicted, target = np.asarray(predicted), np.asarray(target)
    if predicted.shape != target.shape:
        raise ValueError(f"shapes differ: {predicted.shape} vs {target.shape}")
    if target.size == 0:
        return float("nan")
    return float(np.mean(predicted == target))


def note_accuracy(predicted: np.ndarray, target: np.ndarray,
                  representation: Representation = MELODY) -> float:
    """Accuracy over the steps whose target is an event (note-off or onset), not the
    representation's ``no_event``.

    The all-steps accuracy is dominated by ``no_event`` steps; this one says how often
    the notes and rests themselves come back.
    """
    predicted, target = np.asarray(predicted), np.asarray(target)
    mask = target != representation.no_event
    if not mask.any():
        return float("nan")
    return float(np.mean(predicted[mask] == target[mask]))


def pitch_class_histogram(melodies: np.ndarray,
                          representation: Representation = MELODY) -> np.ndarray:
    """Onset counts per pitch class (C = 0), pooled over ``melodies`` ``[N, T]`` -> ``[12]``."""
    counts = np.zeros(12, dtype=np.float64)
    for melody in melodies:
        counts += np.bincount(representation.onset_pitches(melody) % 12, minlength=12)
    return counts


def interval_histogram(melodies: np.ndarray, max_interval: int = MAX_INTERVAL,
                       representation: Representation = MELODY) -> np.ndarray:
    """Counts of melodic intervals (semitones between consecutive onsets of a window).

    Returns ``[2 * max_interval + 1]``, bin ``i`` holding interval ``i - max_interval``;
    larger leaps are pooled into the two outer bins.
    """
    counts = np.zeros(2 * max_interval + 1, dtype=np.float64)
    for melody in melodies:
        steps = np.clip(np.diff(representation.onset_pitches(melody)), -max_interval,
                        max_interval)
        counts += np.bincount(steps + max_interval, minlength=counts.size)
    return counts


def pitch_ranges(melodies: np.ndarray, representation: Representation = MELODY) -> np.ndarray:
    """Highest minus lowest onset pitch (semitones) of each window that has a note."""
    ranges = [np.ptp(p) for p in map(representation.onset_pitches, melodies) if p.size]
    return np.asarray(ranges, dtype=np.float64)


def note_densities(melodies: np.ndarray, representation: Representation = MELODY) -> np.ndarray:
    """Onsets per bar of each window ``[N, T]`` -> ``[N]``."""
    melodies = np.asarray(melodies)
    bars = melodies.shape[1] / representation.steps_per_bar
    return representation.onsets(melodies).sum(axis=1) / bars


def empty_fraction(melodies: np.ndarray, representation: Representation = MELODY) -> float:
    """Fraction of windows ``[N, T]`` without a single onset."""
    return float(np.mean(~representation.onsets(melodies).any(axis=1)))


def _normalise(counts: np.ndarray) -> np.ndarray | None:
    total = counts.sum()
    return counts / total if total > 0 else None


def js_divergence(p_counts: np.ndarray, q_counts: np.ndarray) -> float:
    """Jensen-Shannon divergence in bits between two histograms (counts or probabilities).

    In [0, 1]; NaN when either histogram is empty.
    """
    p, q = _normalise(np.asarray(p_counts, float)), _normalise(np.asarray(q_counts, float))
    if p is None or q is None:
        return float("nan")
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        nz = a > 0
        return float(np.sum(a[nz] * np.log2(a[nz] / m[nz])))

    return max(0.0, 0.5 * kl(p) + 0.5 * kl(q))


def histogram_overlap(p_counts: np.ndarray, q_counts: np.ndarray) -> float:
    """Overlapping area ``sum(min(p, q))`` of two normalised histograms, in [0, 1]."""
    p, q = _normalise(np.asarray(p_counts, float)), _normalise(np.asarray(q_counts, float))
    if p is None or q is None:
        return float("nan")
    return float(np.minimum(p, q).sum())


def _bandwidth(x: np.ndarray, min_bandwidth: float) -> float:
    # Silverman's rule of thumb, floored so that a set of identical values still has a width.
    spread = np.std(x, ddof=1) if x.size > 1 else 0.0
    return max(1.06 * spread * x.size ** (-1 / 5), min_bandwidth)


def _kde(x: np.ndarray, grid: np.ndarray, bandwidth: float) -> np.ndarray:
    z = (grid[:, None] - x[None, :]) / bandwidth
    return np.exp(-0.5 * z**2).sum(axis=1) / (x.size * bandwidth * np.sqrt(2 * np.pi))


def kde_overlap(
    x: np.ndarray, y: np.ndarray, min_bandwidth: float = 0.5, grid_size: int = 1024
) -> float:
    """Overlapping area of the Gaussian KDEs of two samples of a scalar feature, in [0, 1].

    Each set gets its own bandwidth (Silverman's rule, at least ``min_bandwidth``, in the
    feature's units). NaN when either sample is empty.
    """
    x, y = np.asarray(x, float).ravel(), np.asarray(y, float).ravel()
    if x.size == 0 or y.size == 0:
        return float("nan")
    bx, by = _bandwidth(x, min_bandwidth), _bandwidth(y, min_bandwidth)
    pad = 4 * max(bx, by)
    grid = np.linspace(min(x.min(), y.min()) - pad, max(x.max(), y.max()) + pad, grid_size)
    overlap = np.minimum(_kde(x, grid, bx), _kde(y, grid, by))
    area = np.sum((overlap[1:] + overlap[:-1]) / 2 * np.diff(grid))  # trapezoid rule
    return float(min(1.0, area))


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x)) if np.size(x) else float("nan")


def sample_data_distances(
    samples: np.ndarray, data: np.ndarray, representation: Representation = MELODY
) -> dict[str, dict[str, float]]:
    """Compare prior samples with data windows (both ``[N, T]`` tokens), feature by feature.

    Returns ``{feature: {measure: value}}`` for ``pitch_class``, ``interval`` (``js_bits``,
    ``overlap``), ``pitch_range``, ``note_density`` (``overlap``, ``sample_mean``,
    ``data_mean``) and ``empty`` (``sample_fraction``, ``data_fraction``).
    """
    result: dict[str, dict[str, float]] = {}
    histograms = (("pitch_class", pitch_class_histogram), ("interval", interval_histogram))
    for name, histogram in histograms:
        hs = histogram(samples, representation=representation)
        hd = histogram(data, representation=representation)
        result[name] = {"js_bits": js_divergence(hs, hd), "overlap": histogram_overlap(hs, hd)}
    for name, feature in (("pitch_range", pitch_ranges), ("note_density", note_densities)):
        fs, fd = feature(samples, representation), feature(data, representation)
        result[name] = {
            "overlap": kde_overlap(fs, fd),
            "sample_mean": _mean(fs),
            "data_mean": _mean(fd),
        }
    result["empty"] = {
        "sample_fraction": empty_fraction(samples, representation),
        "data_fraction": empty_fraction(data, representation),
    }
    return result


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Fraction of differing steps between matching rows of ``a`` and ``b`` (``[..., T]``)."""
    return np.mean(np.asarray(a) != np.asarray(b), axis=-1)


def interpolation_smoothness(paths: np.ndarray) -> dict[str, float]:
    """How evenly decoded interpolations move from one end to the other.

    ``paths`` is ``[P, K, T]``: P interpolations of K decoded steps each (ends included).
    With ``d`` the Hamming distance (fraction of differing steps):

    * ``adjacent_distance``: mean ``d`` between consecutive steps;
    * ``endpoint_distance``: mean ``d`` between the two ends;
    * ``path_ratio``: per path, the summed adjacent distances over the end distance,
      averaged; 1 when every step moves straight towards the far end, more when the
      path wanders (paths whose ends decode equal are left out);
    * ``max_step_share``: per path, the largest adjacent distance over the path's total,
      averaged; ``1 / (K - 1)`` when the change is spread evenly, 1 when it all happens
      in one jump.
    """
    paths = np.asarray(paths)
    if paths.ndim != 3 or paths.shape[1] < 2:
        raise ValueError(f"expected [pairs, steps >= 2, time], got {paths.shape}")
    steps = hamming(paths[:, 1:], paths[:, :-1])  # [P, K-1]
    ends = hamming(paths[:, -1], paths[:, 0])  # [P]
    totals = steps.sum(axis=1)
    moving = ends > 0
    return {
        "adjacent_distance": float(steps.mean()),
        "endpoint_distance": float(ends.mean()),
        "path_ratio": _mean(totals[moving] / ends[moving]),
        "max_step_share": _mean(steps.max(axis=1)[totals > 0] / totals[totals > 0]),
        "even_step_share": 1.0 / (paths.shape[1] - 1),
    }
