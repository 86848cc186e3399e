"""Magenta's trios: a lead melody, a bass line and drums of a MIDI file, step by step together.

This restates MusicVAE's ``TrioConverter`` (``music_vae/data.py``, as ``hierdec-trio_16bar``
builds it: ``steps_per_quarter=4``, ``gap_bars=2``, ``max_bars=1024``) on pretty_midi's
numbers, with the melody and drum code the melody and drum representations use:

* the file is split at tempo and time-signature changes and each piece quantised on its own
  tempo (:mod:`symusic.data.magenta_grid`); pieces whose bar is not 16 steps are dropped;
* a piece has ``ceil(steps / 16)`` bars (at most ``max_bars``), ``steps`` its last quantised
  note end; every instrument with a note in the piece has a part: drums (the drum channel),
  melody (programs 0-31) or bass (32-39); others take no part (an instrument index above 127
  is left out, as the converter warns and skips it);
* an instrument *covers* every bar that one of its notes (any pitch) sounds in; a part is
  encoded from the piece's start as the melody and drum converters encode a whole track
  (no gap ends it: ``gap_bars=None``, padded to the piece's bars, ``pad_to_total_time``):
  melody and bass as 90-token melodies (pitches 21..108; a note still sounding where the
  music ends gets a ``NOTE_OFF`` there, as ``Melody.set_length`` writes it), drums as the
  512-token sets of the nine classes; an instrument whose encoding is empty covers nothing;
* coverage is widened by ``gap_bars`` bars either side; for every combination of one
  melody, one bass and one drum instrument (in instrument order) a bar counts when all
  three cover it, and the first and last ``gap_bars`` bars count when any of the three
  covers any of them;
* a window of ``slice_bars`` bars starts at every bar whose window is counted throughout:
  the concatenated parts' tokens, sliced as tensors (a window's leading ``NOTE_OFF`` stays).

Here the counted bars of each combination come out as runs (``[16 * bars, 3]`` uint16
tokens: melody, bass, drums), so windows of any length are the runs' windows. The converter
keeps at most five windows of a file, drawn at random (``max_tensors_per_notesequence``);
here every window is kept.

Out (:func:`trios_to_midi`), the three parts are three tracks: the lead (program 0), the bass
(program 33, the converter's electric bass) and the drums on the drum channel.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pretty_midi

from symusic.data import drum_tracks, magenta_grid, midi_io
from symusic.data.extraction import FileExtraction, LocatedMelody
from symusic.data.melody import in_range_notes, locate_melodies
from symusic.data.tokens import FIRST_PITCH_TOKEN, NO_EVENT, NOTE_OFF, STEPS_PER_BAR

PARTS: tuple[str, ...] = ("melody", "bass", "drums")
PART_SIZES: tuple[int, ...] = (90, 90, drum_tracks.VOCAB_SIZE)
MELODY, BASS, DRUMS = range(3)
MELODY_PROGRAMS = range(0, 32)  # music_vae/data.py MEL_PROGRAMS
BASS_PROGRAMS = range(32, 40)  # BASS_PROGRAMS
BASS_OUTPUT_PROGRAM = 33  # ELECTRIC_BASS_PROGRAM, what from_tensors writes the bass with
LEAD_OUTPUT_PROGRAM = 0
GAP_BARS = 2
MAX_BARS = 1024  # TrioConverter's default max_bars
MAX_INSTRUMENT = 127  # MAX_INSTRUMENT_NUMBER
TOKEN_DTYPE = np.uint16
NO_GAP = 1 << 62  # gap_bars=None: no silence ends a part

PART_LABELS = {MELODY: "melody (programs 0-31)", BASS: "bass (programs 32-39)",
               DRUMS: "drums (the drum channel)"}
NEVER_TOGETHER = "melody, bass and drums never play together"
NO_16_STEP_BARS = "no 4/4 section"


@dataclass(frozen=True)
class LocatedTrio(LocatedMelody):
    """A run of bars where one combination plays: ``instrument`` is its melody instrument,
    ``parts`` the (melody, bass, drums) instrument indices, ``melody`` the tokens
    ``uint16 [16 * bars, 3]``."""

    parts: tuple[int, int, int] = (0, 0, 0)


def part_of(instrument: pretty_midi.Instrument) -> int | None:
    """The part an instrument plays (``MELODY``, ``BASS``, ``DRUMS``) or ``None``."""
    if instrument.is_drum:
        return DRUMS
    if instrument.program in MELODY_PROGRAMS:
        return MELODY
    if instrument.program in BASS_PROGRAMS:
        return BASS
    return None


def _melody_part(instrument: pretty_midi.Instrument, piece: magenta_grid.Piece,
                 steps: int) -> np.ndarray | None:
    """The instrument's melody over the piece's first ``steps`` steps, or ``None`` if empty."""
    in_range = pretty_midi.Instrument(instrument.program, instrument.is_drum, instrument.name)
    in_range.notes = in_range_notes(instrument)
    rows = magenta_grid.quantize_piece(piece, *magenta_grid.instrument_times(in_range))
    found = locate_melodies(rows, gap_steps=NO_GAP, min_music=0)
    if not found:
        return None
    origin, melody = found[0]
    end = origin + len(melody)
    tokens = np.zeros(max(end + 1, steps), dtype=TOKEN_DTYPE)
    tokens[origin:end] = melody
    if end < steps:
        # Melody.set_length extending a melody: a note still sounding at its end stops there
        sounding = np.flatnonzero(melody != NO_EVENT)
        if len(sounding) and melody[sounding[-1]] >= FIRST_PITCH_TOKEN:
            tokens[end] = NOTE_OFF
    return tokens[:steps]


def _drum_part(instrument: pretty_midi.Instrument, piece: magenta_grid.Piece,
               steps: int) -> np.ndarray | None:
    """The instrument's drum tokens over the piece's first ``steps`` steps, or ``None``."""
    single = pretty_midi.PrettyMIDI()
    single.instruments.append(instrument)
    starts, ends, classes = drum_tracks._drum_hits(single)
    rows = magenta_grid.quantize_piece(piece, starts, ends, classes)
    if not len(rows):
        return None
    tokens = np.zeros(steps, dtype=np.int64)
    inside = rows[:, 0] < steps
    np.bitwise_or.at(tokens, rows[inside, 0], drum_tracks.BITS[rows[inside, 2]])
    return tokens.astype(TOKEN_DTYPE)


def piece_trios(midi: pretty_midi.PrettyMIDI, piece: magenta_grid.Piece,
                gap_bars: int = GAP_BARS, max_bars: int = MAX_BARS
                ) -> list[tuple[tuple[int, int, int], int, np.ndarray]]:
    """The counted runs of one piece: ``((melody, bass, drums) instruments, first bar,
    uint16 [16 * bars, 3])`` in the converter's order (combinations, then bars)."""
    quantized = {}
    for index, instrument in enumerate(midi.instruments):
        if index > MAX_INSTRUMENT:
            continue
        rows = magenta_grid.quantize_piece(piece, *magenta_grid.instrument_times(instrument))
        if len(rows):
            quantized[index] = rows
    if not quantized:
        return []
    total_steps = max(int(rows[:, 1].max()) for rows in quantized.values())
    total_bars = min(math.ceil(total_steps / STEPS_PER_BAR), max_bars)
    coverage = np.zeros((total_bars, MAX_INSTRUMENT + 1), dtype=bool)
    by_part: dict[int, list[int]] = {MELODY: [], BASS: [], DRUMS: []}
    for index, rows in quantized.items():
        part = part_of(midi.instruments[index])
        if part is not None:
            by_part[part].append(index)
        start_bar = rows[:, 0] // STEPS_PER_BAR
        end_bar = np.minimum(-(-rows[:, 1] // STEPS_PER_BAR), total_bars)
        for first, last in zip(start_bar, end_bar, strict=True):
            if first < total_bars:
                coverage[first:last, index] = True
    if not all(by_part.values()):
        return []
    steps = total_bars * STEPS_PER_BAR
    encoded = {}
    for part, indices in by_part.items():
        encode = _drum_part if part == DRUMS else _melody_part
        for index in indices:
            tokens = encode(midi.instruments[index], piece, steps)
            if tokens is None:
                coverage[:, index] = False
            else:
                encoded[index] = tokens
    widened = coverage.copy()
    for j in range(total_bars):
        widened[j] = np.any(coverage[max(0, j - gap_bars):min(total_bars, j + gap_bars) + 1],
                            axis=0)
    found = []
    for group in itertools.product(by_part[MELODY], by_part[BASS], by_part[DRUMS]):
        if not all(index in encoded for index in group):
            continue
        counted = np.all(widened[:, group], axis=1)
        counted[:gap_bars] = np.any(widened[:gap_bars, group])
        counted[-gap_bars:] = np.any(widened[-gap_bars:, group])
        tokens = np.stack([encoded[index] for index in group], axis=-1)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], counted.astype(np.int8), [0]])))
        for first, last in zip(edges[::2], edges[1::2], strict=True):
            found.append((group, int(first),
                          tokens[first * STEPS_PER_BAR:last * STEPS_PER_BAR].copy()))
    return found


def locate_trios(midi: pretty_midi.PrettyMIDI, max_bars: int = MAX_BARS,
                 gap_bars: int = GAP_BARS) -> FileExtraction:
    """Every counted run of ``midi`` (see the module docstring), as :class:`LocatedTrio`."""
    found = FileExtraction()
    for piece in magenta_grid.pieces(midi):
        if not piece.has_16_step_bars:
            continue
        for group, first_bar, tokens in piece_trios(midi, piece, gap_bars, max_bars):
            start = piece.start + first_bar * STEPS_PER_BAR / piece.steps_per_second
            found.melodies.append(LocatedTrio(group[MELODY], tokens, start, group))
    return found


def missing_parts(midi: pretty_midi.PrettyMIDI) -> list[int]:
    """The parts no instrument with notes plays, in part order."""
    present = {part_of(i) for i in midi.instruments if i.notes}
    return [part for part in range(3) if part not in present]


def describe_missing(parts: Sequence[int]) -> str:
    """E.g. ``no bass (programs 32-39)`` or ``no melody (programs 0-31) and no drums (...)``."""
    return " and ".join(f"no {PART_LABELS[p]}" for p in parts)


def why_no_trio(midi: pretty_midi.PrettyMIDI) -> str:
    """A short reason a readable file gave no trio (counted by the folder scan)."""
    if not any(i.notes for i in midi.instruments):
        return "no notes"
    missing = missing_parts(midi)
    if missing:
        return describe_missing(missing)
    if not any(p.has_16_step_bars for p in magenta_grid.pieces(midi)):
        return NO_16_STEP_BARS
    return NEVER_TOGETHER


def trios_to_midi(windows: np.ndarray | Sequence[np.ndarray], tempo: float = 120.0,
                  gap_bars: int = 0, velocity: int = drum_tracks.OUTPUT_VELOCITY
                  ) -> pretty_midi.PrettyMIDI:
    """Three tracks playing ``windows`` (``[T, 3]``, ``[N, T, 3]`` or a list of ``[T_i, 3]``)
    one after another, ``gap_bars`` apart: the lead (program 0), the bass (program 33) and
    the drums (channel 10), each as the melody and drum representations write them."""
    array = windows if not isinstance(windows, np.ndarray) or windows.ndim > 2 else [windows]
    parts = [[np.asarray(w)[:, p] for w in array] for p in range(3)]
    lead = midi_io.melodies_to_midi(parts[MELODY], tempo, LEAD_OUTPUT_PROGRAM, gap_bars,
                                    velocity)
    bass = midi_io.melodies_to_midi(parts[BASS], tempo, BASS_OUTPUT_PROGRAM, gap_bars, velocity)
    drums = drum_tracks.drums_to_midi(parts[DRUMS], tempo, gap_bars, velocity)
    for instrument, name in zip((lead.instruments[0], bass.instruments[0],
                                 drums.instruments[0]), ("lead", "bass", "drums"), strict=True):
        instrument.name = name
    lead.instruments.extend([bass.instruments[0], drums.instruments[0]])
    return lead
