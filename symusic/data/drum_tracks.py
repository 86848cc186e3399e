"""Magenta's drum tracks: MIDI drums to one token per 16th-note step, and tokens back to MIDI.

This restates what MusicVAE's ``DrumsConverter`` (``cat-drums_2bar_small``: ``max_bars=100``,
``gap_bars=1``, ``steps_per_quarter=4``, ``roll_input=True``) does with note-seq's
``DrumTrack`` and ``MultiDrumOneHotEncoding``, on pretty_midi's numbers:

* the file is split at tempo and time-signature changes and each piece quantised on its own
  tempo (:mod:`symusic.data.magenta_grid`, as for melodies); pieces whose bar is not 16
  steps are dropped;
* only notes of drum tracks (``is_drum``: MIDI channel 10) with a pitch of one of the nine
  classes (:data:`DRUM_PITCH_CLASSES`, note-seq's ``DEFAULT_DRUM_TYPE_PITCHES``, which holds
  the General MIDI kit and the Roland TD-11's edge and rim pitches) count; every drum
  track of a piece is read as one, and hits that land on the same step are one event;
* a drum track starts on the bar line at or before its first hit and ends when 16 steps or
  more pass without a hit (the next starts on a later bar); its end is padded to a whole
  bar and a track longer than ``max_bars`` bars is cut (the rest of it is dropped);
* a step's token is the set of classes hit, bit ``c`` for class ``c``: 0 (no hit) .. 511.

Out, a token's classes sound their first pitch (:data:`OUTPUT_PITCHES`) on the drum channel,
velocity 80, for one step, as the converter's ``from_tensors`` writes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pretty_midi

from symusic.data import magenta_grid
from symusic.data.extraction import FileExtraction, LocatedMelody

# note-seq drums_encoder_decoder.DEFAULT_DRUM_TYPE_PITCHES (MusicVAE's REDUCED_DRUM_PITCH_CLASSES)
DRUM_PITCH_CLASSES: tuple[tuple[int, ...], ...] = (
    (36, 35),
    (38, 27, 28, 31, 32, 33, 34, 37, 39, 40, 56, 65, 66, 75, 85),
    (42, 44, 54, 68, 69, 70, 71, 73, 78, 80, 22),
    (46, 67, 72, 74, 79, 81, 26),
    (45, 29, 41, 43, 61, 64, 84),
    (48, 47, 60, 63, 77, 86, 87),
    (50, 30, 62, 76, 83),
    (49, 52, 55, 57, 58),
    (51, 53, 59, 82),
)
CLASS_NAMES: tuple[str, ...] = ("kick", "snare", "closed hi-hat", "open hi-hat", "low tom",
                                "mid tom", "high tom", "crash", "ride")
NUM_CLASSES = len(DRUM_PITCH_CLASSES)
VOCAB_SIZE = 2 ** NUM_CLASSES
OUTPUT_PITCHES: tuple[int, ...] = tuple(pitches[0] for pitches in DRUM_PITCH_CLASSES)
OUTPUT_VELOCITY = 80  # music_vae/data.py OUTPUT_VELOCITY
STEPS_PER_QUARTER, STEPS_PER_BAR = 4, 16
MAX_BARS = 100
TOKEN_DTYPE = np.uint16

CLASS_OF_PITCH = np.full(128, -1, dtype=np.int64)  # MIDI pitch -> class, -1 for none
for _class, _pitches in enumerate(DRUM_PITCH_CLASSES):
    CLASS_OF_PITCH[list(_pitches)] = _class
BITS = (1 << np.arange(NUM_CLASSES)).astype(np.int64)

NO_DRUM_TRACK = "no track on the drum channel"  # skip reasons the folder scan counts
NO_DRUM_CLASS = "no hit of a drum class"
NO_16_STEP_BARS = "no 4/4 section"


def token_classes(tokens: np.ndarray) -> np.ndarray:
    """The classes each token hits: ``bool [..., 9]`` for tokens ``[...]``."""
    return (np.asarray(tokens, dtype=np.int64)[..., None] & BITS) != 0


def classes_token(hits: np.ndarray) -> np.ndarray:
    """The inverse of :func:`token_classes`: ``bool [..., 9]`` -> ``int64 [...]``."""
    return (np.asarray(hits, dtype=bool) * BITS).sum(axis=-1)


def roll_table() -> np.ndarray:
    """The encoder's input for each token (the converter's ``roll_input``): its 9 class bits
    and a 10th bit set when nothing is hit. ``float32 [512, 10]``."""
    bits = token_classes(np.arange(VOCAB_SIZE))
    return np.column_stack([bits, ~bits.any(axis=1)]).astype(np.float32)


def _drum_hits(midi: pretty_midi.PrettyMIDI) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(starts, ends, classes)`` of every drum-track note of a known class with a velocity,
    sorted by start (float64, float64, int64)."""
    notes = [n for instrument in midi.instruments if instrument.is_drum
             for n in instrument.notes if n.velocity and 0 <= n.pitch < 128]
    classes = CLASS_OF_PITCH[np.array([n.pitch for n in notes], dtype=np.int64)]
    known = [n for n, c in zip(notes, classes, strict=True) if c >= 0]
    starts = np.array([n.start for n in known], dtype=np.float64)
    order = np.argsort(starts, kind="stable")
    return (starts[order], np.array([n.end for n in known], dtype=np.float64)[order],
            classes[classes >= 0][order])


def split_tracks(steps: np.ndarray, classes: np.ndarray, max_bars: int = MAX_BARS
                 ) -> tuple[list[tuple[int, np.ndarray]], bool]:
    """note-seq's ``DrumTrack.from_quantized_sequence`` loop as ``extract_drum_tracks`` runs
    it (``gap_bars=1, pad_end=True, min_bars=1``, ``max_steps_truncate`` of ``max_bars``),
    on hits at piece ``steps`` (non-negative ints) of ``classes``.

    Returns ``([(first step, tokens uint16 [16 * bars])], cut)``.
    """
    if not len(steps):
        return [], False
    step_of_event, inverse = np.unique(steps, return_inverse=True)
    tokens_of_event = np.zeros(len(step_of_event), dtype=np.int64)
    np.bitwise_or.at(tokens_of_event, inverse, BITS[classes])
    # a track ends after 16 empty steps: two hits 17 or more steps apart
    breaks = np.flatnonzero(np.diff(step_of_event) > STEPS_PER_BAR) + 1
    tracks, cut = [], False
    limit = max_bars * STEPS_PER_BAR
    for group in np.split(np.arange(len(step_of_event)), breaks):
        first = int(step_of_event[group[0]]) // STEPS_PER_BAR * STEPS_PER_BAR
        length = -(-(int(step_of_event[group[-1]]) + 1 - first) // STEPS_PER_BAR) * STEPS_PER_BAR
        track = np.zeros(length, dtype=TOKEN_DTYPE)
        track[step_of_event[group] - first] = tokens_of_event[group]
        if length > limit:
            track, cut = track[:limit], True
        tracks.append((first, track))
    return tracks, cut


def locate_drum_tracks(midi: pretty_midi.PrettyMIDI, max_bars: int = MAX_BARS) -> FileExtraction:
    """Every drum track of ``midi`` as the converter extracts it, in time order; each is a
    :class:`LocatedMelody` of ``uint16 [16 * bars]`` tokens whose ``instrument`` is the first
    drum instrument with notes."""
    found = FileExtraction()
    drum = [i for i, inst in enumerate(midi.instruments) if inst.is_drum and inst.notes]
    if not drum:
        return found
    starts, ends, classes = _drum_hits(midi)
    for piece in magenta_grid.pieces(midi):
        if not piece.has_16_step_bars:
            continue
        rows = magenta_grid.quantize_piece(piece, starts, ends, classes)
        tracks, cut = split_tracks(rows[:, 0], rows[:, 2], max_bars)
        found.cut |= cut
        for first, tokens in tracks:
            found.melodies.append(LocatedMelody(drum[0], tokens,
                                                piece.start + first / piece.steps_per_second))
    return found


def why_no_drums(midi: pretty_midi.PrettyMIDI) -> str:
    """A short reason a readable file gave no drum track (counted by the folder scan)."""
    drums = [i for i in midi.instruments if i.is_drum and i.notes]
    if not any(i.notes for i in midi.instruments):
        return "no notes"
    if not drums:
        return NO_DRUM_TRACK
    if not len(_drum_hits(midi)[0]):
        return NO_DRUM_CLASS
    return NO_16_STEP_BARS


def drum_hits(window: np.ndarray) -> list[tuple[int, int, int]]:
    """The hits of tokens ``[T]`` as ``(output pitch, step, step + 1)``, by step then class."""
    steps, classes = np.nonzero(token_classes(window))
    return [(OUTPUT_PITCHES[c], int(s), int(s) + 1) for s, c in zip(steps, classes, strict=True)]


def drums_to_midi(windows: np.ndarray | Sequence[np.ndarray], tempo: float = 120.0,
                  gap_bars: int = 0, velocity: int = OUTPUT_VELOCITY) -> pretty_midi.PrettyMIDI:
    """One drum instrument (channel 10, program 0) playing ``windows`` (``[T]``, ``[N, T]``
    or a list of ``[T_i]``) one after another, ``gap_bars`` apart; each hit lasts a step."""
    def notes(window: np.ndarray, seconds_per_step: float, first_step: int):
        return [pretty_midi.Note(velocity, pitch, (first_step + start) * seconds_per_step,
                                 (first_step + end) * seconds_per_step)
                for pitch, start, end in drum_hits(window)]

    return drum_track_midi(windows, 1, notes, tempo, gap_bars)


NoteWriter = Callable[[np.ndarray, float, int], list[pretty_midi.Note]]


def drum_track_midi(windows: np.ndarray | Sequence[np.ndarray], step_ndim: int,
                    notes: NoteWriter, tempo: float, gap_bars: int) -> pretty_midi.PrettyMIDI:
    """One drum instrument (channel 10, program 0) playing ``windows`` one after another,
    ``gap_bars`` apart, at ``tempo`` bpm: one window has ``step_ndim`` dimensions (a stack or
    a list has more); ``notes(window, seconds_per_step, first_step)`` writes a window's hits."""
    if not tempo > 0:
        raise ValueError(f"tempo must be positive, got {tempo}")
    seconds_per_step = 60.0 / tempo / STEPS_PER_QUARTER
    midi = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=tempo)
    instrument = pretty_midi.Instrument(program=0, is_drum=True, name="drums")
    one = isinstance(windows, np.ndarray) and windows.ndim == step_ndim
    first_step = 0
    for window in [windows] if one else windows:
        window = np.asarray(window)
        instrument.notes.extend(notes(window, seconds_per_step, first_step))
        first_step += len(window) + gap_bars * STEPS_PER_BAR
    # a played hit may lead its step into the window before
    instrument.notes.sort(key=lambda n: (n.start, n.pitch))
    midi.instruments.append(instrument)
    return midi
