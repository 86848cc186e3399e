"""One evaluation for training and the ``evaluate`` command: each figure has one name and one z.

``reconstruction_metrics`` is what both the trainer's periodic evaluation and
``python -m symusic.musicvae.evaluate`` report, averaged per window:

* ``teacher_forced_accuracy`` and ``teacher_forced_note_accuracy``: z = mu, the decoder fed the
  true previous token (Table 1 of Roberts et al. (2018)); the note accuracy counts only the steps
  whose target is an event (onset or note-off);
* ``sampled_accuracy`` and ``sampled_note_accuracy``: z = mu, the decoder fed its own argmax
  (free-running, "greedy"; the paper's "sampled" accuracy);
* ``elbo_nats``, ``reconstruction_nats``, ``kl_nats`` and ``kl_bits``: z drawn once from q(z|x)
  (seeded), beta 1 and no free bits, as the paper's ELBO;
* ``loss`` (only when an :class:`Objective` is given, as training does): the training objective
  ``reconstruction_nats + beta * max(KL - free_bits, 0)`` at the same draw of z;
* for windows of 4 bars or more, ``teacher_forced_repetition_distance`` and
  ``sampled_repetition_distance``: how far the repetition profile (:mod:`structure`) of the
  teacher-forced (argmax) and free-running reconstructions is from the data windows'.

The draws of z depend on the seed and on how the windows are batched: the same windows in the
same batches give the same figures. This module imports no command-line module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from symusic import progress
from symusic.data.melody import DEFAULT_PROGRAMS
from symusic.musicvae import drum_evaluation, groove_evaluation, structure, trio_evaluation
from symusic.musicvae.inference import TrainedModel
from symusic.musicvae.model.prior import prior_name_of
from symusic.musicvae.tools import metrics

# What the evaluation report says about the z behind its reconstruction figures.
WHICH_Z = {
    "accuracies": "z = mu (teacher-forced: the true previous token; sampled: greedy free-running)",
    "elbo_nats, reconstruction_nats, kl": "z drawn once from q(z|x) (seeded), beta 1, no free bits",
}


@dataclass(frozen=True)
class RepresentationFigures:
    """What a representation adds to the token figures: ``step_accuracies(predicted, target)``
    in place of the token and note accuracies running free (a groove's hits),
    ``reconstruction(predicted, target)``, figures of each reconstruction, and ``section``, a
    report section ``(key, report(windows, samples, halves))`` beside the prior samples'."""
    step_accuracies: Callable[[np.ndarray, np.ndarray], tuple[float, float]] | None = None
    reconstruction: Callable[[np.ndarray, np.ndarray], dict[str, float]] | None = None
    section: tuple[str, Callable[..., dict[str, Any]]] | None = None


EXTRA_FIGURES: dict[str, RepresentationFigures] = {
    drum_evaluation.REPRESENTATION: RepresentationFigures(  # hits, per class
        reconstruction=drum_evaluation.hit_figures, section=("drums", drum_evaluation.drum_report)),
    groove_evaluation.REPRESENTATION: RepresentationFigures(  # hits, not tokens, and the feel
        step_accuracies=groove_evaluation.step_accuracies,
        reconstruction=groove_evaluation.reconstruction_figures),
    trio_evaluation.REPRESENTATION: RepresentationFigures(  # each part's figures
        reconstruction=trio_evaluation.reconstruction_figures,
        section=("trio", trio_evaluation.trio_report)),
}


@dataclass(frozen=True)
class Objective:
    """The training loss's weights: ``reconstruction + beta * max(KL - free_bits, 0)``."""

    beta: float = 1.0
    free_bits: float = 0.0


def load_data_windows(data_dir: str | Path, seq_len: int, max_windows: int | None = None,
                      programs: Iterable[int] = DEFAULT_PROGRAMS, extraction: str = "magenta",
                      representation: str = "melody") -> tuple[np.ndarray, dict[str, Any]]:
    """The windows training would evaluate on: every distinct window of ``seq_len`` steps
    of the melodies of the ``programs`` tracks in the MIDI files under ``data_dir`` read by
    ``extraction`` (or their drum tracks, for the ``drums`` representation), or an evenly
    spaced subset of ``max_windows`` of them.

    Returns ``(windows [N, seq_len, *item_shape], info)`` of the representation's
    ``window_dtype`` (int64 tokens; a groove's float32 steps); ``info["files"]`` says how many files
    were used and skipped. Raises the data pipeline's ``NoMelodiesError`` when there is no
    such window.
    """
    from symusic.data.dataset import MelodyCollection, WindowDataset

    collection = MelodyCollection.from_folder(data_dir, programs=programs, extraction=extraction,
                                              progress=progress.interactive(),
                                              representation=representation)
    bars = collection.representation.bars_in(seq_len)
    dataset = WindowDataset(collection, bars, max_windows=max_windows)
    windows = np.stack([dataset.window(i) for i in range(len(dataset))]).astype(
        collection.representation.window_dtype)
    return windows, {"files": collection.report.summary_line()}


def load_model_windows(model, data_dir: str | Path, max_windows: int | None = None,
                       programs: Iterable[int] | None = None
                       ) -> tuple[np.ndarray, dict[str, Any]]:
    """:func:`load_data_windows` of ``model``'s length, the files read as its training data
    was (its programs unless ``programs`` is given, its extraction and representation)."""
    settings = model.data_settings
    return load_data_windows(data_dir, model.config.seq_len, max_windows,
                             settings.programs if programs is None else programs,
                             settings.extraction, settings.representation)


def window_batches(windows: np.ndarray, batch_size: int) -> list[torch.Tensor]:
    """Windows ``[N, T, ...]`` as consecutive batches of at most ``batch_size`` (tensors of
    the windows' dtype sharing their memory)."""
    return [torch.as_tensor(windows[i : i + batch_size])
            for i in range(0, len(windows), batch_size)]


def reconstruction_metrics(model, batches: Iterable[torch.Tensor], seed: int = 0,
                           objective: Objective | None = None) -> dict[str, float]:
    """The module's reconstruction figures of ``model`` over token ``batches`` (each ``[B, T]``).

    ``seed`` seeds the draws of z from q(z|x); the global RNG is left as it was. With an
    ``objective``, ``loss`` is added. Call it under autocast to evaluate in that precision.
    """
    return reconstructions(model, batches, seed, objective)[0]


@torch.no_grad()
def reconstructions(model, batches: Iterable[torch.Tensor], seed: int = 0,
                    objective: Objective | None = None
                    ) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """:func:`reconstruction_metrics`, and the windows behind them: ``target``,
    ``teacher_forced`` (argmax at each step) and ``sampled`` (free-running), each ``[N, T]``."""
    model.eval()
    device = next(model.parameters()).device
    sums: dict[str, float] = {}
    count = 0
    greedy, targets, teacher_forced = [], [], []
    with torch.random.fork_rng(devices=list(range(torch.cuda.device_count()))):
        torch.manual_seed(seed)
        total = len(batches) if isinstance(batches, Sized) else None
        for batch in progress.bar(batches, desc="evaluating", total=total, unit="batch"):
            batch = batch.to(device, dtype=model.io.item_dtype)
            forced = model(batch, sampling_probability=0.0, use_mean=True)
            greedy.append(model.decode(forced.mu, batch.shape[1], temperature=0.0).cpu().numpy())
            teacher_forced.append(_most_likely(model.io, forced.logits).cpu().numpy())
            targets.append(batch.cpu().numpy())
            weights = objective or Objective()
            drawn = model(batch, sampling_probability=0.0, beta=weights.beta,
                          free_bits=weights.free_bits, use_mean=False)
            figures = {
                "teacher_forced_accuracy": forced.accuracy,
                "teacher_forced_note_accuracy": forced.note_accuracy,
                "elbo_nats": drawn.elbo, "reconstruction_nats": drawn.reconstruction,
                "kl_nats": drawn.kl, "kl_bits": drawn.kl_bits,
            }
            if objective is not None:
                figures["loss"] = drawn.loss
            for name, value in figures.items():
                sums[name] = sums.get(name, 0.0) + float(value) * len(batch)
            count += len(batch)
    means = {name: total / max(count, 1) for name, total in sums.items()}
    predicted, target = np.concatenate(greedy), np.concatenate(targets)
    representation = model.representation
    extra = EXTRA_FIGURES.get(representation.name, RepresentationFigures())
    if extra.step_accuracies is not None:
        sampled_accuracy, sampled_note_accuracy = extra.step_accuracies(predicted, target)
    else:
        sampled_accuracy = metrics.token_accuracy(predicted, target)
        sampled_note_accuracy = metrics.note_accuracy(predicted, target, representation)
    figures = {
        "teacher_forced_accuracy": means["teacher_forced_accuracy"],
        "sampled_accuracy": sampled_accuracy,
        "teacher_forced_note_accuracy": means["teacher_forced_note_accuracy"],
        "sampled_note_accuracy": sampled_note_accuracy,
        **{name: value for name, value in means.items() if not name.startswith("teacher")},
    }
    windows = {"target": target, "teacher_forced": np.concatenate(teacher_forced),
               "sampled": predicted}
    if extra.reconstruction is not None:
        for name in ("teacher_forced", "sampled"):
            figures.update({f"{name}_{key}": value for key, value in
                            extra.reconstruction(windows[name], target).items()})
    if structure.has_structure(target, representation):
        reference = structure.repetition_profile(target, representation)
        for name in ("teacher_forced", "sampled"):
            figures[f"{name}_repetition_distance"] = structure.profile_distance(
                structure.repetition_profile(windows[name], representation), reference)
    return figures, windows


def _most_likely(io, outputs: torch.Tensor) -> torch.Tensor:
    """The most likely item of each step: outputs ``[B, T, output_size]`` -> items
    ``[B, T, *item_shape]`` (tokens: the argmax)."""
    batch, steps = outputs.shape[:2]
    chosen = io.choose(outputs.reshape(batch * steps, -1), 0.0)
    return chosen.reshape(batch, steps, *chosen.shape[1:])


@torch.no_grad()
def interpolation_metrics(model, windows: np.ndarray, pairs: int, steps: int,
                          rng: np.random.Generator) -> dict[str, float]:
    """Smoothness of argmax-decoded slerp interpolations between random pairs of windows."""
    if len(windows) < 2:
        return {"pairs": 0}
    trained = TrainedModel(model)
    chosen = np.stack([rng.choice(len(windows), size=2, replace=False) for _ in range(pairs)])
    mu = torch.as_tensor(trained.encode(windows[chosen.ravel()])).to(trained.device)
    z = torch.cat([model.interpolate(mu[2 * i], mu[2 * i + 1], steps) for i in range(pairs)])
    paths = trained.decode(z, temperature=0.0).reshape(pairs, steps, -1)
    result: dict[str, float] = {"pairs": pairs, "steps": steps}
    result.update(metrics.interpolation_smoothness(paths))
    result["input_distance"] = float(
        metrics.hamming(windows[chosen[:, 0]], windows[chosen[:, 1]]).mean()
    )
    return result


def evaluate(model, windows: np.ndarray, num_samples: int = 512, temperature: float = 1.0,
             batch_size: int = 128, interp_pairs: int = 16, interp_steps: int = 9,
             seed: int = 0, prior: str = "auto") -> dict[str, Any]:
    """Every metric of the model on data windows ``[N, T]``, as a JSON-ready dict.

    Sections: ``reconstruction`` (:func:`reconstruction_metrics` over batches of
    ``batch_size``), ``z`` (:data:`WHICH_Z`), ``prior_samples`` (``num_samples`` prior samples
    at ``temperature``, z drawn from ``prior`` (``MusicVAE.draw_z``), against the windows),
    ``data_halves`` (the same measures between two random halves of the windows, the first
    half in the role of the samples: what "as close as the data is to itself" looks like) and
    ``interpolation`` (:func:`interpolation_metrics`), and for windows of 4 bars or more
    ``repetition`` (:func:`structure.structure_report`: the repetition profiles of the data,
    the prior samples and the reconstructions, their distances to the data's, and the data's
    split-half yardstick). Deterministic for a given ``seed``; the global torch RNG is left as
    it was.
    """
    rng = np.random.default_rng(seed)
    reconstruction, decoded = reconstructions(model, window_batches(windows, batch_size), seed)
    trained = TrainedModel(model, batch_size)
    samples = trained.sample(num_samples, temperature, seed, prior)
    half = rng.permutation(len(windows))
    split = len(windows) // 2
    report = {
        "num_windows": len(windows),
        "seq_len": int(windows.shape[1]),
        "reconstruction": reconstruction,
        "z": dict(WHICH_Z),
        "prior_samples": {"num_samples": num_samples, "temperature": temperature,
                          "prior": prior_name_of(prior, model.prior),
                          **metrics.sample_data_distances(samples, windows,
                                                          trained.representation)},
        "data_halves": metrics.sample_data_distances(windows[half[:split]], windows[half[split:]],
                                                     trained.representation),
        "interpolation": interpolation_metrics(model, windows, interp_pairs, interp_steps, rng),
    }
    extra = EXTRA_FIGURES.get(trained.representation.name, RepresentationFigures())
    if extra.section is not None:
        key, section = extra.section
        report[key] = section(windows, samples, (half[:split], half[split:]))
    if structure.has_structure(windows, trained.representation):
        report["repetition"] = structure.structure_report(
            windows, trained.representation, prior_samples=samples,
            teacher_forced=decoded["teacher_forced"], sampled=decoded["sampled"])
    return report
