"""ResumableSampler: seeded order, resuming mid-epoch, DDP shards, transposition limits."""

from itertools import islice

import numpy as np
import pytest

from symusic.data.representation import MELODY
from symusic.data.sampler import ResumableSampler


def take(sampler, n):
    return list(islice(iter(sampler), n))


def test_same_seed_same_order_and_each_epoch_is_a_permutation():
    a, b = ResumableSampler(50, seed=7), ResumableSampler(50, seed=7)
    items = take(a, 150)
    assert items == take(b, 150)
    assert items != take(ResumableSampler(50, seed=8), 150)
    epochs = [[w for w, _ in items[i:i + 50]] for i in range(0, 150, 50)]
    assert all(sorted(e) == list(range(50)) for e in epochs)
    assert epochs[0] != epochs[1] != epochs[2]
    assert all(shift == 0 for _, shift in items)
    assert (a.epoch, a.index) == (3, 0) and len(a) == 50


def test_unshuffled_order_is_sequential():
    assert [w for w, _ in take(ResumableSampler(5, seed=0, shuffle=False), 7)] == \
        [0, 1, 2, 3, 4, 0, 1]


def test_set_position_reproduces_the_tail():
    full = take(ResumableSampler(40, seed=1, transpose=3), 200)
    resumed = ResumableSampler(40, seed=1, transpose=3)
    resumed.set_position(2, 13)
    assert take(resumed, 200 - 93) == full[93:]
    # an index past the epoch rolls over, as the trainer's step * batch_size may
    rolled = ResumableSampler(40, seed=1, transpose=3)
    rolled.set_position(0, 93)
    assert (rolled.epoch, rolled.index) == (2, 13)
    assert rolled.position_after(93) == (2, 13)
    assert rolled.position_after(10, start=(2, 35)) == (3, 5)


def test_position_round_trip():
    """The trainer saves ``(epoch, index)`` and resumes with ``set_position``."""
    sampler = ResumableSampler(30, seed=5)
    take(sampler, 45)
    assert (sampler.epoch, sampler.index) == (1, 15)
    restored = ResumableSampler(30, seed=5)
    restored.set_position(sampler.epoch, sampler.index)
    assert take(restored, 20) == take(sampler, 20)
    assert take(ResumableSampler(30, seed=6), 20) != take(ResumableSampler(30, seed=5), 20)


def test_ranks_get_disjoint_equal_shards():
    shards = [ResumableSampler(100, seed=2, rank=r, world_size=3) for r in range(3)]
    assert [len(s) for s in shards] == [33, 33, 33]
    for epoch in range(2):
        windows = [set(s.epoch_items(epoch)[0].tolist()) for s in shards]
        assert all(len(w) == 33 for w in windows)
        assert not (windows[0] & windows[1] or windows[0] & windows[2] or windows[1] & windows[2])
        assert len(set.union(*windows)) == 99 and max(set.union(*windows)) < 100
    with pytest.raises(ValueError):
        ResumableSampler(10, seed=0, rank=3, world_size=3)


def test_transposition_keeps_every_pitch_in_range():
    # window 0 spans 21..30 (may only go up), window 1 spans 100..108 (only down)
    pitches = np.array([[21, 30], [100, 108], [60, 72]])
    bounds = np.column_stack(MELODY.shift_bounds(pitches[:, 0], pitches[:, 1]))
    sampler = ResumableSampler(3, seed=0, transpose=5, shift_bounds=bounds)
    shifts = {0: set(), 1: set(), 2: set()}
    for window, shift in take(sampler, 3000):
        shifts[window].add(shift)
    assert shifts[0] == set(range(0, 6))
    assert shifts[1] == set(range(-5, 1))
    assert shifts[2] == set(range(-5, 6))
