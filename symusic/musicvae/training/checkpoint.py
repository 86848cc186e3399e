"""Training checkpoints: written atomically, loaded safely, complete enough to resume exactly.

A training checkpoint is a model checkpoint (what :meth:`MusicVAE.save` writes, so the generation
tools load it as it is) with a ``"training"`` entry added: optimiser, scheduler, step, RNG states,
the data position and the experiment config.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable, Mapping
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
