"""A picture of grooves that shows the feel: every hit where it is played, as loud as it is.

One panel per groove (e.g. the input above, the humanized beat below), the nine drum classes
as rows (kick at the bottom) and time in bars along x, the 16th-note grid faint, beats and
bars darker. A hit is a vertical bar at its played onset (its step minus half its offset), as
tall and as dark as its velocity, with a thin line from its grid step to it when it is off the
grid, so the timing is visible at a glance.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from symusic.data import groove_windows as G

DPI = 100
MAX_WIDTH = 40  # inches: a long input comes out as an overview


def plot_groove(grooves: Sequence[np.ndarray], path: str | Path,
                titles: Sequence[str] | None = None, qpm: float | None = None) -> Path:
    """Draw grooves (each ``[steps, 27]``) at ``path`` (PNG), one panel each; ``qpm`` adds
    the timing error scale (a 16th in ms) to the titles. Returns ``path``."""
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    grooves = [np.asarray(g, dtype=np.float64) for g in grooves]
    if not grooves:
        raise ValueError("no grooves to plot")
    steps = max(len(g) for g in grooves)
    width = min(4 + steps / 10, MAX_WIDTH)
    fig = Figure(figsize=(width, 0.6 + 2.4 * len(grooves)), layout="constrained")
    axes = fig.subplots(len(grooves), 1, squeeze=False)[:, 0]
    for i, (ax, groove) in enumerate(zip(axes, grooves, strict=True)):
        grid = [[(s, -0.5), (s, G.NUM_CLASSES - 0.5)] for s in range(steps + 1)]
        shade = ["0.55" if s % G.STEPS_PER_BAR == 0 else
                 "0.8" if s % G.STEPS_PER_QUARTER == 0 else "0.93" for s in range(steps + 1)]
        ax.add_collection(LineCollection(grid, colors=shade, linewidths=0.6, zorder=0))
        step, drum = np.nonzero(groove[:, G.HITS] > 0.5)
        velocity = groove[step, G.NUM_CLASSES + drum]
        onset = step - groove[step, 2 * G.NUM_CLASSES + drum] / 2
        bars = [[(t, c - 0.42 * v), (t, c + 0.42 * v)] for t, c, v in zip(onset, drum, velocity,
                                                                        strict=True)]
        colors = [(0.1, 0.3, 0.75, 0.35 + 0.65 * v) for v in velocity]
        ax.add_collection(LineCollection(bars, colors=colors, linewidths=2.5, zorder=2))
        drift = [[(s, c), (t, c)] for s, t, c in zip(step, onset, drum, strict=True)
                 if abs(s - t) > 0.01]
        ax.add_collection(LineCollection(drift, colors="tab:red", linewidths=1.0, zorder=1))
        ax.set_xlim(-0.6, steps)
        ax.set_ylim(-0.5, G.NUM_CLASSES - 0.5)
        ax.set_yticks(range(G.NUM_CLASSES), G.CLASS_NAMES, fontsize=7)
        bar_ticks = range(0, steps + 1, G.STEPS_PER_BAR * max(1, steps // 16 // 24 + 1))
        ax.set_xticks(list(bar_ticks), [str(t // G.STEPS_PER_BAR + 1) for t in bar_ticks],
                      fontsize=7)
        title = titles[i] if titles is not None else None
        if title:
            if qpm:
                title += f"  (a 16th is {60_000 / qpm / G.STEPS_PER_QUARTER:.0f} ms)"
            ax.set_title(title, fontsize=8, loc="left")
    axes[-1].set_xlabel("bar (hits drawn where played; height and shade: velocity; red: "
                        "the distance from the grid)", fontsize=7)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return path
