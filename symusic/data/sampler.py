"""A seedable, resumable, shardable sampler of training windows.

Each epoch draws its order (and, with transposition, one semitone shift per window) from
``np.random.default_rng([seed, epoch])``, so any position ``(epoch, index)`` can be
recreated without replaying the past. DataLoader workers prefetch, so the sampler runs
ahead of training: the training loop counts the items it consumed and calls
:meth:`ResumableSampler.set_position` (or :meth:`position_after`) itself.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from torch.utils.data import Sampler


class ResumableSampler(Sampler):
    """Yields ``(window_index, semitone_shift)`` pairs forever, epoch after epoch.

    ``len(sampler)`` is one epoch for this rank: ``num_windows // world_size`` items (each
    epoch leaves out fewer than ``world_size`` windows so that shards are equal and
    disjoint). ``transpose`` > 0 draws each window's shift uniformly among the integers in
    ``-transpose..transpose`` that keep all its pitches in range; ``shift_bounds``
    (``[num_windows, 2]``, the lowest and highest shift per window, as the representation
    says: ``WindowDataset.shift_bounds``) gives those limits.
    ``epoch`` and ``index`` are the position of the next item this sampler will yield.
    """

    def __init__(self, num_windows: int, seed: int, shuffle: bool = True, transpose: int = 0,
                 rank: int = 0, world_size: int = 1, shift_bounds: np.ndarray | None = None):
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in 0..{world_size - 1}")
        if num_windows < world_size:
            raise ValueError(f"{num_windows} windows cannot be shared by {world_size} processes")
        if transpose < 0:
            raise ValueError(f"transpose must be >= 0, got {transpose}")
        self.num_windows = num_windows
        self.seed = seed
        self.shuffle = shuffle
        self.transpose = transpose
        self.rank = rank
        self.world_size = world_size
        self.low_shift = np.full(num_windows, -transpose, dtype=np.int64)
        self.high_shift = np.full(num_windows, transpose, dtype=np.int64)
        if transpose and shift_bounds is not None:
            bounds = np.asarray(shift_bounds, dtype=np.int64).reshape(num_windows, 2)
            self.low_shift = np.clip(bounds[:, 0], -transpose, 0)
            self.high_shift = np.clip(bounds[:, 1], 0, transpose)
        self.epoch = 0
        self.index = 0

    def __len__(self) -> int:
        return self.num_windows // self.world_size

    def epoch_items(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """This rank's windows and shifts for ``epoch``: two ``int64 [len(self)]`` arrays."""
        rng = np.random.default_rng([self.seed, epoch])
        if self.shuffle:
            order = rng.permutation(self.num_windows)
        else:
            order = np.arange(self.num_windows)
        shifts = np.zeros(self.num_windows, dtype=np.int64)
        if self.transpose:
            low, high = self.low_shift[order], self.high_shift[order]
            draws = np.floor(rng.random(self.num_windows) * (high - low + 1))
            shifts = low + draws.astype(np.int64)
        used = len(self) * self.world_size
        mine = slice(self.rank, used, self.world_size)
        return order[mine], shifts[mine]

    def set_position(self, epoch: int, index: int) -> None:
        """Start the next iteration at item ``index`` of ``epoch`` (``index`` may be >= len)."""
        epoch, index = int(epoch), int(index)
        if epoch < 0 or index < 0:
            raise ValueError(f"position ({epoch}, {index}) is negative")
        extra, self.index = divmod(index, len(self))
        self.epoch = epoch + extra

    def position_after(self, consumed: int, start: tuple[int, int] = (0, 0)) -> tuple[int, int]:
        """The ``(epoch, index)`` reached after ``consumed`` items from ``start``."""
        epoch, index = divmod(start[0] * len(self) + start[1] + int(consumed), len(self))
        return epoch, index

    def __iter__(self) -> Iterator[tuple[int, int]]:
        while True:
            epoch, first = self.epoch, self.index
            windows, shifts = self.epoch_items(epoch)
            for k in range(first, len(windows)):
                last = k + 1 == len(windows)
                self.epoch, self.index = (epoch + 1, 0) if last else (epoch, k + 1)
                yield int(windows[k]), int(shifts[k])
