"""The groove measures of the one evaluation: hits as the drums count them, and the feel.

* Hits: a groove window's hits are a drum window's (the set of classes hit at each step), so
  hit accuracy, precision, recall and F1, hits per bar and the class distribution are
  :mod:`symusic.musicvae.drum_evaluation`'s, on :func:`as_drum_tokens`.
* The feel, over the hits both windows have (same step, same class): the mean absolute error
  of the velocity (in MIDI velocity, 0..127) and of the onset time in milliseconds at the
  tempo given (a groove's offset is half a step per unit).
* The aims of humanize and drumify (:func:`groove_report`), on the consecutive windows the
  commands read of each file, timing at each file's tempo, against "no change" baselines.

Shapes: windows are ``float [N, T, 27]`` of the ``groove`` representation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from symusic.data import drum_tracks, magenta_grid
from symusic.data import groove_windows as G
from symusic.data.groove_windows import transform_input
from symusic.musicvae import drum_evaluation

REPRESENTATION = "groove"  # the representation whose models these figures are for


def as_drum_tokens(windows: np.ndarray) -> np.ndarray:
    """The drum tokens of groove windows: ``int64 [N, T]`` for ``[N, T, 27]``."""
    return drum_tracks.classes_token(G.hits(windows))


def step_accuracies(predicted: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """``(accuracy, hit accuracy)``: the steps whose nine hits are all right, of all steps and
    of the steps the target hits (NaN without any)."""
    guess, truth = as_drum_tokens(predicted), as_drum_tokens(target)
    right = guess == truth
    played = truth != 0
    return (float(right.mean()) if right.size else float("nan"),
            float(right[played].mean()) if played.any() else float("nan"))


def feel_errors(predicted: np.ndarray, target: np.ndarray,
                tempo: float | np.ndarray = 120.0) -> dict[str, float]:
    """Velocity and timing mean absolute errors over the hits both have: ``velocity_mae``
    (MIDI velocity), ``timing_mae_ms`` at ``tempo`` bpm (a number, or one per window
    ``[N]``), and ``shared_hits`` (how many hits they were measured on)."""
    predicted, target = np.asarray(predicted, np.float64), np.asarray(target, np.float64)
    shared = G.hits(predicted) & G.hits(target)
    if not shared.any():
        return {"velocity_mae": float("nan"), "timing_mae_ms": float("nan"), "shared_hits": 0}
    velocity = np.abs(predicted[..., G.VELOCITIES] - target[..., G.VELOCITIES]) * 127
    step_ms = 60_000.0 / np.asarray(tempo, dtype=np.float64) / G.STEPS_PER_QUARTER
    step_ms = np.broadcast_to(np.reshape(step_ms, (-1,) + (1,) * (predicted.ndim - 1)),
                              shared.shape) if np.ndim(step_ms) else step_ms
    timing = np.abs(predicted[..., G.OFFSETS] - target[..., G.OFFSETS]) / 2 * step_ms
    return {"velocity_mae": float(velocity[shared].mean()),
            "timing_mae_ms": float(timing[shared].mean()), "shared_hits": int(shared.sum())}


def reconstruction_figures(predicted: np.ndarray, target: np.ndarray,
                           tempo: float | np.ndarray = 120.0) -> dict[str, float]:
    """Hit figures (:func:`drum_evaluation.hit_figures`) and the feel errors of
    ``predicted`` against ``target``."""
    figures = drum_evaluation.hit_figures(as_drum_tokens(predicted), as_drum_tokens(target))
    errors = feel_errors(predicted, target, tempo)
    return {**figures, "velocity_mae": errors["velocity_mae"],
            "timing_mae_ms": errors["timing_mae_ms"]}


def performance_windows(data_dir: str | Path, bars: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """The windows humanize and drumify read of every file under ``data_dir``: each 4/4
    piece's groove cut into consecutive ``bars``-bar windows from its first bar line (as the
    commands cut a file), those with a hit; ``(windows float32 [N, 16 * bars, 27],
    tempo bpm [N])``."""
    from symusic.data.midi_io import MidiReadError, read_midi
    from symusic.data.midi_windows import midi_files

    length = bars * G.STEPS_PER_BAR
    windows, tempi = [], []
    for path in midi_files(data_dir):
        try:
            midi = read_midi(path)
        except MidiReadError:
            continue
        starts, velocities, classes = G.drum_notes(midi)
        for piece in magenta_grid.pieces(midi):
            if not piece.has_16_step_bars:
                continue
            groove, _ = G.groove_of_piece(piece, starts, velocities, classes)
            for first in range(0, len(groove) - length + 1, length):
                window = groove[first:first + length]
                if G.hits(window).any():
                    windows.append(window)
                    tempi.append(piece.qpm)
    if not windows:
        return np.zeros((0, length, G.ITEM_SIZE), np.float32), np.zeros(0)
    return np.stack(windows), np.array(tempi)


def _reduction(model: float, baseline: float) -> float:
    """How much smaller the model's error is than the baseline's: 1 - model / baseline."""
    return float(1 - model / baseline) if baseline else float("nan")


def humanize_report(played: np.ndarray, windows: np.ndarray, tempo: np.ndarray
                    ) -> dict[str, Any]:
    """The humanize aims: the model's ``played`` grooves against the drummer's ``windows``
    (both ``[N, T, 27]``, tempo ``[N]``), next to the "no change" baselines: the flattened
    input (every hit on the grid) for timing, one constant velocity (the data's median, the
    best constant there is) for velocity; hits must be kept (F1 against the input's)."""
    flat = transform_input(torch.from_numpy(windows), humanize=True).numpy()
    constant = flat.copy()
    median = float(np.median(windows[..., G.VELOCITIES][G.hits(windows)]))
    constant[..., G.VELOCITIES] = np.where(G.hits(windows), median, 0.0)
    model, baseline = feel_errors(played, windows, tempo), feel_errors(constant, windows, tempo)
    hits = drum_evaluation.hit_figures(as_drum_tokens(played), as_drum_tokens(windows))
    return {"windows": len(windows),
            "hit_precision": hits["hit_precision"], "hit_recall": hits["hit_recall"],
            "hit_f1": hits["hit_f1"],
            "timing_mae_ms": model["timing_mae_ms"],
            "flattened_timing_mae_ms": baseline["timing_mae_ms"],
            "timing_error_reduction": _reduction(model["timing_mae_ms"],
                                                 baseline["timing_mae_ms"]),
            "velocity_mae": model["velocity_mae"],
            "constant_velocity": median * 127,
            "constant_velocity_mae": baseline["velocity_mae"],
            "velocity_error_reduction": _reduction(model["velocity_mae"],
                                                   baseline["velocity_mae"]),
            "aims": {"timing_error_reduction": 0.3, "velocity_error_reduction": 0.3,
                     "hit_f1": 0.95}}


def drumify_report(played: np.ndarray, windows: np.ndarray, tempo: np.ndarray,
                   taps: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """The drumify aims: the beats ``played`` from the ``taps`` of the drummer's ``windows``
    (all ``[N, T, 27]``): hits per bar and class distribution against the data's, with the
    data's split-half yardstick (the aim: within twice it); how the onsets line up with the
    taps; and, against the drummer's own beat, the hit figures and the feel, next to the
    "no change" baseline (the taps themselves as the beat)."""
    played_tokens, data_tokens = as_drum_tokens(played), as_drum_tokens(windows)
    half = np.random.default_rng(seed).permutation(len(windows))
    split = len(windows) // 2
    tap_steps, onset_steps = G.hits(taps).any(-1), G.hits(played).any(-1)
    both = (tap_steps & onset_steps).sum()
    model = drum_evaluation.hit_figures(played_tokens, data_tokens)
    baseline = drum_evaluation.hit_figures(as_drum_tokens(taps), data_tokens)
    return {"windows": len(windows),
            "data": drum_evaluation.describe(data_tokens),
            "drumified": {**drum_evaluation.describe(played_tokens),
                          **drum_evaluation.compare(played_tokens, data_tokens)},
            "data_halves": drum_evaluation.compare(data_tokens[half[:split]],
                                                   data_tokens[half[split:]]),
            "onsets_on_taps": float(both / onset_steps.sum()) if onset_steps.any() else 0.0,
            "taps_with_onsets": float(both / tap_steps.sum()) if tap_steps.any() else 0.0,
            "hit_f1": model["hit_f1"], "taps_hit_f1": baseline["hit_f1"],
            **{f"{k}": v for k, v in feel_errors(played, windows, tempo).items()
               if k != "shared_hits"},
            **{f"taps_{k}": v for k, v in feel_errors(taps, windows, tempo).items()
               if k != "shared_hits"}}


def groove_report(trained, data_dir: str | Path, temperature: float = 0.0,
                  seed: int = 0) -> dict[str, Any]:
    """The evaluation's ``groove`` section for a GrooVAE ``TrainedModel`` on the files of
    ``data_dir``: the humanize or the drumify aims, by the model's input transformation
    (``{}`` for a model without one)."""
    settings = trained.data_settings
    windows, tempo = performance_windows(data_dir, trained.bars)
    if not len(windows) or not (settings.humanize or settings.tapify):
        return {}
    from symusic.musicvae.groove_performance import feel_of_hits

    played = trained.reconstruct(windows, temperature, seed)  # the encoder transforms
    if settings.tapify:
        taps = transform_input(torch.from_numpy(windows), tapify=True,
                               fixed_velocities=settings.fixed_velocities).numpy()
        return {"drumify": {"temperature": temperature,
                            **drumify_report(played, windows, tempo, taps, seed)}}
    # the command keeps the input's hits; a free decode is Magenta's way
    return {"humanize": humanize_report(feel_of_hits(trained, windows), windows, tempo),
            "humanize_free_hits": {"temperature": temperature,
                                   **humanize_report(played, windows, tempo)}}
