"""Every melody of a MIDI file, by one of two extractions (see ``symusic.data.settings``).

* ``magenta``: Magenta's MusicVAE melody converter (``OneHotMelodyConverter`` with the
  ``cat-mel_2bar_big`` settings: programs 0..31, pitches 21..108, gap 1 bar, ``max_bars`` 100):
  the file is split into pieces at tempo and time-signature changes, pieces whose bar is not
  16 steps are dropped, each piece is quantised on its own tempo
  (``symusic.data.magenta_grid``), every melody of any length is kept and cut at ``max_bars``.
* ``any_meter``: one grid on the file's ticks (``ticks_per_beat / 4`` ticks a step, halves
  rounded up), so tempo changes never bend it and music in any meter is cut into 16-step
  chunks. After a time-signature change into a meter of 16-step bars (4/4, 2/2), the chunks
  start on that section's first bar line (a melody never runs across such a change); melodies
  need a bar of music; music after ``max_steps`` steps is cut.

Both drop drum tracks, tracks whose program is not in ``programs`` and notes outside 21..108.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pretty_midi

from symusic.data import magenta_grid
from symusic.data.melody import (
    DEFAULT_PROGRAMS,
    MAX_STEPS,
    in_range_notes,
    is_melodic,
    locate_melodies,
    quantize_instrument,
    ticks_to_steps,
)
from symusic.data.settings import DEFAULT_EXTRACTION, check_extraction
from symusic.data.tokens import MAX_PITCH, MIN_PITCH, STEPS_PER_BAR, STEPS_PER_QUARTER

MAX_BARS = 100  # magenta: each melody is cut to this many bars before slicing (Magenta's max_bars)
NO_MELODIC_PROGRAM = "no melodic program"  # a skip reason: only instruments outside ``programs``
NO_16_STEP_BARS = "no 4/4 section"  # a skip reason under magenta: every piece in another meter


@dataclass(frozen=True)
class LocatedMelody:
    """One melody: the instrument it comes from (index in ``midi.instruments``), its tokens
    (``uint8 [16 * bars]``) and the time in seconds of its first step."""

    instrument: int
    melody: np.ndarray
    start: float


@dataclass
class FileExtraction:
    """The melodies of a file in instrument order; ``cut`` when a length limit cut music."""

    melodies: list[LocatedMelody] = field(default_factory=list)
    cut: bool = False


def locate_file_melodies(midi: pretty_midi.PrettyMIDI, extraction: str = DEFAULT_EXTRACTION,
                         programs: Iterable[int] = DEFAULT_PROGRAMS, max_steps: int = MAX_STEPS,
                         max_bars: int = MAX_BARS) -> FileExtraction:
    """Every melody of ``midi`` by ``extraction`` (``"magenta"`` or ``"any_meter"``).

    ``programs``: the General MIDI programs that count as melodic; ``max_bars`` applies to
    ``magenta``, ``max_steps`` to ``any_meter``.
    """
    check_extraction(extraction)
    programs = set(programs)
    chosen = [(i, inst) for i, inst in enumerate(midi.instruments)
              if is_melodic(inst, programs)]
    if extraction == "magenta":
        return _magenta_melodies(midi, chosen, max_bars)
    return _any_meter_melodies(midi, chosen, max_steps)


def extract_melodies(midi: pretty_midi.PrettyMIDI, programs: Iterable[int] = DEFAULT_PROGRAMS,
                     max_steps: int = MAX_STEPS, extraction: str = DEFAULT_EXTRACTION,
                     max_bars: int = MAX_BARS) -> list[np.ndarray]:
    """The token arrays of :func:`locate_file_melodies`, in instrument order."""
    found = locate_file_melodies(midi, extraction, programs, max_steps, max_bars)
    return [located.melody for located in found.melodies]


def _in_range(instrument: pretty_midi.Instrument) -> pretty_midi.Instrument:
    """A copy holding only the notes MusicVAE's converter keeps (pitch 21..108, sounding)."""
    kept = pretty_midi.Instrument(instrument.program, instrument.is_drum, instrument.name)
    kept.notes = in_range_notes(instrument)
    return kept


def _magenta_melodies(midi: pretty_midi.PrettyMIDI, chosen, max_bars: int) -> FileExtraction:
    kept_pieces = [p for p in magenta_grid.pieces(midi) if p.has_16_step_bars]
    piece_starts = np.array([p.start for p in kept_pieces])
    piece_ends = np.array([p.end for p in kept_pieces])
    limit = max_bars * STEPS_PER_BAR
    found = FileExtraction()
    if not kept_pieces:
        return found
    for index, instrument in chosen:
        times = magenta_grid.instrument_times(_in_range(instrument))
        # only the pieces where one of its notes starts: linear in notes plus pieces, where
        # every piece for every track took 49 s on a dense tempo map of many tracks
        holder = np.searchsorted(piece_starts, times[0], side="right") - 1
        inside = (holder >= 0) & (times[0] < piece_ends[np.maximum(holder, 0)])
        for k in np.unique(holder[inside]):
            piece = kept_pieces[k]
            rows = magenta_grid.quantize_piece(piece, *times)
            for origin, melody in locate_melodies(rows, min_music=0):
                if len(melody) > limit:
                    melody, found.cut = melody[:limit], True
                start = piece.start + origin / piece.steps_per_second
                found.melodies.append(LocatedMelody(index, melody, start))
    return found


def meter_sections(midi: pretty_midi.PrettyMIDI) -> list[tuple[int, int]]:
    """``any_meter``'s sections: ``(first step, bar phase)``, the first ``(0, 0)``.

    A new section starts where the time signature changes into a meter of 16-step bars
    (numerator = denominator) whose first bar line is not on the current 16-step grid; its
    bars start at steps ``phase + 16 k``. Changes into other meters keep the current grid.
    """
    sections = [(0, 0)]
    meter = (4, 4)
    for ts in midi.time_signature_changes:
        if (ts.numerator, ts.denominator) == meter:
            continue
        meter = (ts.numerator, ts.denominator)
        if ts.numerator != ts.denominator:
            continue
        step = ticks_to_steps(midi.time_to_tick(ts.time), midi.resolution)
        phase = step % STEPS_PER_BAR
        if phase == sections[-1][1]:
            continue
        if sections[-1][0] >= step:
            sections[-1] = (sections[-1][0], phase)
        else:
            sections.append((step, phase))
    return sections


def _any_meter_melodies(midi: pretty_midi.PrettyMIDI, chosen, max_steps: int) -> FileExtraction:
    sections = meter_sections(midi)
    bounds = [start for start, _ in sections[1:]] + [max_steps]
    found = FileExtraction()
    for index, instrument in chosen:
        notes = quantize_instrument(midi, instrument, max_steps)
        for (first, phase), end in zip(sections, bounds, strict=True):
            rows = notes[(notes[:, 0] >= first) & (notes[:, 0] < end)]
            rows[:, 1] = np.minimum(rows[:, 1], end)
            for origin, melody in locate_melodies(rows, phase=phase):
                tick = round(origin * midi.resolution / STEPS_PER_QUARTER)
                found.melodies.append(LocatedMelody(index, melody, float(midi.tick_to_time(tick))))
    last_end = max((n.end for i in midi.instruments for n in i.notes), default=0.0)
    found.cut = midi.time_to_tick(last_end) * STEPS_PER_QUARTER / midi.resolution > max_steps
    return found


def bar_of_times(midi: pretty_midi.PrettyMIDI, times: Iterable[float]) -> list[int]:
    """The file's bar (0 = its first, as a DAW counts from 1) holding each time in seconds.

    Bars follow the time signatures on the file's ticks (4/4 until the first); a time
    signature change starts a new bar. A time within a tick of a bar line counts in that bar.
    """
    resolution = midi.resolution
    signatures = [(midi.time_to_tick(ts.time), ts.numerator, ts.denominator)
                  for ts in midi.time_signature_changes]
    if not signatures or signatures[0][0] > 0:
        signatures.insert(0, (0, 4, 4))
    starts, bars_before, bar_ticks = [], [], []
    bars = 0
    for k, (tick, numerator, denominator) in enumerate(signatures):
        length = numerator * 4 * resolution / denominator
        starts.append(tick)
        bars_before.append(bars)
        bar_ticks.append(length)
        if k + 1 < len(signatures):
            bars += math.ceil((signatures[k + 1][0] - tick - 1) / length) if length else 0
    labels = []
    for time in times:
        tick = midi.time_to_tick(time)
        k = int(np.searchsorted(starts, tick, side="right")) - 1
        labels.append(bars_before[k] + int((tick - starts[k] + 1) // bar_ticks[k]))
    return labels


def why_no_melody(midi: pretty_midi.PrettyMIDI, programs: Iterable[int],
                  extraction: str = DEFAULT_EXTRACTION) -> str:
    """A short reason a readable file gave no melody (counted by the folder scan)."""
    with_notes = [i for i in midi.instruments if i.notes]
    if not with_notes:
        return "no notes"
    if all(i.is_drum for i in with_notes):
        return "drums only"
    programs = set(programs)
    melodic = [i for i in with_notes if is_melodic(i, programs)]
    if not melodic:
        return NO_MELODIC_PROGRAM
    if not any(MIN_PITCH <= n.pitch <= MAX_PITCH for i in melodic for n in i.notes):
        return f"no note in {MIN_PITCH}..{MAX_PITCH}"
    if extraction == "magenta":
        return NO_16_STEP_BARS
    return f"no melody of a bar or more in {MIN_PITCH}..{MAX_PITCH}"
