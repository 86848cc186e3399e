"""Models trained on the built-in folk corpus that ship inside the package, loadable by name.

Wherever a user gives a checkpoint path (``symusic sample --checkpoint``, ``evaluate``, the
studio, ``TrainedModel.load``, a config's ``ckpt_path``), a shipped model's name works too:
``symusic sample --checkpoint folk-mel-2bar``. ``symusic models`` lists them. (The model layer,
``MusicVAE.load``, takes files only: :func:`resolve_checkpoint` turns a name into one.)

Each model is one weights-only file in ``symusic/musicvae/pretrained/`` (the model config, the
data settings it was trained with and fp16 weights; read with ``torch.load(weights_only=True)``),
described in ``pretrained/models.json`` with the headline figures of its model card
(``docs/MODELS.md``). :func:`export_model` writes the file from a training checkpoint; the
shipping command ``python -m symusic.musicvae.tools.ship`` exports, evaluates and records.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
INDEX_FILE = PRETRAINED_DIR / "models.json"
# The figures `symusic models` shows, in this order, with the column titles they get.
HEADLINE = {
    "teacher_forced_accuracy": "TF acc",
    "teacher_forced_note_accuracy": "TF note acc",
    "sampled_accuracy": "greedy acc",
    "sampled_note_accuracy": "greedy note acc",
    "kl_bits": "KL bits",
}


class UnknownModelError(FileNotFoundError):
    """Neither a checkpoint file nor the name of a shipped model."""


@dataclass(frozen=True)
class ShippedModel:
    """One model of ``pretrained/models.json``: its file, what it is and its headline figures."""

    name: str
    file: str
    description: str
    figures: dict[str, float]

    @property
    def path(self) -> Path:
        """Where its weights are inside the package."""
        return PRETRAINED_DIR / self.file


def shipped_models() -> dict[str, ShippedModel]:
    """The shipped models by name (empty when the package carries none)."""
    if not INDEX_FILE.is_file():
        return {}
    entries = json.loads(INDEX_FILE.read_text())
    return {e["name"]: ShippedModel(e["name"], e["file"], e["description"], e["figures"])
            for e in entries}


def resolve_checkpoint(name_or_path: str | os.PathLike) -> Path:
    """The checkpoint file meant by a path or a shipped model's name.

    A path to an existing file (or a magenta.js checkpoint folder) wins over a name. A bare
    word (no folder, no suffix) that names no shipped model raises :class:`UnknownModelError`
    listing the shipped names; any other missing path is returned as it is, for the caller
    to report.
    """
    path = Path(name_or_path)
    if path.is_file() or path.is_dir():  # a folder: a magenta.js checkpoint
        return path
    models = shipped_models()
    if str(name_or_path) in models:
        return models[str(name_or_path)].path
    if path.parent == Path(".") and not path.suffix:
        names = ", ".join(models) or "none in this installation"
        raise UnknownModelError(
            f"no checkpoint file or shipped model named {str(name_or_path)!r}; "
            f"shipped models: {names}"
        )
    return path


def export_model(checkpoint: str | os.PathLike, out: str | os.PathLike,
                 data_settings: dict[str, Any] | None = None) -> Path:
    """Write a training checkpoint's model as a shipped file: config, data settings, fp16 weights.

    The optimiser, RNG and data position are dropped. ``data_settings`` overrides what the
    checkpoint records (for checkpoints written before they were recorded).
    """
    from symusic.atomic import atomic_write
    from symusic.data.settings import DataSettings
    from symusic.musicvae.model.vae import MusicVAE, read_checkpoint

    model = MusicVAE.from_state(read_checkpoint(checkpoint), source=str(checkpoint))
    if data_settings is not None:
        model.data_settings = DataSettings.from_dict(data_settings)
    shipped = model.to_state()
    shipped["state_dict"] = {k: v.half() if v.is_floating_point() else v
                             for k, v in shipped["state_dict"].items()}
    with atomic_write(out) as handle:
        torch.save(shipped, handle)
    return Path(out)


def format_models_table(models: dict[str, ShippedModel]) -> str:
    """``symusic models``'s output: one row per shipped model with its headline figures."""
    if not models:
        return "no shipped models in this installation"
    titles = ["name", *HEADLINE.values(), "description"]
    rows = [[m.name, *(f"{m.figures[k]:.3f}" if k in m.figures else "-" for k in HEADLINE),
             m.description] for m in models.values()]
    widths = [max(len(r[i]) for r in [titles, *rows]) for i in range(len(titles) - 1)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1]
             for r in [titles, *rows]]
    lines.append("figures: each model's eval split (test split for drums), z = mu (docs/MODELS.md)")
    return "\n".join(lines)


# --- the figures a shipped model records -----------------------------------------------------

REGRESSION_WINDOWS = 256  # the fixed slice of the eval split the regression test measures on


def regression_figures(model, eval_dir: str | os.PathLike) -> dict[str, float]:
    """The evaluation's reconstruction figures (:func:`evaluation.reconstruction_metrics`, seed 0,
    batches of 128) on the fixed slice of ``eval_dir``: ``REGRESSION_WINDOWS`` evenly spaced
    windows, read as the model's training data was. The test checks the teacher-forced
    accuracies (z = mu)."""
    from symusic.musicvae import evaluation

    windows, _ = evaluation.load_model_windows(model, eval_dir, REGRESSION_WINDOWS)
    figures = evaluation.reconstruction_metrics(model, evaluation.window_batches(windows, 128),
                                                seed=0)
    return {"windows": len(windows), **figures}
