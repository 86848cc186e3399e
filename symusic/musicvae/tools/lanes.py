"""Pictures of multi-part windows (the trio): one lane a part, the windows one after another.

:func:`symusic.musicvae.tools.render.plot_pianoroll` hands a representation with parts here.
The melody and the bass are piano rolls, the drums a grid of their classes, each lane drawn
as the part's own representation draws it (``render._draw_roll``), so a trio picture reads
like the melody and drum pictures stacked.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from symusic.data.representation import Representation
from symusic.musicvae.tools import render

LANE_HEIGHT = 2.0  # inches


def _pitch_range(windows: list[np.ndarray], representation: Representation
                 ) -> tuple[float, float]:
    """The lane's y range: every row of a grid, else the notes' pitches (an octave at least)."""
    if representation.row_labels:
        return -0.5, len(representation.row_labels) - 0.5
    pitches = [p for w in windows if w is not None for p, _, _ in representation.notes(w)]
    lo, hi = (min(pitches), max(pitches)) if pitches else (60, 72)
    if hi - lo < 12:
        lo, hi = (lo + hi) // 2 - 6, (lo + hi) // 2 + 6
    return lo - 1.5, hi + 1.5


def plot_lanes(windows: Sequence[np.ndarray], path: str | Path,
               part_representations: Sequence[Representation], part_names: Sequence[str],
               titles: Sequence[str] | None = None,
               references: Sequence[np.ndarray] | None = None,
               reference_label: str = "reference") -> Path:
    """Draw windows ``[T, P]`` (one after another, a thick line between) as ``P`` lanes, lane
    ``p`` the ``p``-th part read by ``part_representations[p]``; ``references`` (one per
    window) beneath in light grey. Returns ``path`` (a PNG)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    windows = [np.asarray(w) for w in windows]
    if not windows:
        raise ValueError("no windows to plot")
    for name, other in (("titles", titles), ("references", references)):
        if other is not None and len(other) != len(windows):
            raise ValueError(f"{len(other)} {name} for {len(windows)} windows")
    refs = [None] * len(windows) if references is None else [np.asarray(r) for r in references]
    offsets = np.cumsum([0] + [len(w) for w in windows[:-1]]).tolist()
    total_steps = sum(len(w) for w in windows)
    width = min(4 + total_steps / 24, 60)
    fig = Figure(figsize=(width, 0.4 + LANE_HEIGHT * len(part_names)), layout="constrained")
    axes = list(fig.subplots(len(part_names), 1, squeeze=False, sharex=True)[:, 0])
    for p, (ax, rep, name) in enumerate(zip(axes, part_representations, part_names,
                                            strict=True)):
        lane = [w[:, p] for w in windows]
        lane_refs = [None if r is None else r[:, p] for r in refs]
        render._draw_roll(ax, lane, offsets, titles if p == 0 else None, lane_refs, rep,
                          _pitch_range(lane + lane_refs, rep),
                          px_per_step=width * render.DPI / max(total_steps, 1))
        ax.set_ylabel(name, fontsize=8)
    axes[-1].set_xlabel("bar", fontsize=8)
    if references is not None:
        axes[0].legend(handles=[Patch(color=render.NOTE_COLOR, label="notes"),
                                Patch(color=render.REFERENCE_COLOR, label=reference_label)],
                       loc="upper right", fontsize=7, framealpha=0.9)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=render.DPI)
    return path
