"""Magenta's ``GrooveConverter`` restated, for the groove parity tests.

note-seq's code is called, not copied: ``midi_io.midi_file_to_note_sequence`` and
``sequences_lib.quantize_note_sequence``. The converter itself (magenta, which note-seq does
not ship) is restated below, loop for loop, from
https://github.com/magenta/magenta/blob/main/magenta/models/music_vae/data.py
(``ROLAND_DRUM_PITCH_CLASSES``; ``class GrooveConverter``: ``_get_feature``, ``to_tensors``
with ``_get_steps_hash`` and ``_extract_windows``, and ``from_tensors``), with the options the
``groovae_*`` configs use (no note dropout, no categorical bins, no split instruments, no
controls).
"""

from __future__ import annotations

import collections
import copy
from pathlib import Path

import numpy as np
from magenta_reference import note_seq_modules

ns = note_seq_modules()

ROLAND_DRUM_PITCH_CLASSES = [
    [36], [38, 37, 40], [42, 22, 44], [46, 26], [43, 58], [47, 45], [50, 48],
    [49, 52, 55, 57], [51, 53, 59],
]
NUM_DRUMS = len(ROLAND_DRUM_PITCH_CLASSES)
PITCH_CLASS_MAP = {p: c for c, pitches in enumerate(ROLAND_DRUM_PITCH_CLASSES) for p in pitches}
STEPS_PER_QUARTER, STEPS_PER_BAR = 4, 16


def _get_feature(note, feature, step_length=None):
    """``GrooveConverter._get_feature``."""
    if feature == "hit":
        return 1.0 if note else 0.0
    if feature == "velocity":
        return note.velocity / 127.0 if note else 0.0
    if note:
        quantized_onset = step_length * note.quantized_start_step
        diff = quantized_onset - note.start_time
        return diff / step_length * 2
    return 0.0


def to_tensors(note_sequence, split_bars=None, hop_size=None, humanize=False, tapify=False,
               fixed_velocities=False):
    """``GrooveConverter.to_tensors``: ``(inputs, outputs)``, lists of ``float [T, 27]``
    (empty lists where the converter returns empty ``ConverterTensors``)."""
    quantized = ns.sequences_lib.quantize_note_sequence(note_sequence, STEPS_PER_QUARTER)
    if ns.sequences_lib.steps_per_bar_in_quantized_sequence(quantized) != STEPS_PER_BAR:
        return [], []
    beat_length = 60.0 / quantized.tempos[0].qpm
    step_length = beat_length / quantized.quantization_info.steps_per_quarter
    steps_hash = collections.defaultdict(lambda: collections.defaultdict(list))
    for note in quantized.notes:
        steps_hash[int(note.quantized_start_step)][PITCH_CLASS_MAP[note.pitch]].append(note)
    if not quantized.notes:
        return [], []
    max_start_step = np.max([note.quantized_start_step for note in quantized.notes])
    total_bars = int(np.ceil((max_start_step + 1) / STEPS_PER_BAR))
    max_step = STEPS_PER_BAR * total_bars
    hit_vectors = np.zeros((max_step, NUM_DRUMS))
    velocity_vectors = np.zeros((max_step, NUM_DRUMS))
    offset_vectors = np.zeros((max_step, NUM_DRUMS))
    for step in range(max_step):
        notes = steps_hash[step]
        for drum in range(NUM_DRUMS):
            drum_notes = notes[drum]
            if len(drum_notes) > 1:
                note = max(drum_notes, key=lambda n: n.velocity)
            elif len(drum_notes) == 1:
                note = drum_notes[0]
            else:
                note = None
            hit_vectors[step, drum] = _get_feature(note, "hit")
            velocity_vectors[step, drum] = _get_feature(note, "velocity")
            offset_vectors[step, drum] = _get_feature(note, "offset", step_length)
    in_hits = copy.deepcopy(hit_vectors)
    in_velocities = copy.deepcopy(velocity_vectors)
    in_offsets = copy.deepcopy(offset_vectors)
    if tapify:
        argmaxes = np.argmax(in_velocities, axis=1)
        in_hits[:] = 0
        in_velocities[:] = 0
        in_offsets[:] = 0
        in_hits[:, 3] = hit_vectors[np.arange(max_step), argmaxes]
        in_velocities[:, 3] = velocity_vectors[np.arange(max_step), argmaxes]
        in_offsets[:, 3] = offset_vectors[np.arange(max_step), argmaxes]
    if humanize:
        in_velocities[:] = 0
        in_offsets[:] = 0
    if fixed_velocities:
        in_velocities[:] = 0
    seqs = np.concatenate([hit_vectors, velocity_vectors, offset_vectors], axis=1)
    input_seqs = np.concatenate([in_hits, in_velocities, in_offsets], axis=1)
    if split_bars:
        window_size = STEPS_PER_BAR * split_bars
        hop = hop_size or window_size

        def _extract_windows(tensor):
            return [tensor[i:i + window_size, :]
                    for i in range(0, len(tensor) - window_size + 1, hop)]

        return _extract_windows(input_seqs), _extract_windows(seqs)
    return [input_seqs], [seqs]


def from_tensors(samples, pitch_classes=ROLAND_DRUM_PITCH_CLASSES):
    """``GrooveConverter.from_tensors`` (continuous outputs): one list of
    ``(pitch, velocity, start_time, end_time)`` per sample, at 120 qpm."""
    sequences = []
    step_length = 60.0 / 120 / STEPS_PER_QUARTER
    for sample in samples:
        notes = []
        for i in range(sample.shape[0]):
            hits, velocities, offsets = np.split(sample[i], 3)
            for j in range(len(hits)):
                if hits[j] > 0.5:
                    velocity = np.clip(int(np.round(velocities[j] * 127)), 0, 127)
                    offset = np.clip(offsets[j] / 2, -0.5, 0.5)
                    start = (i - offset) * step_length
                    notes.append((pitch_classes[j][0], int(velocity), start, start + step_length))
        sequences.append(notes)
    return sequences


def read_sequence(path: str | Path):
    """note-seq's NoteSequence of a MIDI file."""
    return ns.midi_io.midi_file_to_note_sequence(str(path))
