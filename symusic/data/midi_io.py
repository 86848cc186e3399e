"""Reading MIDI files safely, and writing melody tokens back to MIDI.

:func:`read_midi` turns every way a file can be unusable (empty, not MIDI, truncated,
absurd timing, too large) into one exception, :class:`MidiReadError`, whose ``reason`` is a
short phrase to count by. The writers are the inverse of the melody extractor: tokens on
the 16th-note grid become notes at a chosen tempo, and reading them back gives the same tokens.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import mido
import numpy as np
import pretty_midi

from symusic.data.tokens import (
    FIRST_PITCH_TOKEN,
    MIN_PITCH,
    NOTE_OFF,
    NUM_CLASSES,
    STEPS_PER_BAR,
    STEPS_PER_QUARTER,
)

MAX_FILE_BYTES = 50 * 2**20
MAX_TICKS_PER_BEAT = 32_767  # larger header values are SMPTE timing or corrupt
MAX_TICK = 10**7  # pretty_midi builds an array this long; later events mean a corrupt file
WRITE_RESOLUTION = 480  # ticks per quarter note in the files we write
DEFAULT_VELOCITY = 80


class MidiReadError(Exception):
    """A MIDI file that cannot be used; ``reason`` says why in a few words."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def read_mido(path: str | os.PathLike, max_bytes: int = MAX_FILE_BYTES) -> mido.MidiFile:
    """Parse ``path`` with mido after checking its size and header; raise MidiReadError."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as error:
        raise MidiReadError("cannot open", str(error)) from error
    if size == 0:
        raise MidiReadError("empty file")
    if size > max_bytes:
        raise MidiReadError("too large", f"{size / 2**20:.0f} MB > {max_bytes / 2**20:.0f} MB")
    if magic != b"MThd":
        raise MidiReadError("not a MIDI file", f"starts with {magic!r}")
    try:
        midi = mido.MidiFile(path, clip=True)  # data bytes > 127 are clipped, not fatal
    except EOFError as error:
        raise MidiReadError("truncated", str(error)) from error
    except Exception as error:  # mido raises OSError, ValueError, KeyError, IndexError...
        raise MidiReadError("corrupt", f"{type(error).__name__}: {error}") from error
    if not 0 < midi.ticks_per_beat <= MAX_TICKS_PER_BEAT:
        raise MidiReadError("bad ticks per beat", str(midi.ticks_per_beat))
    end_ticks = [sum(message.time for message in track) for track in midi.tracks]
    if max(end_ticks, default=0) >= MAX_TICK:
        raise MidiReadError("absurd tick values", f"an event at tick {max(end_ticks):,}")
    for track in midi.tracks:
        for message in track:
            if message.type == "set_tempo" and message.tempo <= 0:
                raise MidiReadError("bad tempo", f"{message.tempo} microseconds per beat")
    return midi


def read_midi(path: str | os.PathLike, max_bytes: int = MAX_FILE_BYTES) -> pretty_midi.PrettyMIDI:
    """Read a MIDI file; raise :class:`MidiReadError` for anything unusable.

    Catches every parser error (and silences pretty_midi's warnings), so callers only need
    to handle ``MidiReadError``.
    """
    midi = read_mido(path, max_bytes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pretty_midi.PrettyMIDI(mido_object=midi)
    except Exception as error:
        raise MidiReadError("corrupt", f"{type(error).__name__}: {error}") from error


def _as_melody_list(melodies) -> list[np.ndarray]:
    """One melody (1-D), a ``[n, T]`` array or a sequence of 1-D melodies, as a list."""
    if isinstance(melodies, np.ndarray) or hasattr(melodies, "numpy"):
        array = np.asarray(melodies)
        return [array] if array.ndim == 1 else list(array)
    return [np.asarray(m) for m in melodies]


def melody_notes(melody: np.ndarray) -> list[tuple[int, int, int]]:
    """The notes of a token array ``[T]`` as ``(pitch, start_step, end_step)``.

    A note lasts until the next onset, a ``NOTE_OFF`` or the end of the array.
    Raises ``ValueError`` for tokens outside ``0..NUM_CLASSES - 1``.
    """
    tokens = np.asarray(melody).astype(np.int64).ravel()
    if tokens.size and (tokens.min() < 0 or tokens.max() >= NUM_CLASSES):
        raise ValueError(f"melody tokens must lie in 0..{NUM_CLASSES - 1}")
    notes = []
    pitch, start = None, 0
    for step, token in enumerate(tokens.tolist()):
        if token >= FIRST_PITCH_TOKEN or token == NOTE_OFF:
            if pitch is not None:
                notes.append((pitch, start, step))
                pitch = None
            if token >= FIRST_PITCH_TOKEN:
                pitch, start = token - FIRST_PITCH_TOKEN + MIN_PITCH, step
    if pitch is not None:
        notes.append((pitch, start, len(tokens)))
    return notes


def melody_to_instrument(melody: np.ndarray, tempo: float = 120.0, program: int = 0,
                         start_step: int = 0, velocity: int = DEFAULT_VELOCITY,
                         instrument: pretty_midi.Instrument | None = None,
                         ) -> pretty_midi.Instrument:
    """Add the notes of ``melody`` (tokens ``[T]``) to an instrument, from ``start_step`` on.

    Step ``s`` sounds at ``s * 60 / tempo / 4`` seconds. Returns the instrument (a new one of
    ``program`` unless ``instrument`` is given).
    """
    if instrument is None:
        instrument = pretty_midi.Instrument(program=program)
    seconds_per_step = 60.0 / tempo / STEPS_PER_QUARTER
    for pitch, start, end in melody_notes(melody):
        instrument.notes.append(pretty_midi.Note(
            velocity, pitch, (start_step + start) * seconds_per_step,
            (start_step + end) * seconds_per_step))
    return instrument


def melodies_to_midi(melodies, tempo: float = 120.0, program: int = 0, gap_bars: int = 0,
                     velocity: int = DEFAULT_VELOCITY) -> pretty_midi.PrettyMIDI:
    """One-instrument MIDI of ``melodies`` played one after another, ``gap_bars`` apart.

    ``melodies``: one token array ``[T]``, an array ``[n, T]`` or a list of arrays. A melody
    that starts with ``NO_EVENT`` starts with silence; each takes its full length.
    """
    if not tempo > 0:
        raise ValueError(f"tempo must be positive, got {tempo}")
    midi = pretty_midi.PrettyMIDI(resolution=WRITE_RESOLUTION, initial_tempo=tempo)
    instrument = pretty_midi.Instrument(program=program)
    step = 0
    for melody in _as_melody_list(melodies):
        melody_to_instrument(melody, tempo, start_step=step, velocity=velocity,
                             instrument=instrument)
        step += len(melody) + gap_bars * STEPS_PER_BAR
    midi.instruments.append(instrument)
    return midi


def write_melodies(melodies, path: str | os.PathLike, tempo: float = 120.0, program: int = 0,
                   gap_bars: int = 0, velocity: int = DEFAULT_VELOCITY) -> Path:
    """Write ``melodies`` (see :func:`melodies_to_midi`) to the ``.mid`` file ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    melodies_to_midi(melodies, tempo, program, gap_bars, velocity).write(str(path))
    return path

