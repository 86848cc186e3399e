"""Magenta's 16th-note grid: a file split at tempo and time-signature changes, each piece
quantised on its own tempo, as note-seq does before MusicVAE's melody converter reads it.

This restates, on pretty_midi's own numbers (the ones note-seq's ``midi_to_note_sequence``
copies), what ``note_seq.sequences_lib`` does for ``OneHotMelodyConverter``:

* ``split_note_sequence_on_time_changes``: the file is cut at every time-signature or tempo
  event (before the last note's end) that changes the current value, except at a time already
  cut; pieces run to the last note's end;
* ``_extract_subsequences``: a piece holds the notes starting in it, their ends cut at the piece's
  end, times counted from its start; its time signature and tempo are the last ones at or before
  its start (4/4 and 120 qpm when none);
* ``quantize_note_sequence``: a time becomes step ``int(seconds * steps_per_second + 0.5)``
  with ``steps_per_second = 4 * qpm / 60``, in floating point; a note of no steps lasts one;
* the converter drops every piece whose bar is not 16 steps (numerator equal to a power-of-two
  denominator: 4/4, 2/2, ...).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np
import pretty_midi

from symusic.data.tokens import STEPS_PER_BAR, STEPS_PER_QUARTER

DEFAULT_QPM = 120.0


@dataclass(frozen=True)
class Piece:
    """A stretch of the file with one time signature and one tempo: ``[start, end)`` seconds."""

    start: float
    end: float
    numerator: int
    denominator: int
    qpm: float

    @property
    def steps_per_second(self) -> float:
        """note-seq's ``steps_per_quarter_to_steps_per_second`` (same float operations)."""
        return STEPS_PER_QUARTER * self.qpm / 60.0

    @property
    def has_16_step_bars(self) -> bool:
        """Whether note-seq quantises this piece and MusicVAE's converter keeps it."""
        power_of_two = self.denominator > 0 and self.denominator & (self.denominator - 1) == 0
        if not power_of_two or self.numerator == 0:
            return False  # note-seq raises BadTimeSignatureError; the converter skips the piece
        quarters_per_bar = 4.0 / self.denominator * self.numerator
        return STEPS_PER_QUARTER * quarters_per_bar == STEPS_PER_BAR


def total_time(midi: pretty_midi.PrettyMIDI) -> float:
    """note-seq's ``total_time``: the latest note end of every instrument (0 without notes)."""
    return max((note.end for instrument in midi.instruments for note in instrument.notes),
               default=0.0)


def split_times(midi: pretty_midi.PrettyMIDI, end: float) -> list[float]:
    """The piece boundaries of ``split_note_sequence_on_time_changes`` (``[]``: no piece)."""
    signatures = [(ts.time, (ts.numerator, ts.denominator)) for ts in midi.time_signature_changes]
    tempo_times, tempi = midi.get_tempo_changes()
    tempos = [(float(t), float(q)) for t, q in zip(tempo_times, tempi, strict=True)]
    # one stable sort of signatures then tempos, as note-seq concatenates and sorts them
    changes = sorted([(t, "ts", v) for t, v in signatures] + [(t, "qpm", v) for t, v in tempos],
                     key=lambda change: change[0])
    meter, qpm = (4, 4), DEFAULT_QPM
    cuts = [0.0]
    for time, kind, value in changes:
        if time >= end:
            continue
        if (kind == "ts" and value == meter) or (kind == "qpm" and value == qpm):
            continue
        if time > cuts[-1]:
            cuts.append(time)
        if kind == "ts":
            meter = value
        else:
            qpm = value
    if end > cuts[-1]:
        cuts.append(end)
    return cuts if len(cuts) > 1 else []


def _state_at(times: list[float], values: list, time: float, default: object) -> object:
    """The value of the last event (``times`` sorted, ties in list order) at or before ``time``."""
    i = bisect.bisect_right(times, time)
    return values[i - 1] if i else default


def pieces(midi: pretty_midi.PrettyMIDI) -> list[Piece]:
    """Every piece of ``midi`` in time order (including those the converter drops)."""
    cuts = split_times(midi, total_time(midi))
    signatures = sorted(((ts.time, (ts.numerator, ts.denominator))
                         for ts in midi.time_signature_changes), key=lambda e: e[0])
    tempo_times, tempi = midi.get_tempo_changes()
    tempos = sorted(((float(t), float(q)) for t, q in zip(tempo_times, tempi, strict=True)),
                    key=lambda e: e[0])
    signature_times, meters = [t for t, _ in signatures], [v for _, v in signatures]
    times, qpms = [t for t, _ in tempos], [q for _, q in tempos]
    found = []
    for start, end in zip(cuts[:-1], cuts[1:], strict=True):
        numerator, denominator = _state_at(signature_times, meters, start, (4, 4))
        # with no tempo at or before the start, note-seq keeps the first one inside the piece
        first_inside = bisect.bisect_right(times, start)
        inside = qpms[first_inside] if first_inside < len(times) and times[first_inside] < end \
            else DEFAULT_QPM
        found.append(Piece(start, end, numerator, denominator,
                           _state_at(times, qpms, start, inside)))
    return found


def instrument_times(instrument: pretty_midi.Instrument) -> tuple[np.ndarray, np.ndarray,
                                                                  np.ndarray]:
    """``(starts, ends, pitches)`` of an instrument's notes in note-seq's order: sorted by
    start time, ties in pretty_midi's order (float64, float64, int64 arrays)."""
    starts = np.array([n.start for n in instrument.notes], dtype=np.float64)
    ends = np.array([n.end for n in instrument.notes], dtype=np.float64)
    pitches = np.array([n.pitch for n in instrument.notes], dtype=np.int64)
    order = np.argsort(starts, kind="stable")
    return starts[order], ends[order], pitches[order]


def quantize_piece(piece: Piece, starts: np.ndarray, ends: np.ndarray,
                   pitches: np.ndarray) -> np.ndarray:
    """The notes (see :func:`instrument_times`: sorted by start) starting in ``piece``,
    quantised on its grid.

    Returns ``int64 [n, 3]`` rows ``(start_step, end_step, pitch)`` from the piece's start,
    in the order of note-seq's ``Melody.from_quantized_sequence``: by start step, then pitch
    descending, ties in start-time order.
    """
    inside = slice(*np.searchsorted(starts, [piece.start, piece.end], side="left"))
    if inside.start == inside.stop:
        return np.zeros((0, 3), dtype=np.int64)
    sps = piece.steps_per_second
    start_s = starts[inside] - piece.start
    end_s = np.minimum(ends[inside], piece.end) - piece.start
    first = (start_s * sps + 0.5).astype(np.int64)  # int() of a non-negative float
    last = (end_s * sps + 0.5).astype(np.int64)
    last = np.where(last == first, last + 1, last)
    pitch = pitches[inside]
    order = np.lexsort((-pitch, first))  # stable: ties keep the start-time order
    return np.column_stack([first, last, pitch])[order]
