"""Long-term structure, measured: how often a bar restates the bar ``lag`` bars before it.

A real tune repeats itself (AABA, verse and chorus): in a 16-bar window many bars equal the bar
4 or 8 bars earlier. The **repetition profile** of a set of windows says, for each lag of 1 to
8 bars, which fraction of bars repeat the bar ``lag`` earlier, in three ways:

* ``exact``: the same onsets (steps within the bar) with the same pitches;
* ``transposed``: the same onsets, the pitches moved by one interval (a sequence);
* ``rhythm``: the same onsets, whatever the pitches.

Only bars with at least one onset count (a bar of rests or of one held note "repeats" too
easily), pooled over all windows. The bars come from the representation's note view, so the
measure reads any representation (for drums, a note is a hit and its pitch the class's).

:func:`profile_distance` is the mean absolute difference of two profiles over the lags and the
three ways; the data's own yardstick is that distance between two halves of the data windows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from symusic.data.representation import Representation

MAX_LAG = 8
MIN_BARS = 4  # shorter windows have too few lags for a profile
WAYS = ("exact", "transposed", "rhythm")

Bar = tuple[tuple[int, int], ...]  # (step within the bar, pitch) of each onset, in order


def window_bars(window: np.ndarray, representation: Representation) -> list[Bar]:
    """The onsets of each bar of one window ``[T]``."""
    steps = representation.steps_per_bar
    bars: list[list[tuple[int, int]]] = [[] for _ in range(len(window) // steps)]
    for pitch, start, _ in representation.notes(window):
        bars[start // steps].append((start % steps, pitch))
    return [tuple(sorted(bar)) for bar in bars]


def _repeats(bar: Bar, earlier: Bar) -> tuple[bool, bool, bool]:
    """Whether ``bar`` repeats ``earlier`` exactly, transposed, and in rhythm."""
    rhythm = len(bar) == len(earlier) and all(a[0] == b[0] for a, b in zip(bar, earlier,
                                                                          strict=True))
    if not rhythm:
        return False, False, False
    intervals = {a[1] - b[1] for a, b in zip(bar, earlier, strict=True)}
    return intervals == {0}, len(intervals) == 1, True


def repetition_profile(windows: np.ndarray, representation: Representation,
                       max_lag: int = MAX_LAG) -> dict[str, Any]:
    """The repetition profile of windows ``[N, T]``: ``{way: [fraction at lag 1, 2, ...]}`` for
    lags up to ``max_lag`` (fewer when the windows are shorter), plus ``bars`` (the bars with
    onsets that were counted at lag 1). ``ValueError`` for windows under :data:`MIN_BARS`."""
    windows = np.asarray(windows)
    window_shape = windows.shape[windows.ndim - 1 - len(representation.item_shape):]  # [T, ...]
    n_bars = representation.bars_in(window_shape[0])
    if n_bars < MIN_BARS:
        raise ValueError(f"a repetition profile needs windows of {MIN_BARS} bars or more, "
                         f"not {n_bars}")
    lags = range(1, min(max_lag, n_bars - 1) + 1)
    hits = np.zeros((len(WAYS), len(lags)))
    counted = np.zeros(len(lags))
    for window in windows.reshape(-1, *window_shape):
        bars = window_bars(window, representation)
        for column, lag in enumerate(lags):
            for index in range(lag, n_bars):
                if bars[index]:
                    counted[column] += 1
                    hits[:, column] += _repeats(bars[index], bars[index - lag])
    fractions = hits / np.maximum(counted, 1)
    profile: dict[str, Any] = {way: [round(float(v), 4) for v in fractions[row]]
                               for row, way in enumerate(WAYS)}
    profile["bars"] = int(counted[0])
    return profile


def profile_distance(a: dict[str, Any], b: dict[str, Any]) -> float:
    """Mean absolute difference of two profiles over their common lags and the three ways."""
    lags = min(len(a["exact"]), len(b["exact"]))
    return float(np.mean([abs(x - y) for way in WAYS
                          for x, y in zip(a[way][:lags], b[way][:lags], strict=True)]))


def has_structure(windows: np.ndarray, representation: Representation) -> bool:
    """Whether windows ``[N, T, ...]`` are long enough for a repetition profile."""
    return representation.bars_in(np.asarray(windows).shape[1]) >= MIN_BARS


def structure_report(data: np.ndarray, representation: Representation,
                     **generated: np.ndarray) -> dict[str, Any]:
    """Profiles of the ``data`` windows and of each named set of ``generated`` windows, each
    with its distance to the data's profile, and the yardstick: the distance between the first
    and second half of the data windows (in their order, so mostly different songs)."""
    reference = repetition_profile(data, representation)
    half = len(data) // 2
    report: dict[str, Any] = {
        "data": reference,
        "data_halves_distance": (profile_distance(repetition_profile(data[:half], representation),
                                                  repetition_profile(data[half:], representation))
                                 if half else float("nan")),
    }
    for name, windows in generated.items():
        profile = repetition_profile(windows, representation)
        report[name] = {**profile, "distance": profile_distance(profile, reference)}
    return report
