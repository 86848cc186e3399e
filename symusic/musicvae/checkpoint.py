"""Training checkpoints: written atomically, loaded safely, complete enough to resume exactly.

A training checkpoint is a model checkpoint (what :meth:`MusicVAE.save` writes, so the generation
tools load it as it is) with a ``"training"`` entry added: optimiser, scheduler, step, RNG states,
the data position and the experiment config.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from symusic.atomic import atomic_write


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
