"""Magenta's own melody windows of a MIDI file, for the parity tests.

Everything that note-seq ships is called, not copied: ``midi_io.midi_file_to_note_sequence``,
``sequences_lib.split_note_sequence_on_time_changes`` and ``quantize_note_sequence``,
``melodies_lib.Melody`` (extraction, and the new ``Melody`` a slice builds). Two short pieces
of magenta itself, which note-seq does not ship, are restated below with a pointer to their
source; they call note-seq for all the work.

note-seq is a test-only dependency (``make install`` installs it without its audio and
notebook dependencies). Its package ``__init__`` imports those, so :func:`note_seq_modules`
imports the few modules needed without running it.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from pathlib import Path

SLICE_BARS = 2
STEPS_PER_QUARTER = 4
STEPS_PER_BAR = 16
MIN_PITCH, MAX_PITCH = 21, 108  # OneHotMelodyConverter's defaults (PIANO_MIN/MAX_MIDI_PITCH)
MEL_PROGRAMS = range(0, 32)  # magenta/models/music_vae/data.py MEL_PROGRAMS
MAX_BARS = 100  # cat-mel_2bar_big: OneHotMelodyConverter(max_bars=100, ...)


def note_seq_modules() -> types.SimpleNamespace:
    """``midi_io``, ``sequences_lib``, ``melodies_lib``, ``events_lib`` and ``constants`` of
    the installed note-seq, imported without note-seq's package ``__init__``."""
    if "note_seq" not in sys.modules:
        spec = importlib.util.find_spec("note_seq")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("note-seq is not installed: `make install` (or pip install "
                              "--no-deps note-seq==0.0.5) installs it for the parity tests")
        package = types.ModuleType("note_seq")
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules["note_seq"] = package
    names = ("midi_io", "sequences_lib", "melodies_lib", "events_lib", "constants")
    return types.SimpleNamespace(**{n: importlib.import_module(f"note_seq.{n}") for n in names})


ns = note_seq_modules()


def extract_melodies(quantized_sequence, max_steps_truncate: int) -> list:
    """magenta/pipelines/melody_pipelines.py ``extract_melodies`` as OneHotMelodyConverter
    calls it (``min_bars=1, gap_bars=1, min_unique_pitches=1,
    ignore_polyphonic_notes=True, pad_end=True, filter_drums=True``), statistics left out.

    Source: https://github.com/magenta/magenta/blob/main/magenta/pipelines/melody_pipelines.py
    """
    melodies = []
    instruments = set(n.instrument for n in quantized_sequence.notes)
    steps_per_bar = int(ns.sequences_lib.steps_per_bar_in_quantized_sequence(quantized_sequence))
    search_start_step = 0
    for instrument in instruments:
        instrument_search_start_step = search_start_step
        while True:
            melody = ns.melodies_lib.Melody()
            try:
                melody.from_quantized_sequence(
                    quantized_sequence, instrument=instrument,
                    search_start_step=instrument_search_start_step, gap_bars=1.0,
                    ignore_polyphonic_notes=True, pad_end=True, filter_drums=True)
            except ns.melodies_lib.PolyphonicMelodyError:
                break
            instrument_search_start_step = (
                melody.end_step + (search_start_step - melody.end_step) % steps_per_bar)
            if not melody:
                break
            if len(melody) < melody.steps_per_bar * 1:  # min_bars
                continue
            if len(melody) > max_steps_truncate:
                truncated_length = max_steps_truncate - max_steps_truncate % melody.steps_per_bar
                melody.set_length(truncated_length)
            if sum(1 for count in melody.get_note_histogram() if count) < 1:  # unique pitches
                continue
            melodies.append(melody)
    return melodies


def encode_event(event: int) -> int:
    """note-seq's ``MelodyOneHotEncoding(21, 109).encode_event``: our token of a Melody event."""
    if event == ns.constants.MELODY_NO_EVENT:
        return 0
    if event == ns.constants.MELODY_NOTE_OFF:
        return 1
    return event - MIN_PITCH + 2


def magenta_windows(path: str | Path, slice_bars: int = SLICE_BARS,
                    programs=MEL_PROGRAMS, max_bars: int = MAX_BARS) -> set[tuple[int, ...]]:
    """The distinct windows (token tuples) MusicVAE's melody converter makes of the file.

    magenta/models/music_vae/data.py, ``OneHotMelodyConverter(valid_programs=MEL_PROGRAMS,
    skip_polyphony=False, max_bars=100, slice_bars=2, steps_per_quarter=4,
    max_tensors_per_notesequence=None)``: ``split_process_and_combine`` splits on time
    changes; per piece ``_to_tensors_fn`` keeps valid programs and pitches, then
    ``LegacyEventListOneHotConverter.to_tensors`` quantises (skipping pieces whose bar is not
    16 steps), extracts melodies and slides a window over each, one bar at a time; a slice
    is a new ``Melody`` (leading note-offs cleared). No random subsampling.

    Source: https://github.com/magenta/magenta/blob/main/magenta/models/music_vae/data.py
    """
    sequence = ns.midi_io.midi_file_to_note_sequence(str(path))
    slice_steps = STEPS_PER_BAR * slice_bars
    windows: set[tuple[int, ...]] = set()
    for piece in ns.sequences_lib.split_note_sequence_on_time_changes(sequence):
        notes = [n for n in piece.notes
                 if n.program in programs and MIN_PITCH <= n.pitch <= MAX_PITCH]
        del piece.notes[:]
        piece.notes.extend(notes)
        try:
            quantized = ns.sequences_lib.quantize_note_sequence(piece, STEPS_PER_QUARTER)
            if ns.sequences_lib.steps_per_bar_in_quantized_sequence(quantized) != STEPS_PER_BAR:
                continue
        except (ns.sequences_lib.BadTimeSignatureError, ns.events_lib.NonIntegerStepsPerBarError,
                ns.sequences_lib.NegativeTimeError):
            continue
        for melody in extract_melodies(quantized, STEPS_PER_BAR * max_bars):
            for i in range(slice_steps, len(melody) + 1, STEPS_PER_BAR):
                windows.add(tuple(encode_event(e) for e in melody[i - slice_steps:i]))
    return windows
