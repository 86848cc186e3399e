"""The ``trio`` representation: Magenta's melody, bass and drums behind the seam.

A step is three tokens, one a part (:mod:`symusic.data.trio_tracks`, after MusicVAE's
``TrioConverter``): the lead's and the bass's 90-token melody tokens and the drums' 512-token
class sets; a window of ``bars`` bars is ``int [16 * bars, 3]``. The model reads and writes it
through the ``trio`` step head (``symusic.musicvae.model.trio_io``).

Imported by :func:`symusic.data.representation.get_representation` on first use (it
subclasses :class:`~symusic.data.representation.Representation`), which registers it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from symusic.data import drum_tracks, midi_io
from symusic.data import tokens as melody_tokens
from symusic.data import trio_tracks as T
from symusic.data.extraction import MAX_BARS, FileExtraction
from symusic.data.melody import MAX_STEPS
from symusic.data.representation import DRUMS, MELODY, REPRESENTATIONS, Note, Representation

if TYPE_CHECKING:
    import pretty_midi

    from symusic.data.settings import DataSettings

PART_REPRESENTATIONS: tuple[Representation, ...] = (MELODY, MELODY, DRUMS)


class TrioRepresentation(Representation):
    """Magenta's trio: per 16th step a lead token (0..89), a bass token (0..89) and a drum
    token (0..511). ``vocab_size`` is the three vocabularies together (692, what Magenta's
    one-hot concatenation is wide and what a checkpoint records). The lead and the bass
    transpose together; the drums never move. Windows keep their leading ``NOTE_OFF``s, as
    the converter slices tensors rather than melodies."""

    name = "trio"
    part_names = T.PARTS
    part_representations = PART_REPRESENTATIONS  # what each part's tokens are
    part_sizes = T.PART_SIZES
    vocab_size = sum(T.PART_SIZES)
    no_event = 0
    token_dtype = T.TOKEN_DTYPE
    item_shape = (3,)
    sequence_name = "trio"
    reads_programs = False
    step_io_kind = "trio"

    def check_tokens(self, tokens: np.ndarray | Sequence) -> np.ndarray:
        """``tokens [..., 3]`` as ``int64``; ``ValueError`` for another last axis or a token
        outside its part's vocabulary."""
        array = np.asarray(tokens)
        if array.ndim < 1 or array.shape[-1] != 3:
            raise ValueError(f"a trio step is 3 tokens (melody, bass, drums), got shape "
                             f"{list(array.shape)}")
        if array.size and not np.issubdtype(array.dtype, np.integer):
            if not np.array_equal(array, np.round(array)):
                raise ValueError("trio tokens must be whole numbers")
        array = array.astype(np.int64)
        for part, size in enumerate(T.PART_SIZES):
            column = array[..., part]
            if column.size and (column.min() < 0 or column.max() >= size):
                raise ValueError(f"{T.PARTS[part]} tokens must lie in 0..{size - 1}")
        return array

    def vocabulary(self) -> dict[str, Any]:
        """The base meanings plus the parts (``part_names``, ``part_sizes``), the melody
        tokens' ``note_off``, ``first_pitch_token`` and ``min_pitch``, and the drum classes'
        ``class_names`` and ``class_pitches``."""
        return {**super().vocabulary(), "part_names": list(T.PARTS),
                "part_sizes": list(T.PART_SIZES), "note_off": melody_tokens.NOTE_OFF,
                "first_pitch_token": melody_tokens.FIRST_PITCH_TOKEN,
                "min_pitch": melody_tokens.MIN_PITCH,
                "class_names": list(drum_tracks.CLASS_NAMES),
                "class_pitches": list(drum_tracks.OUTPUT_PITCHES)}

    def part_onsets(self, tokens: np.ndarray) -> np.ndarray:
        """Which steps start a note in each part: ``bool [..., T, 3]`` for ``[..., T, 3]``."""
        tokens = np.asarray(tokens)
        return np.stack([rep.onsets(tokens[..., p])
                         for p, rep in enumerate(PART_REPRESENTATIONS)], axis=-1)

    def onsets(self, tokens: np.ndarray) -> np.ndarray:
        """Steps where any part starts a note: ``bool [..., T]``."""
        return self.part_onsets(tokens).any(axis=-1)

    def part_notes(self, window: np.ndarray) -> list[list[Note]]:
        """The notes of each part of one window ``[T, 3]``: the lead's and the bass's
        ``(pitch, start, end)``, the drums' hits ``(output pitch, step, step + 1)``."""
        window = self.check_tokens(window)
        return [rep.notes(window[:, p]) for p, rep in enumerate(PART_REPRESENTATIONS)]

    def notes(self, window: np.ndarray) -> list[Note]:
        """The pitched notes (lead, then bass) of one window ``[T, 3]``."""
        lead, bass, _ = self.part_notes(window)
        return lead + bass

    def onset_pitches(self, window: np.ndarray) -> np.ndarray:
        """The pitches of the lead's onsets, in order (the line metrics compare)."""
        return MELODY.onset_pitches(np.asarray(window)[:, T.MELODY])

    def pitch_bounds(self, windows: np.ndarray) -> np.ndarray:
        """Lowest and highest pitch of the lead and bass of each window ``[N, T, 3]``."""
        windows = np.asarray(windows)
        lead = MELODY.pitch_bounds(windows[..., T.MELODY])
        bass = MELODY.pitch_bounds(windows[..., T.BASS])
        return np.column_stack([np.minimum(lead[:, 0], bass[:, 0]),
                                np.maximum(lead[:, 1], bass[:, 1])])

    def shift_bounds(self, low_pitch: int | np.ndarray, high_pitch: int | np.ndarray,
                     ) -> tuple[int | np.ndarray, int | np.ndarray]:
        """Shifts that keep the lead and the bass inside 21..108."""
        return MELODY.shift_bounds(low_pitch, high_pitch)

    def transpose(self, window: np.ndarray, shift: int) -> np.ndarray:
        """The lead and the bass move ``shift`` semitones together (clamped to keep both in
        range); the drums stay."""
        window = np.asarray(window)
        if not shift:
            return window.copy()
        (low, high), = self.pitch_bounds(window[None]).tolist()
        shift = int(np.clip(shift, *self.shift_bounds(low, high)))
        moved = window.copy()
        for part in (T.MELODY, T.BASS):
            moved[:, part] = MELODY.transpose(window[:, part], shift)
        return moved

    def extract(self, midi: pretty_midi.PrettyMIDI, settings: DataSettings,
                max_steps: int = MAX_STEPS, max_bars: int = MAX_BARS) -> FileExtraction:
        """Every run of bars where a melody, a bass and a drum track play together
        (``uint16 [16 * bars, 3]`` each); the converter's own ``max_bars`` (1024) applies, and
        ``programs`` do not (the parts' programs are fixed)."""
        return T.locate_trios(midi)

    def why_none(self, midi: pretty_midi.PrettyMIDI, settings: DataSettings) -> str:
        """E.g. ``no bass (programs 32-39)`` or ``no 4/4 section``."""
        return T.why_no_trio(midi)

    def to_midi(self, windows: np.ndarray | Sequence[np.ndarray], tempo: float = 120.0,
                program: int = 0, gap_bars: int = 0,
                velocity: int = midi_io.DEFAULT_VELOCITY) -> pretty_midi.PrettyMIDI:
        """Three tracks: the lead (program 0), the bass (program 33) and the drums on the
        drum channel (``program`` does not apply)."""
        return T.trios_to_midi(windows, tempo, gap_bars, velocity)


TRIO = TrioRepresentation()
REPRESENTATIONS[TRIO.name] = TRIO
