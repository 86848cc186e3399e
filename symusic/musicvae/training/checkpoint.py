"""Training checkpoints: written atomically, loaded safely, complete enough to resume exactly.

A training checkpoint is a model checkpoint (what :meth:`MusicVAE.to_state` gives, so the
generation tools load it as it is) with a ``"training"`` entry added
(:class:`TrainingCheckpoint`): optimiser, scheduler, step, best evaluation loss, RNG states, the
data position and the experiment config. A model-only checkpoint has no such entry.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from symusic.atomic import atomic_write
from symusic.musicvae.model import CheckpointError
from symusic.musicvae.model.checkpoint_limits import architecture_mismatch
from symusic.musicvae.model.vae import read_checkpoint, representation_of

TRAINING_KIND = "symusic.musicvae.training"
# what a "training" entry must hold, and of which type
_TRAINING_KEYS = {"optimizer": dict, "scheduler": dict, "step": int,
                  "best_eval_loss": int | float, "rng": dict, "data": dict}


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
    def from_dict(cls, training: Any, source: str = "checkpoint") -> TrainingCheckpoint:
        """Read a checkpoint's ``"training"`` entry; CheckpointError naming what is missing or
        of the wrong type in a damaged one."""
        if not isinstance(training, dict):
            raise CheckpointError(f"{source}: damaged training state: a "
                                  f"{type(training).__name__} where a mapping belongs")
        for key, kind in _TRAINING_KEYS.items():
            if not isinstance(training.get(key), kind):
                found = "missing" if key not in training else type(training[key]).__name__
                raise CheckpointError(f"{source}: damaged training state: {key!r} is {found}")
        data = training["data"]
        if not all(isinstance(data.get(k), int) and data[k] >= 0 for k in ("epoch", "index")):
            raise CheckpointError(f"{source}: damaged training state: 'data' needs the "
                                  "sampler's 'epoch' and 'index' (whole numbers)")
        rng = training["rng"]
        if not {"torch", "python", "numpy"} <= set(rng):
            raise CheckpointError(f"{source}: damaged training state: 'rng' needs 'torch', "
                                  "'python' and 'numpy'")
        return cls(training.get("config", {}), training["optimizer"], training["scheduler"],
                   int(training["step"]), float(training["best_eval_loss"]), rng,
                   int(data["epoch"]), int(data["index"]))

    def restore(self, optimizer: torch.optim.Optimizer, scheduler: Any, sampler: Any,
                source: str = "checkpoint") -> None:
        """Put the optimiser, the LR scheduler, the RNGs and the training sampler back where
        they were; CheckpointError when a damaged state does not fit them."""
        try:
            optimizer.load_state_dict(self.optimizer)
            scheduler.load_state_dict(self.scheduler)
            restore_rng_state(self.rng)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, RuntimeError) as e:
            raise CheckpointError(f"{source}: damaged training state: the optimiser, scheduler "
                                  f"or RNG state does not fit ({type(e).__name__}: "
                                  f"{str(e)[:120]})") from None
        sampler.set_position(self.data_epoch, self.data_index)


def load_weights(model: torch.nn.Module, path: Path) -> TrainingCheckpoint | None:
    """Load the weights of the checkpoint at ``path`` (the ``ckpt_path`` setting; a file or a
    magenta.js folder) into ``model`` and return its training entry (None for a model-only
    checkpoint).

    Raises FileNotFoundError for a missing file, and CheckpointError for an unreadable one,
    another architecture or weights holding NaN or infinity.
    """
    if not path.exists():
        raise FileNotFoundError(f"ckpt_path: no checkpoint at {path}")
    # on the CPU: load_state_dict copies onto the model's and optimiser's devices, and the
    # RNG states must stay CPU byte tensors (set_rng_state refuses CUDA ones)
    bundle = read_checkpoint(path, map_location="cpu")
    recorded = representation_of(bundle, str(path)).name
    if recorded != model.representation.name:
        raise CheckpointError(f"ckpt_path: {path} is a {recorded} model; this config trains "
                              f"{model.representation.name} (its representation)")
    mismatch = architecture_mismatch(model.state_dict(), bundle["state_dict"])
    if mismatch:
        raise CheckpointError(f"ckpt_path: {path} holds a model of another architecture "
                              f"than this config ({mismatch})")
    if not all_finite(bundle["state_dict"].values()):
        raise CheckpointError(f"ckpt_path: {path} holds NaN or infinite weights (a run "
                              "that diverged); continue from an earlier checkpoint")
    model.load_state_dict(bundle["state_dict"])
    training = bundle.get("training")
    if training is None:
        return None
    return TrainingCheckpoint.from_dict(training, f"ckpt_path: {path}")


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` through :func:`symusic.atomic.atomic_write`: never half a checkpoint.

    A write that fails (a full disk: ``ENOSPC``) raises its ``OSError``; the file at ``path``
    is left as it was."""
    try:
        with atomic_write(path) as handle:
            torch.save(obj, handle)
    except RuntimeError as error:
        # torch's zip writer, closed after a failed write, raises "unexpected pos" over it
        if isinstance(error.__context__, OSError):
            raise error.__context__ from None
        raise
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
