"""The trio measures of the one evaluation: every figure per part (melody, bass, drums).

* Reconstructions (:func:`reconstruction_figures`): for each part, the token accuracy over
  all steps, and its event accuracy: for the melody and the bass the note accuracy (the steps
  whose target is an onset or a note-off, as a melody model's), for the drums the hit
  accuracy (the steps whose target has a hit: the whole set of classes right, as a drum
  model's, :func:`symusic.musicvae.drum_evaluation.hit_figures`).
* Prior samples (:func:`trio_report`): each part's onsets per bar, and the share of bars where
  it plays, against the data's, with the data's split-half yardstick; the drums' class
  distribution distance as a drum model's.

Shapes: windows are ``[N, T, 3]`` tokens of the ``trio`` representation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from symusic.data.representation import get_representation
from symusic.musicvae import drum_evaluation
from symusic.musicvae.tools import metrics

REPRESENTATION = "trio"  # the representation whose models these figures are for


def reconstruction_figures(predicted: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """``<part>_accuracy`` and ``<part>_note_accuracy`` (the drums: ``drums_hit_accuracy``)
    of ``predicted`` against ``target`` windows (both ``[N, T, 3]``)."""
    trio = get_representation(REPRESENTATION)
    predicted, target = np.asarray(predicted), np.asarray(target)
    figures = {}
    for p, name in enumerate(trio.part_names):
        figures[f"{name}_accuracy"] = metrics.token_accuracy(predicted[..., p], target[..., p])
        if name == "drums":
            figures["drums_hit_accuracy"] = drum_evaluation.hit_figures(
                predicted[..., p], target[..., p])["hit_accuracy"]
        else:
            figures[f"{name}_note_accuracy"] = metrics.note_accuracy(
                predicted[..., p], target[..., p])
    return figures


def describe(windows: np.ndarray) -> dict[str, dict[str, float]]:
    """Per part: ``onsets_per_bar`` and ``playing_bars`` (the share of bars with an onset)."""
    trio = get_representation(REPRESENTATION)
    windows = np.asarray(windows)
    onsets = trio.part_onsets(windows)  # [N, T, 3]
    bars = onsets.reshape(len(windows), -1, trio.steps_per_bar, len(trio.part_names))
    return {name: {"onsets_per_bar": float(bars[..., p].sum(axis=2).mean()) if bars.size
                   else 0.0,
                   "playing_bars": float(bars[..., p].any(axis=2).mean()) if bars.size else 0.0}
            for p, name in enumerate(trio.part_names)}


def compare(samples: np.ndarray, data: np.ndarray) -> dict[str, dict[str, float]]:
    """Per part, the ratio of the samples' onsets per bar to the data's (1 = the same); for
    the drums also their class distance (0 = the same)."""
    ours, theirs = describe(samples), describe(data)
    result = {name: {"onsets_per_bar_ratio": ours[name]["onsets_per_bar"]
                     / theirs[name]["onsets_per_bar"] if theirs[name]["onsets_per_bar"]
                     else 0.0}
              for name in ours}
    result["drums"]["class_distance"] = drum_evaluation.compare(
        np.asarray(samples)[..., 2], np.asarray(data)[..., 2])["class_distance"]
    return result


def trio_report(windows: np.ndarray, samples: np.ndarray,
                halves: tuple[np.ndarray, np.ndarray]) -> dict[str, Any]:
    """The evaluation's ``trio`` section: each part of the data and of the prior samples,
    the samples against the data, and the data's split-half yardstick (``halves``: two
    disjoint index arrays of ``windows``)."""
    return {"data": describe(windows), "prior_samples": describe(samples),
            "prior_samples_vs_data": compare(samples, windows),
            "data_halves": compare(windows[halves[0]], windows[halves[1]])}
