"""Magenta's own drum windows of a MIDI file, for the drum parity tests.

note-seq's code is called, not copied: ``midi_io.midi_file_to_note_sequence``,
``sequences_lib.split_note_sequence_on_time_changes`` and ``quantize_note_sequence``,
``drums_lib.DrumTrack`` (extraction and ``to_sequence``), ``drums_encoder_decoder``
(``DEFAULT_DRUM_TYPE_PITCHES``, ``MultiDrumOneHotEncoding``) and
``pianoroll_encoder_decoder.PianorollEncoderDecoder`` (the roll input). Two short pieces of
magenta itself, which note-seq does not ship, are restated below with a pointer to their
source; they call note-seq for all the work.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from magenta_reference import note_seq_modules

ns = note_seq_modules()
drums_lib = importlib.import_module("note_seq.drums_lib")
drums_encoding = importlib.import_module("note_seq.drums_encoder_decoder")
pianoroll_encoding = importlib.import_module("note_seq.pianoroll_encoder_decoder")

STEPS_PER_QUARTER, STEPS_PER_BAR = 4, 16
MAX_BARS = 100  # cat-drums_2bar_small: DrumsConverter(max_bars=100, slice_bars=2, ...)
OUTPUT_VELOCITY = 80  # music_vae/data.py OUTPUT_VELOCITY
PITCH_CLASSES = drums_encoding.DEFAULT_DRUM_TYPE_PITCHES  # REDUCED_DRUM_PITCH_CLASSES
CLASS_OF_PITCH = {p: i for i, pitches in enumerate(PITCH_CLASSES) for p in pitches}
# the converter's encodings: classes are already mapped, so each "pitch" is its class
ONE_HOT = drums_encoding.MultiDrumOneHotEncoding(
    drum_type_pitches=[(i,) for i in range(len(PITCH_CLASSES))])
ROLL = pianoroll_encoding.PianorollEncoderDecoder(input_size=len(PITCH_CLASSES))


def extract_drum_tracks(quantized_sequence, max_steps_truncate: int) -> list:
    """magenta/pipelines/drum_pipelines.py ``extract_drum_tracks`` as DrumsConverter calls it
    (``min_bars=1, gap_bars=1, pad_end=True``), statistics left out.

    Source: https://github.com/magenta/magenta/blob/main/magenta/pipelines/drum_pipelines.py
    (``def extract_drum_tracks``: the ``while 1`` loop)
    """
    tracks = []
    steps_per_bar = int(ns.sequences_lib.steps_per_bar_in_quantized_sequence(quantized_sequence))
    search_start_step = 0
    while True:
        track = drums_lib.DrumTrack()
        track.from_quantized_sequence(quantized_sequence, search_start_step=search_start_step,
                                      gap_bars=1.0, pad_end=True)
        search_start_step = (track.end_step
                             + (search_start_step - track.end_step) % steps_per_bar)
        if not track:
            break
        if len(track) < track.steps_per_bar * 1:  # min_bars
            continue
        if len(track) > max_steps_truncate:
            track.set_length(max_steps_truncate - max_steps_truncate % track.steps_per_bar)
        tracks.append(track)
    return tracks


def magenta_drum_windows(path: str | Path, slice_bars: int = 2, max_bars: int = MAX_BARS
                         ) -> set[tuple[int, ...]]:
    """The distinct windows (token tuples) MusicVAE's drum converter makes of the file.

    magenta/models/music_vae/data.py, ``DrumsConverter(max_bars=100, slice_bars=2,
    steps_per_quarter=4, roll_input=True, max_tensors_per_notesequence=None)``:
    ``split_process_and_combine`` splits on time changes; per piece ``_to_tensors_fn``
    quantises (skipping pieces whose bar is not 16 steps), keeps drum notes of a known class
    and maps each to its class, extracts drum tracks and slides a window over each, one bar
    at a time; a step's label is ``MultiDrumOneHotEncoding.encode_event``. No random
    subsampling.

    Source: https://github.com/magenta/magenta/blob/main/magenta/models/music_vae/data.py
    (``class DrumsConverter``, ``def _to_tensors_fn``)
    """
    return {tuple(ONE_HOT.encode_event(e) for e in events)
            for events in magenta_drum_events(path, slice_bars, max_bars)}


def magenta_drum_events(path: str | Path, slice_bars: int = 2, max_bars: int = MAX_BARS
                        ) -> list[tuple[frozenset, ...]]:
    """The windows of :func:`magenta_drum_windows` as DrumTrack events (sets of classes)."""
    sequence = ns.midi_io.midi_file_to_note_sequence(str(path))
    slice_steps = STEPS_PER_BAR * slice_bars
    windows = []
    for piece in ns.sequences_lib.split_note_sequence_on_time_changes(sequence):
        try:
            quantized = ns.sequences_lib.quantize_note_sequence(piece, STEPS_PER_QUARTER)
            if ns.sequences_lib.steps_per_bar_in_quantized_sequence(quantized) != STEPS_PER_BAR:
                continue
        except (ns.sequences_lib.BadTimeSignatureError, ns.events_lib.NonIntegerStepsPerBarError,
                ns.sequences_lib.NegativeTimeError):
            continue
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
        for track in extract_drum_tracks(quantized, STEPS_PER_BAR * max_bars):
            for i in range(slice_steps, len(track) + 1, STEPS_PER_BAR):
                windows.append(tuple(track[i - slice_steps:i]))
    return windows


def roll_input(events: tuple[frozenset, ...]):
    """The converter's encoder input of one window (``roll_input=True``): ``[T, 10]``."""
    import numpy as np

    roll = np.vstack([ROLL.events_to_input(events, i).astype(bool) for i in range(len(events))])
    return np.append(roll, np.all(roll == 0, axis=1)[:, None], axis=1)


def magenta_drum_notes(tokens) -> list[tuple[int, float, float, int, bool]]:
    """``DrumsConverter.from_tensors`` of one window of labels: the notes of its sequence as
    ``(pitch, start, end, velocity, is_drum)`` at 120 qpm."""
    events = [frozenset(PITCH_CLASSES[c][0] for c in ONE_HOT.decode_event(int(t)))
              for t in tokens]
    track = drums_lib.DrumTrack(events=events, steps_per_bar=STEPS_PER_BAR,
                                steps_per_quarter=STEPS_PER_QUARTER)
    sequence = track.to_sequence(velocity=OUTPUT_VELOCITY)
    return sorted((n.pitch, n.start_time, n.end_time, n.velocity, n.is_drum)
                  for n in sequence.notes)
