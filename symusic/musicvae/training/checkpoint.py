"""Training checkpoints: written atomically, loaded safely, complete enough to resume exactly.

A training checkpoint is a model checkpoint (what :meth:`MusicVAE.to_state` gives, so the
generation tools load it as it is) with a ``"training"`` entry added
(:class:`TrainingCheckpoint`): optimiser, scheduler, step, best evaluation loss, RNG states, the
data position and the experiment config. A model-only checkpoint has no such entry.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from symusic.atomic import atomic_write
from symusic.musicvae.model import CheckpointError
from symusic.musicvae.model.vae import read_checkpoint

TRAINING_KIND = "symusic.musicvae.training"


@dataclass
class TrainingCheckpoint:
    """The ``"training"`` entry of a checkpoint: what resuming needs besides the weights."""

    config: dict[str, Any]  # the experiment config as given
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    step: int  # steps taken
    best_eval_loss: float
    rng: dict[str, Any]  # :func:`rng_state`
    data_epoch: int  # the training sampler's position after the steps taken
    data_index: int

    @classmethod
    def capture(cls, config: dict[str, Any], optimizer: torch.optim.Optimizer, scheduler: Any,
                step: int, best_eval_loss: float, data_position: tuple[int, int],
                ) -> TrainingCheckpoint:
        """The training state now (the RNG states included)."""
        epoch, index = data_position
        return cls(config, optimizer.state_dict(), scheduler.state_dict(), step,
                   best_eval_loss, rng_state(), epoch, index)

    def save(self, model: torch.nn.Module, path: str | os.PathLike) -> Path:
        """Write ``model``'s checkpoint with this entry, atomically."""
        bundle = model.to_state()
        bundle["training"] = {
            "kind": TRAINING_KIND, "config": self.config, "optimizer": self.optimizer,
            "scheduler": self.scheduler, "step": self.step,
            "best_eval_loss": self.best_eval_loss, "rng": self.rng,
            "data": {"epoch": self.data_epoch, "index": self.data_index},
        }
        return atomic_torch_save(bundle, path)

    @classmethod
    def from_dict(cls, training: dict[str, Any]) -> TrainingCheckpoint:
        """Read a checkpoint's ``"training"`` entry."""
        return cls(training.get("config", {}), training["optimizer"], training["scheduler"],
                   int(training["step"]), float(training["best_eval_loss"]), training["rng"],
                   int(training["data"]["epoch"]), int(training["data"]["index"]))

    def restore(self, optimizer: torch.optim.Optimizer, scheduler: Any, sampler: Any) -> None:
        """Put the optimiser, the LR scheduler, the RNGs and the training sampler back where
        they were."""
        optimizer.load_state_dict(self.optimizer)
        scheduler.load_state_dict(self.scheduler)
        restore_rng_state(self.rng)
        sampler.set_position(self.data_epoch, self.data_index)


def load_weights(model: torch.nn.Module, path: Path) -> TrainingCheckpoint | None:
    """Load the weights of the checkpoint at ``path`` (the ``ckpt_path`` setting) into
    ``model`` and return its training entry (None for a model-only checkpoint).

    Raises FileNotFoundError for a missing file, and CheckpointError for an unreadable one,
    another architecture or weights holding NaN or infinity.
    """
    if not path.is_file():
        raise FileNotFoundError(f"ckpt_path: no checkpoint at {path}")
    # on the CPU: load_state_dict copies onto the model's and optimiser's devices, and the
    # RNG states must stay CPU byte tensors (set_rng_state refuses CUDA ones)
    bundle = read_checkpoint(path, map_location="cpu")
    mismatch = architecture_mismatch(model.state_dict(), bundle["state_dict"])
    if mismatch:
        raise CheckpointError(f"ckpt_path: {path} holds a model of another architecture "
                              f"than this config ({mismatch})")
    if not all_finite(bundle["state_dict"].values()):
        raise CheckpointError(f"ckpt_path: {path} holds NaN or infinite weights (a run "
                              "that diverged); continue from an earlier checkpoint")
    model.load_state_dict(bundle["state_dict"])
    training = bundle.get("training")
    return None if training is None else TrainingCheckpoint.from_dict(training)


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` through :func:`symusic.atomic.atomic_write`: never half a checkpoint."""
    with atomic_write(path) as handle:
        torch.save(obj, handle)
    return Path(path)


def rng_state() -> dict[str, Any]:
    """Every RNG the training loop draws from, as types ``torch.load(weights_only=True)`` takes."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": (np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Put back what :func:`rng_state` took (from tensors on any device)."""
    torch.set_rng_state(state["torch"].cpu())
    random.setstate(_as_tuples(state["python"]))
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.cpu().numpy().astype(np.uint32), *rest))
    if "cuda" in state and torch.cuda.is_available():
        # a run resumed on fewer GPUs than it was saved from restores the ones it has
        for index, device_state in enumerate(state["cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(device_state.cpu(), index)


def _as_tuples(value: Any) -> Any:
    # torch.load may hand back lists where random.getstate() had tuples.
    if isinstance(value, list | tuple):
        return tuple(_as_tuples(item) for item in value)
    return value


def all_finite(tensors: Iterable[Any]) -> bool:
    """Whether every floating-point tensor among ``tensors`` holds only finite numbers."""
    return all(bool(torch.isfinite(t).all()) for t in tensors
               if isinstance(t, torch.Tensor) and t.is_floating_point())


def architecture_mismatch(expected: Mapping[str, torch.Tensor], found: Mapping[str, Any],
                          shown: int = 3) -> str:
    """What differs between two state dicts' keys and shapes, in a few words ('' if nothing):
    ``expected`` is the model's, ``found`` the checkpoint's. Names the first ``shown`` keys of
    each kind."""

    def first(keys: list[str]) -> str:
        more = f" (+{len(keys) - shown} more)" if len(keys) > shown else ""
        return ", ".join(keys[:shown]) + more

    def shape(value: Any) -> str:
        size = getattr(value, "shape", None)
        return str(list(size)) if size is not None else type(value).__name__

    missing = [key for key in expected if key not in found]
    unexpected = [key for key in found if key not in expected]
    reshaped = [
        f"{key} {shape(found[key])} in the checkpoint, {shape(expected[key])} here"
        for key in expected
        if key in found and getattr(found[key], "shape", None) != expected[key].shape
    ]
    parts = []
    if missing:
        parts.append(f"missing: {first(missing)}")
    if unexpected:
        parts.append(f"unexpected: {first(unexpected)}")
    if reshaped:
        parts.append(f"other shapes: {first(reshaped)}")
    return "; ".join(parts)
