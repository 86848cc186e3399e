"""Reading MIDI files safely, and writing melody tokens back to MIDI.

:func:`read_midi` turns every way a file can be unusable (empty, not MIDI, truncated,
too large) into one exception, :class:`MidiReadError`, whose ``reason`` is a
short phrase to count by. The writers are the inverse of the melody extractor: tokens on
the 16th-note grid become notes at a chosen tempo, and reading them back gives the same tokens.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import mido
import numpy as np
import pretty_midi

from symusic.data.tokens import (
    FIRST_PITCH_TOKEN,
    NOTE_OFF,
    NUM_CLASSES,
    STEPS_PER_BAR,
    STEPS_PER_QUARTER,
    token_to_pitch,
)

# mido takes 15 s and 1 GB to parse a legal 6 MB file of 10^6 notes (a note in 6 bytes):
# at 4 MB a file costs at most about 10 s and 700 MB per scan worker
MAX_FILE_BYTES = 4 * 2**20
MAX_DENOMINATOR = 128  # a 128th note; 4/2^255 made bar numbers like 7.5e72
MAX_TICKS_PER_BEAT = 32_767  # larger header values are SMPTE timing or corrupt
MAX_SECONDS = 3600.0  # the one-hour rule: music after the first hour of a file is cut
# pretty_midi refuses files whose last event lies at tick 10**7 or later (it builds an array
# of one float per tick); music past this tick is cut too (an hour at 120 bpm and 1,388 ticks
# per beat, or at 240 bpm and 694)
MAX_TICK = 10**7 - 2
WRITE_RESOLUTION = 480  # ticks per quarter note in the files we write
DEFAULT_VELOCITY = 80
TRANSIENT_REASONS = ("cannot open",)  # may succeed on the next try: never cached


class MidiReadError(Exception):
    """A MIDI file that cannot be used; ``reason`` says why in a few words."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def _read_bytes(path: str | os.PathLike, max_bytes: int) -> bytes:
    """The file's bytes; MidiReadError for what cannot be opened or read, or is too large."""
    try:
        size = os.path.getsize(path)
        if size > max_bytes:
            raise MidiReadError("too large",
                                f"{size / 2**20:.0f} MB > {max_bytes / 2**20:.0f} MB")
        with open(path, "rb") as f:
            return f.read(max_bytes + 1)
    except OSError as error:  # permissions, I/O errors, a folder named .mid: try again later
        raise MidiReadError("cannot open", str(error)) from error


def _cut_tick(midi: mido.MidiFile, max_seconds: float) -> int:
    """The tick after which music is cut: ``max_seconds`` into the file on its tempo map
    (``set_tempo`` of track 0 only, as pretty_midi reads it), at most :data:`MAX_TICK`."""
    seconds_per_tick = 0.5 / midi.ticks_per_beat
    tick = 0
    seconds = 0.0
    for message in midi.tracks[0] if midi.tracks else []:
        if message.time:
            step = message.time * seconds_per_tick
            if seconds + step >= max_seconds:
                break
            seconds += step
            tick += message.time
        if message.type == "set_tempo":
            seconds_per_tick = message.tempo / 1e6 / midi.ticks_per_beat
    return min(MAX_TICK, tick + int((max_seconds - seconds) / seconds_per_tick))


def _cut_track(track: mido.MidiTrack, cut: int) -> tuple[mido.MidiTrack, bool]:
    """``track`` without its events after tick ``cut`` (notes still sounding end there), and
    whether a note started after it."""
    kept = mido.MidiTrack()
    sounding: dict[tuple[int, int], int] = {}
    tick = last = 0
    dropped_note = False
    for message in track:
        tick += message.time
        if tick > cut:
            dropped_note = dropped_note or (message.type == "note_on" and message.velocity > 0)
            continue
        kept.append(message.copy(time=tick - last))
        last = tick
        if message.type == "note_on" and message.velocity:
            key = (message.channel, message.note)
            sounding[key] = sounding.get(key, 0) + 1
        elif message.type in ("note_on", "note_off"):
            key = (message.channel, message.note)
            sounding[key] = max(sounding.get(key, 0) - 1, 0)
    for (channel, note), count in sounding.items():
        for _ in range(count):
            kept.append(mido.Message("note_off", channel=channel, note=note, time=cut - last))
            last = cut
    return kept, dropped_note


def read_mido_with_cut(path: str | os.PathLike, max_bytes: int = MAX_FILE_BYTES,
                       max_seconds: float = MAX_SECONDS) -> tuple[mido.MidiFile, bool]:
    """Parse ``path`` with mido after checking its size and header; raise MidiReadError.

    Music after ``max_seconds`` (or past :data:`MAX_TICK`) is cut; the flag says whether any
    was. Returns ``(midi, cut)``.
    """
    data = _read_bytes(path, max_bytes)
    if not data:
        raise MidiReadError("empty file")
    if len(data) > max_bytes:
        raise MidiReadError("too large", f"more than {max_bytes / 2**20:.0f} MB")
    if data[:4] != b"MThd":
        raise MidiReadError("not a MIDI file", f"starts with {data[:4]!r}")
    try:
        midi = mido.MidiFile(file=io.BytesIO(data), clip=True)  # data bytes > 127 clipped
    except EOFError as error:
        raise MidiReadError("truncated", str(error)) from error
    except Exception as error:  # mido raises OSError, ValueError, KeyError, IndexError...
        raise MidiReadError("corrupt", f"{type(error).__name__}: {error}") from error
    if not 0 < midi.ticks_per_beat <= MAX_TICKS_PER_BEAT:
        raise MidiReadError("bad ticks per beat", str(midi.ticks_per_beat))
    for track in midi.tracks:
        for message in track:
            if message.type == "set_tempo" and message.tempo <= 0:
                raise MidiReadError("bad tempo", f"{message.tempo} microseconds per beat")
            if message.type == "time_signature" and message.denominator > MAX_DENOMINATOR:
                raise MidiReadError("bad time signature",
                                    f"{message.numerator}/2^{message.denominator.bit_length() - 1}")
    end_ticks = [sum(message.time for message in track) for track in midi.tracks]
    cut = _cut_tick(midi, max_seconds)
    if max(end_ticks, default=0) <= cut:
        return midi, False
    tracks, dropped = zip(*(_cut_track(track, cut) for track in midi.tracks), strict=True)
    midi.tracks = list(tracks)
    return midi, any(dropped)  # a track end long after the music is no cut


def read_mido(path: str | os.PathLike, max_bytes: int = MAX_FILE_BYTES) -> mido.MidiFile:
    """:func:`read_mido_with_cut` without the flag."""
    return read_mido_with_cut(path, max_bytes)[0]


def read_midi_with_cut(path: str | os.PathLike, max_bytes: int = MAX_FILE_BYTES,
                       max_seconds: float = MAX_SECONDS) -> tuple[pretty_midi.PrettyMIDI, bool]:
    """:func:`read_midi`, and whether music after ``max_seconds`` was cut."""
    midi, cut = read_mido_with_cut(path, max_bytes, max_seconds)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pretty_midi.PrettyMIDI(mido_object=midi), cut
    except Exception as error:
        raise MidiReadError("corrupt", f"{type(error).__name__}: {error}") from error


def read_midi(path: str | os.PathLike, max_bytes: int = MAX_FILE_BYTES) -> pretty_midi.PrettyMIDI:
    """Read a MIDI file; raise :class:`MidiReadError` for anything unusable.

    Catches every parser error (and silences pretty_midi's warnings), so callers only need
    to handle ``MidiReadError``. Music after the first hour is cut (see :data:`MAX_SECONDS`).
    """
    return read_midi_with_cut(path, max_bytes)[0]


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
                pitch, start = token_to_pitch(token), step
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

