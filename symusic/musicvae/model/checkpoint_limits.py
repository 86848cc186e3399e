"""Bounds on what a checkpoint file may hold, checked before anything is built from it.

A checkpoint is untrusted input: a user downloads it. Torch's weights-only load cannot run
code, but it can still hand back a config that is a list nested in itself (which validating or
quoting would walk for ever), a zip entry that unpacks to gigabytes, or a config that declares
sizes far beyond its weights. The loading door (``vae.read_checkpoint`` and
``MusicVAE.from_state``) checks, in this order:

* :func:`check_archive`: the file unpacks to at most ``MAX_UNPACKED_BYTES`` and at most
  ``MAX_EXPANSION`` times its size (torch writes its zip entries uncompressed);
* :func:`check_plain_structure`: outside the tensors, at most ``MAX_DEPTH`` levels,
  ``MAX_ITEMS`` items and ``MAX_TEXT`` characters of text (torch's weights-only load already
  refuses integers of more than 255 bytes);
* :func:`check_model_sizes`: a window of at most ``MAX_SEQ_LEN`` steps, and a model whose
  every tensor has the shape of the checkpoint's (found on the meta device, allocating
  nothing), so building it allocates no more than the file holds.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Mapping
from typing import Any

import torch

MAX_UNPACKED_BYTES = 4 * 2**30  # a paper-sized training checkpoint (170 M weights, Adam) is 2 GB
MAX_EXPANSION = 16
MAX_DEPTH = 32
MAX_ITEMS = 200_000
MAX_TEXT = 1_000_000
MAX_SEQ_LEN = 4096  # steps in one window: 256 bars of 16 steps


class CheckpointLimitError(ValueError):
    """A checkpoint beyond one of this module's bounds (the model turns it into its
    ``CheckpointError``)."""


def check_archive(path: str | os.PathLike) -> None:
    """Refuse a zip checkpoint whose entries unpack beyond the bounds (a file that is not a
    zip is torch's to judge: its legacy format reads no more than the file holds)."""
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(entry.file_size for entry in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise CheckpointLimitError(f"not a readable torch checkpoint ({e})") from None
    packed = os.path.getsize(path)
    if unpacked > MAX_UNPACKED_BYTES or unpacked > MAX_EXPANSION * packed + 2**20:
        raise CheckpointLimitError(
            f"it unpacks to {unpacked:,} bytes from {packed:,}; a checkpoint may unpack to at "
            f"most {MAX_UNPACKED_BYTES:,} bytes and {MAX_EXPANSION} times its size")


def check_plain_structure(value: Any) -> None:
    """Refuse a structure (the checkpoint's dict, tensors aside) deeper, larger or with longer
    text than the bounds. The walk stops at the first excess, so a list
    that holds itself, or one value shared a billion times, costs at most ``MAX_ITEMS`` steps."""
    items, text = 0, 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        items += 1
        if items > MAX_ITEMS:
            raise CheckpointLimitError(f"it holds more than {MAX_ITEMS:,} values besides "
                                       "the weights")
        if depth > MAX_DEPTH:
            raise CheckpointLimitError(f"it nests values more than {MAX_DEPTH} levels deep")
        if isinstance(node, Mapping):
            stack.extend((child, depth + 1) for pair in node.items() for child in pair)
        elif isinstance(node, list | tuple | set | frozenset):
            stack.extend((child, depth + 1) for child in node)
        elif isinstance(node, str | bytes | bytearray):
            text += len(node)
            if text > MAX_TEXT:
                raise CheckpointLimitError(f"it holds more than {MAX_TEXT:,} characters of "
                                           "text")


def check_model_sizes(config: Any, build: Callable[[], torch.nn.Module],
                      state_dict: Mapping[str, Any]) -> None:
    """Refuse a model config whose window is too long, or whose model (``build()``, run on
    the meta device: nothing is allocated) has other tensors or shapes than ``state_dict``."""
    if config.seq_len > MAX_SEQ_LEN:
        raise CheckpointLimitError(f"its model config declares windows of {config.seq_len:,} "
                                   f"steps; at most {MAX_SEQ_LEN:,} are allowed")
    if not isinstance(state_dict, Mapping):
        raise CheckpointLimitError(f"its state_dict is a {type(state_dict).__name__}, "
                                   "not a mapping")
    with torch.device("meta"):
        skeleton = build()
    mismatch = architecture_mismatch(skeleton.state_dict(), state_dict)
    if mismatch:
        raise CheckpointLimitError(f"its model config does not match its weights ({mismatch})")


def architecture_mismatch(expected: Mapping[str, torch.Tensor], found: Mapping[str, Any],
                          shown: int = 3) -> str:
    """What differs between two state dicts' keys and shapes, in a few words ('' if nothing):
    ``expected`` is the model's, ``found`` the checkpoint's. Names the first ``shown`` keys of
    each kind, each cut short."""

    def first(keys: list[str]) -> str:
        more = f" (+{len(keys) - shown} more)" if len(keys) > shown else ""
        return ", ".join(str(key)[:80] for key in keys[:shown]) + more

    def shape(value: Any) -> str:
        size = getattr(value, "shape", None)
        return str(list(size))[:80] if size is not None else type(value).__name__

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
