"""Monophonic melodies from quantised notes, as Magenta's melody extractor, and their windows.

Given one instrument's notes on a 16th-note grid (``quantize_instrument`` counts steps on MIDI
ticks; ``symusic.data.magenta_grid`` counts them as note-seq does), the rules are Magenta's
``Melody.from_quantized_sequence`` / ``extract_melodies`` with ``ignore_polyphonic_notes``:

* notes are taken in onset order; of notes starting on the same step the highest pitch wins;
* a new onset ends the note before it; a note that ends before the next onset leaves a
  ``NOTE_OFF`` at its end step (none when it ends exactly where the next note starts);
* a note shorter than one step lasts one step;
* a silence of one bar (16 steps) or more after a note-off ends the melody; the next melody
  starts at the bar containing its first note;
* a melody array starts on a bar boundary (leading rest = ``NO_EVENT``) and is padded with
  ``NO_EVENT`` to whole bars; the last note gets a ``NOTE_OFF`` unless it ends on a bar line.

Windows of N bars start every bar of a melody. As in MusicVAE's converter, which builds a new
``Melody`` for each slice, ``NOTE_OFF`` tokens before a window's first onset become
``NO_EVENT``. Which file-level rules apply (the grid, the meters kept, the length limits) is
``symusic.data.extraction``'s business.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pretty_midi

from symusic.data.tokens import (
    FIRST_PITCH_TOKEN,
    MAX_PITCH,
    MIN_PITCH,
    NO_EVENT,
    NOTE_OFF,
    STEPS_PER_BAR,
    STEPS_PER_QUARTER,
    pitch_to_token,
)

DEFAULT_PROGRAMS = range(32)  # piano, chromatic percussion, organ, guitar (as Magenta)
GAP_STEPS = STEPS_PER_BAR  # a rest this long ends a melody
MAX_STEPS = 28_800  # one hour at 120 bpm: anything later in a file is cut


def describe_programs(programs: Iterable[int]) -> str:
    """General MIDI programs as compact ranges, e.g. ``0-31, 40, 73``."""
    values = sorted(set(programs))
    parts, i = [], 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        parts.append(str(values[i]) if i == j else f"{values[i]}-{values[j]}")
        i = j + 1
    return ", ".join(parts)


def parse_programs(text: str) -> list[int]:
    """``"0-31,40,73"`` -> the General MIDI programs it names; ``ValueError`` unless each is a
    program (0..127) or an ascending range of them."""
    programs: set[int] = set()
    for part in text.replace(" ", "").split(","):
        low, sep, high = part.partition("-")
        try:
            first, last = int(low), int(high if sep else low)
        except ValueError:
            raise ValueError(f"{part!r} is not a program (0-127) or a range like 0-31") from None
        if not 0 <= first <= last <= 127:
            raise ValueError(f"{part!r}: programs are 0..127, ranges ascending")
        programs.update(range(first, last + 1))
    return sorted(programs)


class NoMelodiesError(ValueError):
    """A folder (or file set) holds no usable melody, or no window of the asked length."""


def ticks_to_steps(ticks: int | np.ndarray, resolution: int) -> int | np.ndarray:
    """The 16th-note grid step of MIDI ``ticks`` at ``resolution`` ticks a quarter (nearest
    step, halves round up), in integers so no float rounding at the halves."""
    return (2 * STEPS_PER_QUARTER * ticks + resolution) // (2 * resolution)


def in_range_notes(instrument: pretty_midi.Instrument) -> list[pretty_midi.Note]:
    """The notes a melody may hold: sounding (velocity > 0), pitch 21..108."""
    return [n for n in instrument.notes if MIN_PITCH <= n.pitch <= MAX_PITCH and n.velocity > 0]


def quantize_instrument(midi: pretty_midi.PrettyMIDI, instrument: pretty_midi.Instrument,
                        max_steps: int = MAX_STEPS) -> np.ndarray:
    """The instrument's in-range notes as ``int64 [n, 3]`` rows ``(start_step, end_step, pitch)``.

    Steps are counted on MIDI ticks from time 0 (nearest step, halves round up); a note
    shorter than a step lasts one step; notes starting at or after ``max_steps`` are dropped
    and ends are cut there. Rows are sorted by start, then by pitch descending.
    """
    notes = in_range_notes(instrument)
    if not notes:
        return np.zeros((0, 3), dtype=np.int64)
    ticks = np.array([(midi.time_to_tick(n.start), midi.time_to_tick(n.end)) for n in notes],
                     dtype=np.int64)
    steps = ticks_to_steps(ticks, int(midi.resolution))
    steps[:, 1] = np.maximum(steps[:, 1], steps[:, 0] + 1)
    rows = np.column_stack([steps, [n.pitch for n in notes]])
    rows = rows[rows[:, 0] < max_steps]
    rows[:, 1] = np.minimum(rows[:, 1], max_steps)
    return rows[np.lexsort((-rows[:, 2], rows[:, 0]))]


def locate_melodies(notes: np.ndarray, gap_steps: int = GAP_STEPS, phase: int = 0,
                    min_music: int = STEPS_PER_BAR) -> list[tuple[int, np.ndarray]]:
    """Split sorted note rows into melodies, each with the step of its first bar.

    Returns ``(first step, uint8 tokens)`` pairs, each melody starting on a bar boundary and
    padded to whole bars. ``notes``: rows ``(start_step, end_step, pitch)`` sorted by start,
    then pitch descending.
    Bars start at the steps ``phase + 16 k``; a melody whose music (from its first bar line to
    its last note's end) is shorter than ``min_music`` steps is dropped (Magenta keeps all: 0).
    """
    melodies = []
    search_start = phase % STEPS_PER_BAR
    i, n = 0, len(notes)
    while i < n:
        while i < n and notes[i, 0] < search_start:
            i += 1
        if i == n:
            break
        first = int(notes[i, 0])
        origin = first - (first - search_start) % STEPS_PER_BAR
        buffer = np.zeros(int(notes[i:, 1].max()) - origin + 1, dtype=np.uint8)
        length = 0  # the melody is buffer[:length]; the last note's NOTE_OFF sits at length - 1
        last_on = -1
        while i < n:
            start, end, pitch = (int(v) for v in notes[i])
            start, end = start - origin, end - origin
            if length and start == last_on:  # same onset: the higher pitch came first
                i += 1
                continue
            if length and start - (length - 1) >= gap_steps:
                break
            if start > length:
                buffer[length:start] = NO_EVENT  # clear what a cut note left behind
            buffer[start] = pitch_to_token(pitch)
            buffer[start + 1:end] = NO_EVENT
            buffer[end] = NOTE_OFF
            length, last_on = end + 1, start
            i += 1
        end_of_music = length - 1  # the last NOTE_OFF is dropped unless padding follows it
        padded = -(-end_of_music // STEPS_PER_BAR) * STEPS_PER_BAR
        melody = np.zeros(padded, dtype=np.uint8)
        melody[:end_of_music] = buffer[:end_of_music]
        if padded > end_of_music:
            melody[end_of_music] = NOTE_OFF
        search_start = origin + padded
        if end_of_music >= max(min_music, 1):
            melodies.append((origin, melody))
    return melodies


def is_melodic(instrument: pretty_midi.Instrument, programs: Iterable[int]) -> bool:
    """Whether ``instrument`` may carry a melody: not drums, program in ``programs``."""
    return not instrument.is_drum and instrument.program in programs


def clear_leading_note_offs(windows: np.ndarray) -> np.ndarray:
    """``windows`` (``[..., T]``) with every ``NOTE_OFF`` before the first onset made
    ``NO_EVENT``, as a new ``Melody`` in note-seq does; a copy, same dtype."""
    windows = np.array(windows, copy=True)
    onset = windows >= FIRST_PITCH_TOKEN
    before_first = np.cumsum(onset, axis=-1) == 0
    windows[before_first & (windows == NOTE_OFF)] = NO_EVENT
    return windows


def unique_window_index(tokens: np.ndarray, melody_offsets: np.ndarray,
                        melody_groups: np.ndarray, n_bars: int, keep_empty: bool = False,
                        chunk_rows: int = 1 << 16, as_windows=None, onsets=None) -> np.ndarray:
    """Every distinct ``n_bars``-bar window of concatenated melodies.

    ``tokens``: melodies one after another; melody ``m`` is
    ``tokens[melody_offsets[m]:melody_offsets[m + 1]]`` (``[M + 1]`` offsets);
    ``melody_groups`` (``[M]``, non-decreasing, e.g. the file of each melody): windows are
    deduplicated within a group, compared after :func:`clear_leading_note_offs` (or another
    representation's ``as_windows(rows)``). Windows start every bar; without ``keep_empty``
    only those with an onset count (melody onsets, or ``onsets(rows) -> bool``). Returns
    ``int64 [N, 2]`` rows ``(melody, start step)`` in melody order, first occurrences only.
    """
    length = n_bars * STEPS_PER_BAR
    lengths = np.diff(np.asarray(melody_offsets, dtype=np.int64))
    counts = np.maximum((lengths - length) // STEPS_PER_BAR + 1, 0)
    melody = np.repeat(np.arange(len(lengths), dtype=np.int64), counts)
    starts = (np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts))
    starts *= STEPS_PER_BAR
    groups = np.asarray(melody_groups, dtype=np.int64)[melody]
    # chunks of about ``chunk_rows`` windows that never split a group
    edges = np.concatenate([[0], np.flatnonzero(np.diff(groups)) + 1, [len(groups)]])
    kept = []
    low = 0
    while low < len(groups):
        high = edges[np.searchsorted(edges, low + chunk_rows, side="right") - 1]
        if high <= low:
            high = edges[np.searchsorted(edges, low, side="right")]
        offsets = np.asarray(melody_offsets)[melody[low:high]] + starts[low:high]
        rows = tokens[offsets[:, None] + np.arange(length)]
        rows = (as_windows or clear_leading_note_offs)(rows)
        onset = onsets(rows) if onsets is not None else rows >= FIRST_PITCH_TOKEN
        candidates = np.arange(len(rows)) if keep_empty else np.flatnonzero(onset.any(axis=1))
        group_bytes = groups[low:high, None].astype(">i8").view(np.uint8)
        keys = np.ascontiguousarray(np.hstack([group_bytes, rows.reshape(len(rows), -1)])
                                    [candidates])
        keys = keys.view(np.dtype((np.void, keys.shape[1] * keys.itemsize))).ravel()
        _, first = np.unique(keys, return_index=True)
        kept.append(low + np.sort(candidates[first]))
        low = high
    keep = np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)
    return np.column_stack([melody[keep], starts[keep]]).astype(np.int64)


def slice_windows(melody: np.ndarray, n_bars: int, keep_empty: bool = False) -> np.ndarray:
    """The distinct ``n_bars``-bar windows of ``melody``, stride one bar, leading note-offs
    cleared; without ``keep_empty`` only those with an onset.

    Returns ``uint8 [n, n_bars * 16]`` (``n`` may be 0), in order of first occurrence.
    """
    length = n_bars * STEPS_PER_BAR
    melody = np.asarray(melody, dtype=np.uint8)
    index = unique_window_index(melody, np.array([0, len(melody)]), np.zeros(1), n_bars,
                                keep_empty)
    if not len(index):
        return np.zeros((0, length), dtype=np.uint8)
    return clear_leading_note_offs(np.stack([melody[s:s + length] for s in index[:, 1]]))
