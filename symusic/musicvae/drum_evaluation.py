"""The drum measures of the one evaluation: hits, per class, as a drummer would count them.

* Reconstructions (:func:`hit_figures`): over the steps whose target has any hit, the
  fraction whose whole set of classes is right (the drums' note accuracy, under the name
  ``hit_accuracy``); and each class's hits as a detection task, precision, recall and F1
  (``hit_f1`` pools every class's hits, ``f1_<class>`` is one class's).
* Prior samples (:func:`drum_report`): hits per bar and the share of hits each class has,
  against the data's, and the same two measures between two random halves of the data: the
  split-half yardstick, what "as close as the data is to itself" looks like.

Shapes: windows are token arrays ``[N, T]`` of the ``drums`` representation (bit ``c`` of a
token: class ``c`` hit).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from symusic.data import drum_tracks

REPRESENTATION = "drums"  # the representation whose models these figures are for


def _slug(name: str) -> str:
    return name.replace(" ", "_").replace("-", "_")


def hit_figures(predicted: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Hit accuracy, and precision, recall and F1 of the hits of every class and of each,
    of ``predicted`` against ``target`` windows (both ``[N, T]``)."""
    predicted, target = np.asarray(predicted), np.asarray(target)
    hit_steps = target != 0
    figures = {"hit_accuracy": float((predicted == target)[hit_steps].mean())
               if hit_steps.any() else float("nan")}
    guess, truth = drum_tracks.token_classes(predicted), drum_tracks.token_classes(target)
    both = (guess & truth).sum(axis=(0, 1))
    guessed, true = guess.sum(axis=(0, 1)), truth.sum(axis=(0, 1))
    figures.update(_prf("hit", both.sum(), guessed.sum(), true.sum()))
    for c, name in enumerate(drum_tracks.CLASS_NAMES):
        if true[c]:
            figures[f"f1_{_slug(name)}"] = _prf("", both[c], guessed[c], true[c])["_f1"]
    return figures


def _prf(prefix: str, both: int, guessed: int, true: int) -> dict[str, float]:
    precision = both / guessed if guessed else 0.0
    recall = both / true if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {f"{prefix}_precision": float(precision), f"{prefix}_recall": float(recall),
            f"{prefix}_f1": float(f1)}


def hits_per_bar(windows: np.ndarray) -> float:
    """Mean hits (one per class hit at a step) per 16-step bar of ``windows`` ``[N, T]``."""
    windows = np.asarray(windows)
    bars = windows.shape[0] * windows.shape[1] / drum_tracks.STEPS_PER_BAR
    return float(drum_tracks.token_classes(windows).sum() / max(bars, 1))


def class_distribution(windows: np.ndarray) -> np.ndarray:
    """The share of all hits that each class has: ``float [9]`` (zeros without hits)."""
    counts = drum_tracks.token_classes(windows).sum(axis=tuple(range(np.ndim(windows))))
    return counts / counts.sum() if counts.sum() else counts.astype(np.float64)


def compare(samples: np.ndarray, data: np.ndarray) -> dict[str, float]:
    """How far ``samples`` are from ``data``: the ratio of their hits per bar (1 = the same)
    and the total-variation distance of their class distributions (0 = the same)."""
    data_rate = hits_per_bar(data)
    return {"hits_per_bar_ratio": hits_per_bar(samples) / data_rate if data_rate else 0.0,
            "class_distance": 0.5 * float(np.abs(class_distribution(samples)
                                                 - class_distribution(data)).sum())}


def describe(windows: np.ndarray) -> dict[str, Any]:
    """Hits per bar and the class distribution (by class name) of ``windows``."""
    return {"hits_per_bar": hits_per_bar(windows),
            "class_distribution": dict(zip(drum_tracks.CLASS_NAMES,
                                           class_distribution(windows).round(4).tolist(),
                                           strict=True))}


def drum_report(windows: np.ndarray, samples: np.ndarray, halves: tuple[np.ndarray, np.ndarray]
                ) -> dict[str, Any]:
    """The evaluation's ``drums`` section: the data's and the prior samples' hits per bar and
    class distributions, the samples against the data, and the data's split-half yardstick
    (``halves``: two disjoint index arrays of ``windows``)."""
    first, second = windows[halves[0]], windows[halves[1]]
    return {"data": describe(windows), "prior_samples": {**describe(samples),
                                                         **compare(samples, windows)},
            "data_halves": compare(first, second)}
