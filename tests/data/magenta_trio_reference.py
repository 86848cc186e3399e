"""Magenta's own trio windows of a MIDI file, for the trio parity tests.

note-seq's code is called, not copied: ``midi_io.midi_file_to_note_sequence``,
``sequences_lib.split_note_sequence_on_time_changes`` and ``quantize_note_sequence``,
``melodies_lib.Melody``, ``drums_lib.DrumTrack`` and the one-hot encodings. What magenta
itself holds, and note-seq does not ship, is restated below with a pointer to its source:
``TrioConverter._to_tensors`` and the two sub-converters it builds
(``OneHotMelodyConverter`` and ``DrumsConverter`` with ``gap_bars=None``,
``pad_to_total_time=True``, ``presplit_on_time_changes=False``), which call note-seq for all
the work.

Source: https://github.com/magenta/magenta/blob/main/magenta/models/music_vae/data.py
(``class TrioConverter``, ``def _to_tensors``; ``class LegacyEventListOneHotConverter``,
``def _to_tensors`` for ``pad_to_total_time``; ``class DrumsConverter``, ``def _to_tensors``)
and magenta/models/music_vae/configs.py (``trio_16bar_converter = data.TrioConverter(
steps_per_quarter=4, slice_bars=16, gap_bars=2)``).
"""

from __future__ import annotations

import collections
import copy
import itertools
from pathlib import Path

import numpy as np
from magenta_drums_reference import CLASS_OF_PITCH, ONE_HOT, drums_lib
from magenta_reference import encode_event, ns

STEPS_PER_QUARTER, STEPS_PER_BAR = 4, 16
MIN_PITCH, MAX_PITCH = 21, 108
MEL_PROGRAMS, BASS_PROGRAMS = range(0, 32), range(32, 40)
MAX_INSTRUMENT_NUMBER = 127
UNK, MEL, BASS, DRUMS, INVALID = range(5)  # TrioConverter.InstrumentType
MAX_BARS = 1024  # TrioConverter's default
GAP_BARS = 2
PROGRAM_MAP = dict([(i, MEL) for i in MEL_PROGRAMS] + [(i, BASS) for i in BASS_PROGRAMS])


def _quantize(sequence):
    """The sub-converters' (and the trio's) quantisation: ``None`` where they give nothing."""
    try:
        quantized = ns.sequences_lib.quantize_note_sequence(sequence, STEPS_PER_QUARTER)
        if ns.sequences_lib.steps_per_bar_in_quantized_sequence(quantized) != STEPS_PER_BAR:
            return None
    except (ns.sequences_lib.BadTimeSignatureError, ns.events_lib.NonIntegerStepsPerBarError,
            ns.sequences_lib.NegativeTimeError):
        return None
    return quantized


def _extract_instrument(note_sequence, instrument):
    """data.py ``_extract_instrument``."""
    extracted = copy.deepcopy(note_sequence)
    del extracted.notes[:]
    extracted.notes.extend(n for n in note_sequence.notes if n.instrument == instrument)
    return extracted


def melody_tokens(note_sequence) -> list[int] | None:
    """``OneHotMelodyConverter(gap_bars=None, pad_to_total_time=True, valid_programs=None,
    max_bars=None)._to_tensors`` of one instrument: the padded melody's labels (the first,
    and with no gap the only, melody), ``None`` when it gives nothing."""
    notes = [n for n in note_sequence.notes if MIN_PITCH <= n.pitch <= MAX_PITCH]
    del note_sequence.notes[:]
    note_sequence.notes.extend(notes)
    quantized = _quantize(note_sequence)
    if quantized is None:
        return None
    # melody_pipelines.extract_melodies(min_bars=1, gap_bars=inf, min_unique_pitches=1,
    # ignore_polyphonic_notes=True, pad_end=True), statistics left out
    melodies = []
    search_start_step = 0
    for instrument in set(n.instrument for n in quantized.notes):
        instrument_search_start_step = search_start_step
        while True:
            melody = ns.melodies_lib.Melody()
            melody.from_quantized_sequence(
                quantized, instrument=instrument, search_start_step=instrument_search_start_step,
                gap_bars=float("inf"), ignore_polyphonic_notes=True, pad_end=True,
                filter_drums=True)
            instrument_search_start_step = (
                melody.end_step + (search_start_step - melody.end_step) % STEPS_PER_BAR)
            if not melody:
                break
            if len(melody) < melody.steps_per_bar:
                continue
            if sum(1 for count in melody.get_note_histogram() if count) < 1:
                continue
            melodies.append(melody)
    for melody in melodies:  # pad_to_total_time
        melody.set_length(len(melody) + melody.start_step, from_left=True)
        melody.set_length(quantized.total_quantized_steps)
    unique = list(set(tuple(m) for m in melodies))
    if not unique:
        return None
    return [encode_event(e) for e in unique[0]]


def drum_tokens(note_sequence) -> list[int] | None:
    """``DrumsConverter(gap_bars=None, pad_to_total_time=True)._to_tensors`` of one
    instrument: the padded track's one-hot labels, ``None`` when it gives nothing."""
    quantized = _quantize(note_sequence)
    if quantized is None:
        return None
    kept = []
    for note in quantized.notes:
        if not note.is_drum or note.pitch not in CLASS_OF_PITCH:
            continue
        mapped = type(note)()
        mapped.CopyFrom(note)
        mapped.pitch = CLASS_OF_PITCH[note.pitch]
        kept.append(mapped)
    del quantized.notes[:]
    quantized.notes.extend(kept)
    # drum_pipelines.extract_drum_tracks(min_bars=1, gap_bars=inf, pad_end=True)
    tracks = []
    search_start_step = 0
    while True:
        track = drums_lib.DrumTrack()
        track.from_quantized_sequence(quantized, search_start_step=search_start_step,
                                      gap_bars=float("inf"), pad_end=True)
        search_start_step = track.end_step + (search_start_step - track.end_step) % STEPS_PER_BAR
        if not track:
            break
        if len(track) < track.steps_per_bar:
            continue
        tracks.append(track)
    for track in tracks:  # pad_to_total_time
        track.set_length(len(track) + track.start_step, from_left=True)
        track.set_length(quantized.total_quantized_steps)
    unique = list(set(tuple(t) for t in tracks))
    if not unique:
        return None
    return [ONE_HOT.encode_event(e) for e in unique[0]]


def trio_piece_windows(note_sequence, slice_bars: int, gap_bars: int = GAP_BARS,
                       max_bars: int = MAX_BARS) -> list[tuple[tuple[int, int, int], ...]]:
    """``TrioConverter._to_tensors`` of one piece (no chords): its windows, in order, each
    a tuple of ``(melody, bass, drums)`` labels a step."""
    quantized = _quantize(note_sequence)
    if quantized is None:
        return []
    total_bars = int(np.ceil(quantized.total_quantized_steps / STEPS_PER_BAR))
    total_bars = min(total_bars, max_bars)
    instrument_type = np.zeros(MAX_INSTRUMENT_NUMBER + 1, np.uint8)
    coverage = np.zeros((total_bars, MAX_INSTRUMENT_NUMBER + 1), bool)
    for note in quantized.notes:
        i = note.instrument
        if i > MAX_INSTRUMENT_NUMBER:
            continue
        inferred_type = DRUMS if note.is_drum else PROGRAM_MAP.get(note.program, INVALID)
        if not instrument_type[i]:
            instrument_type[i] = inferred_type
        elif instrument_type[i] != inferred_type:
            instrument_type[i] = INVALID
        start_bar = note.quantized_start_step // STEPS_PER_BAR
        end_bar = int(np.ceil(note.quantized_end_step / STEPS_PER_BAR))
        if start_bar >= total_bars:
            continue
        coverage[start_bar:min(end_bar, total_bars), i] = True
    instruments_by_type = collections.defaultdict(list)
    for i, type_ in enumerate(instrument_type):
        if type_ not in (UNK, INVALID):
            instruments_by_type[type_].append(i)
    if len(instruments_by_type) < 3:
        return []
    note_sequence.total_time = (total_bars * STEPS_PER_BAR * 60
                                / note_sequence.tempos[0].qpm / STEPS_PER_QUARTER)
    encoded = {}
    for i in instruments_by_type[MEL] + instruments_by_type[BASS]:
        tokens = melody_tokens(_extract_instrument(note_sequence, i))
        if tokens is not None:
            encoded[i] = tokens
        else:
            coverage[:, i] = False
    for i in instruments_by_type[DRUMS]:
        tokens = drum_tokens(_extract_instrument(note_sequence, i))
        if tokens is not None:
            encoded[i] = tokens
        else:
            coverage[:, i] = False
    og_coverage = coverage.copy()
    for j in range(total_bars):
        coverage[j] = np.any(
            og_coverage[max(0, j - gap_bars):min(total_bars, j + gap_bars) + 1], axis=0)
    windows = []
    for grp in itertools.product(instruments_by_type[MEL], instruments_by_type[BASS],
                                 instruments_by_type[DRUMS]):
        grp_coverage = np.all(coverage[:, grp], axis=1)
        grp_coverage[:gap_bars] = np.any(coverage[:gap_bars, grp])
        grp_coverage[-gap_bars:] = np.any(coverage[-gap_bars:, grp])
        for j in range(total_bars - slice_bars + 1):
            if np.all(grp_coverage[j:j + slice_bars]) and all(i in encoded for i in grp):
                start, end = j * STEPS_PER_BAR, (j + slice_bars) * STEPS_PER_BAR
                windows.append(tuple(zip(*(encoded[i][start:end] for i in grp), strict=True)))
    return windows


def magenta_trio_windows(path: str | Path, slice_bars: int = 16, gap_bars: int = GAP_BARS,
                         max_bars: int = MAX_BARS) -> list[tuple[tuple[int, int, int], ...]]:
    """Every window the trio converter makes of the file, in its order (``to_tensors``
    splits on time changes and converts each piece; no random subsampling)."""
    sequence = ns.midi_io.midi_file_to_note_sequence(str(path))
    windows = []
    for piece in ns.sequences_lib.split_note_sequence_on_time_changes(sequence):
        windows.extend(trio_piece_windows(piece, slice_bars, gap_bars, max_bars))
    return windows
