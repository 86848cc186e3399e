"""The ``groove`` representation: Magenta's GrooVAE steps behind the seam (``representation``).

A step is 27 floats, hit, velocity and offset of each of the nine drum classes
(:mod:`symusic.data.groove_windows`, after MusicVAE's ``GrooveConverter``); a window of
``bars`` bars is ``float32 [16 * bars, 27]``. The model reads and writes it through the
``groove`` step head (``symusic.musicvae.model.groove_io``); the input transformations
(humanize, tapify) are data settings the head applies to what the encoder reads.

Imported by :func:`symusic.data.representation.get_representation` on first use (it
subclasses :class:`~symusic.data.representation.Representation`), which registers it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from symusic.data import groove_windows as G
from symusic.data import midi_io
from symusic.data.extraction import MAX_BARS, FileExtraction
from symusic.data.melody import MAX_STEPS
from symusic.data.representation import REPRESENTATIONS, Note, Representation, Unpitched

if TYPE_CHECKING:
    import pretty_midi

    from symusic.data.settings import DataSettings


class GrooveRepresentation(Unpitched, Representation):
    """Magenta's groove: per 16th step and drum class a hit, a velocity (0..1) and an offset
    from the grid (-1..1 of half a step); no token vocabulary (``vocab_size`` is the 27
    numbers of a step, what a checkpoint records). Grooves do not transpose."""

    name = "groove"
    vocab_size = G.ITEM_SIZE
    no_event = 0
    steps_per_quarter = G.STEPS_PER_QUARTER
    steps_per_bar = G.STEPS_PER_BAR
    token_dtype = np.float32
    window_dtype = np.float32
    item_shape = (G.ITEM_SIZE,)
    keeps_empty_windows = False  # the converter gives nothing for a chunk without notes
    sequence_name = "drum track"
    row_labels = G.CLASS_NAMES
    row_pitches = G.OUTPUT_PITCHES
    reads_programs = False
    step_io_kind = "groove"
    input_settings = ("humanize", "tapify", "fixed_velocities", "magenta_feedback")

    def check_tokens(self, tokens: np.ndarray | Sequence) -> np.ndarray:
        """``tokens [..., 27]`` as ``float32``; ``ValueError`` for another last axis, a
        number that is not finite, or one outside its range (hits and velocities 0..1,
        offsets -1..1)."""
        array = np.asarray(tokens, dtype=np.float32)
        if array.ndim < 1 or array.shape[-1] != G.ITEM_SIZE:
            raise ValueError(f"a groove step is {G.ITEM_SIZE} numbers, got shape "
                             f"{list(array.shape)}")
        if not np.isfinite(array).all():
            raise ValueError("groove numbers must be finite")
        low = np.concatenate([np.zeros(2 * G.NUM_CLASSES), -np.ones(G.NUM_CLASSES)])
        if array.size and ((array < low - 1e-6).any() or (array > 1 + 1e-6).any()):
            raise ValueError("groove hits and velocities lie in 0..1, offsets in -1..1")
        return array

    def vocabulary(self) -> dict[str, Any]:
        """The grid, the classes' ``class_names`` and ``class_pitches``, and the layout of a
        step (``item_size``: hits, then velocities, then offsets)."""
        return {**super().vocabulary(), "class_names": list(G.CLASS_NAMES),
                "class_pitches": list(G.OUTPUT_PITCHES), "item_size": G.ITEM_SIZE}

    def onsets(self, tokens: np.ndarray) -> np.ndarray:
        """Steps with any hit: ``bool [..., T]`` for ``[..., T, 27]``."""
        return G.hits(tokens).any(axis=-1)

    def onset_pitches(self, window: np.ndarray) -> np.ndarray:
        """The output pitch of every hit, by step then class."""
        return np.array([p for p, _, _ in self.notes(window)], dtype=np.int64)

    def notes(self, window: np.ndarray) -> list[Note]:
        """Every hit as ``(output pitch, step, step + 1)`` (on the grid; the timing is in
        the offsets)."""
        steps, classes = np.nonzero(G.hits(self.check_tokens(window)))
        return [(G.OUTPUT_PITCHES[c], int(s), int(s) + 1)
                for s, c in zip(steps, classes, strict=True)]

    def extract(self, midi: pretty_midi.PrettyMIDI, settings: DataSettings,
                max_steps: int = MAX_STEPS, max_bars: int = MAX_BARS) -> FileExtraction:
        """One groove per 4/4 piece of ``midi`` (``float32 [16 * bars, 27]``), cut at
        ``max_steps`` steps (the converter reads a whole file: ``max_bars`` does not apply)."""
        return G.locate_grooves(midi, max_steps)

    def why_none(self, midi: pretty_midi.PrettyMIDI, settings: DataSettings) -> str:
        """E.g. ``no track on the drum channel`` (a melody file) or ``no 4/4 section``."""
        return G.why_no_groove(midi)

    def to_midi(self, windows: np.ndarray | Sequence[np.ndarray], tempo: float = 120.0,
                program: int = 0, gap_bars: int = 0,
                velocity: int = midi_io.DEFAULT_VELOCITY) -> pretty_midi.PrettyMIDI:
        """The drum channel, each hit at its offset from the grid with its own velocity
        (``program`` and ``velocity`` do not apply)."""
        return G.groove_to_midi(windows, tempo, gap_bars)


GROOVE = GrooveRepresentation()
REPRESENTATIONS[GROOVE.name] = GROOVE
