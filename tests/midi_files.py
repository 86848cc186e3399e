"""Helpers the test suites share: a tiny model config and MIDI files written with pretty_midi."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pretty_midi

STEP_S = 0.125  # a 16th note at 120 BPM
SCALE = [60, 62, 64, 65, 67, 69, 71, 72]

_TINY_MODEL_CONFIG = {
    "z_size": 16,
    "encoder_params": {"embed_size": 8, "hidden_size": 32, "n_layers": 1},
    "seq_decoder_args": {"key": "greedy", "params": {
        "z_size": 16,
        "decoder_args": {"key": "another", "params": {
            "z_size": 16, "embed_size": 8, "hidden_size": 32, "n_layers": 1}}}},
}


def tiny_model_config() -> dict:
    """The model keys of a flat MusicVAE small enough to train in seconds (a fresh copy)."""
    return copy.deepcopy(_TINY_MODEL_CONFIG)


def instrument(notes, program: int = 0, name: str = "", velocity: int = 90,
               is_drum: bool = False, step_s: float = STEP_S) -> pretty_midi.Instrument:
    """A pretty_midi instrument holding ``(pitch, start_step, end_step)`` notes."""
    inst = pretty_midi.Instrument(program=program, name=name, is_drum=is_drum)
    for pitch, start, end in notes:
        inst.notes.append(pretty_midi.Note(velocity, pitch, start * step_s, end * step_s))
    return inst


def write_midi(path: Path, *instruments: pretty_midi.Instrument, tempo: float = 120.0,
               resolution: int = 220, time_signature: bool = True) -> Path:
    """Write a MIDI file (4/4 unless told otherwise) holding ``instruments``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    midi = pretty_midi.PrettyMIDI(resolution=resolution, initial_tempo=tempo)
    if time_signature:
        midi.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    midi.instruments.extend(instruments)
    midi.write(str(path))
    return path


def scale_walk(seed: int, bars: int, step_choices=(2, 4, 4, 8), lowest: int = 0):
    """A random walk on the C major scale as ``(pitch, start_step, end_step)`` notes: each note
    ends a 16th before the next starts, the first onset is on step 0."""
    rng = np.random.default_rng(seed)
    notes, step, degree = [], 0, 3
    while step < bars * 16:
        length = min(int(rng.choice(step_choices)), bars * 16 - step)
        degree = int(np.clip(degree + rng.integers(-2, 3), 0, len(SCALE) - 1))
        notes.append((SCALE[degree] + lowest, step, step + max(length - 1, 1)))
        step += length
    return notes


def toy_representation_class():
    """A second representation for testing the seam: twelve tokens, token 0 the "nothing new"
    one, eight steps a bar, no note view (only the model needs it)."""
    from symusic.data.representation import Representation

    class Toy(Representation):
        name = "toy"
        vocab_size = 12
        no_event = 0
        steps_per_quarter = 2
        steps_per_bar = 8

    return Toy
