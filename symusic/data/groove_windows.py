"""Magenta's grooves: drum performances as hit, velocity and offset per class and 16th step.

This restates MusicVAE's ``GrooveConverter`` (``music_vae/data.py``, as the ``groovae_2bar_*``
configs build it: ``steps_per_quarter=4``, ``quarters_per_bar=4``, the Roland pitch classes)
on pretty_midi's numbers:

* a step holds, for each of the nine drum classes, a hit (0 or 1), the hit's velocity / 127
  and its offset: ``(quantised onset - true onset) / step length * 2``, so -1..1 for a hit
  half a step late .. half a step early (the grid rounds halves up: a hit exactly half a step
  late belongs to the next step, offset +1); 27 numbers a step, ``float32 [T, 27]``
  (hits, then velocities, then offsets, class by class);
* two hits of one class in one step: the louder is kept (the first of equal velocities);
* a sequence runs from the piece's first step to the bar that holds its last onset;
* Magenta trained on TFDS's ``groove/2bar-midionly``, 2-bar chunks of each file at a hop of
  one bar; here the windows are cut from the whole file's sequence at that hop (the
  converter's ``split_bars=2, hop_size=16``), so a hit played early across a window's first
  bar line stays in it; windows without a hit are dropped, as the converter returns nothing
  for a chunk without notes.

Unlike the converter (which reads one tempo and raises on others, and fails on a pitch outside
its classes), a file is split into pieces of one tempo and meter as the drums are
(:mod:`symusic.data.magenta_grid`), pieces whose bar is not 16 steps are dropped, and pitches
of no class are left out. Pitches read by the Roland TD-11's classes (the Groove MIDI
Dataset's kit) first, then by note-seq's General MIDI classes (the ones Magenta's inference
reads), so the kit's 45 and 48 are mid and high toms.

The input transformations of the converter, on windows (``humanize``, ``tapify``,
``fixed_velocities``: :func:`transform_input`), are what a GrooVAE encoder reads.
Out (:func:`groove_to_midi`), every hit sounds its class's first Roland pitch on the drum
channel, at its offset from the grid and with its velocity, for one step, as
``from_tensors`` writes it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pretty_midi
import torch

from symusic.data import drum_tracks, magenta_grid
from symusic.data.extraction import FileExtraction, LocatedMelody

# music_vae/data.py ROLAND_DRUM_PITCH_CLASSES: the classes of the Roland TD-11 kit
ROLAND_DRUM_PITCH_CLASSES: tuple[tuple[int, ...], ...] = (
    (36,), (38, 37, 40), (42, 22, 44), (46, 26), (43, 58), (47, 45), (50, 48),
    (49, 52, 55, 57), (51, 53, 59),
)
NUM_CLASSES = len(ROLAND_DRUM_PITCH_CLASSES)
ITEM_SIZE = 3 * NUM_CLASSES  # hit, velocity, offset of each class
HITS = slice(0, NUM_CLASSES)
VELOCITIES = slice(NUM_CLASSES, 2 * NUM_CLASSES)
OFFSETS = slice(2 * NUM_CLASSES, 3 * NUM_CLASSES)
TAP_CLASS = 3  # the converter's tapify squashes every hit onto the open hi-hat
OUTPUT_PITCHES: tuple[int, ...] = tuple(pitches[0] for pitches in ROLAND_DRUM_PITCH_CLASSES)
CLASS_NAMES = drum_tracks.CLASS_NAMES
STEPS_PER_QUARTER, STEPS_PER_BAR = 4, 16
WINDOW_HOP_BARS = 1

CLASS_OF_PITCH = drum_tracks.CLASS_OF_PITCH.copy()  # General MIDI classes, then the kit's
for _class, _pitches in enumerate(ROLAND_DRUM_PITCH_CLASSES):
    CLASS_OF_PITCH[list(_pitches)] = _class


def drum_notes(midi: pretty_midi.PrettyMIDI) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(starts, velocities, classes)`` of the drum-channel notes of a class, in note-seq's
    order (instrument by instrument, each in pretty_midi's order), float64/int64/int64."""
    notes = [n for instrument in midi.instruments if instrument.is_drum
             for n in instrument.notes if n.velocity and 0 <= n.pitch < 128]
    classes = CLASS_OF_PITCH[np.array([n.pitch for n in notes], dtype=np.int64)]
    known = classes >= 0
    starts = np.array([n.start for n in notes], dtype=np.float64)[known]
    velocities = np.array([n.velocity for n in notes], dtype=np.int64)[known]
    return starts, velocities, classes[known]


def groove_of_piece(piece: magenta_grid.Piece, starts: np.ndarray, velocities: np.ndarray,
                    classes: np.ndarray, max_steps: int | None = None) -> tuple[np.ndarray, bool]:
    """The converter's tensor of the notes that start in ``piece`` (any order): ``float32
    [16 * bars, 27]`` from the piece's first step to the end of the bar of its last onset
    (``[0, 27]`` without one), and whether ``max_steps`` cut it."""
    inside = (starts >= piece.start) & (starts < piece.end)
    if not inside.any():
        return np.zeros((0, ITEM_SIZE), dtype=np.float32), False
    onset = starts[inside] - piece.start
    velocity, drum = velocities[inside], classes[inside]
    step = (onset * piece.steps_per_second + 0.5).astype(np.int64)  # note-seq's quantisation
    # the converter's _get_offset, in its float operations
    step_length = 60.0 / piece.qpm / STEPS_PER_QUARTER
    offset = (step_length * step - onset) / step_length * 2
    length = -(-(int(step.max()) + 1) // STEPS_PER_BAR) * STEPS_PER_BAR
    cut = max_steps is not None and length > max_steps
    if cut:
        length = max_steps // STEPS_PER_BAR * STEPS_PER_BAR
    # per (step, class) the loudest note, the first of equal ones: sort, keep each first
    order = np.lexsort((np.arange(len(step)), -velocity, drum, step))
    keys = step[order] * NUM_CLASSES + drum[order]
    first = order[np.concatenate([[True], keys[1:] != keys[:-1]])]
    first = first[step[first] < length]
    groove = np.zeros((length, ITEM_SIZE), dtype=np.float32)
    groove[step[first], drum[first]] = 1.0
    groove[step[first], NUM_CLASSES + drum[first]] = velocity[first] / 127.0
    groove[step[first], 2 * NUM_CLASSES + drum[first]] = offset[first]
    return groove, cut


def locate_grooves(midi: pretty_midi.PrettyMIDI, max_steps: int | None = None
                   ) -> FileExtraction:
    """One groove per piece of ``midi`` with 16-step bars and a drum hit of a class, in
    time order: :class:`LocatedMelody` of ``float32 [16 * bars, 27]``, starting at the
    piece's start (its first grid step), ``instrument`` the first drum instrument."""
    found = FileExtraction()
    drum = [i for i, inst in enumerate(midi.instruments) if inst.is_drum and inst.notes]
    if not drum:
        return found
    starts, velocities, classes = drum_notes(midi)
    for piece in magenta_grid.pieces(midi):
        if not piece.has_16_step_bars:
            continue
        groove, cut = groove_of_piece(piece, starts, velocities, classes, max_steps)
        found.cut |= cut
        if len(groove):
            found.melodies.append(LocatedMelody(drum[0], groove, piece.start))
    return found


def why_no_groove(midi: pretty_midi.PrettyMIDI) -> str:
    """A short reason a readable file gave no groove (the scan counts files by these)."""
    if not any(i.notes for i in midi.instruments):
        return "no notes"
    if not any(i.is_drum and i.notes for i in midi.instruments):
        return drum_tracks.NO_DRUM_TRACK
    if not len(drum_notes(midi)[0]):
        return drum_tracks.NO_DRUM_CLASS
    return drum_tracks.NO_16_STEP_BARS


def hits(items: np.ndarray) -> np.ndarray:
    """Which classes are hit at each step of ``items [..., 27]``: ``bool [..., 9]``."""
    return np.asarray(items)[..., HITS] > 0.5


def transform_input(items: torch.Tensor, humanize: bool = False, tapify: bool = False,
                    fixed_velocities: bool = False) -> torch.Tensor:
    """The converter's input transformations of windows ``[..., 27]`` (a new tensor):

    * ``tapify``: every step's loudest hit (hit, velocity and offset) moves to the open
      hi-hat, the other classes are cleared (a tapped rhythm);
    * ``humanize``: velocities and offsets are zeroed (a mechanical beat on the grid);
    * ``fixed_velocities``: velocities are zeroed.

    Applying it twice gives what applying it once gives (a user's flat beat may go through).
    """
    out = items.clone()
    if tapify:
        # the converter's argmax of the velocities; + hits keeps a hit of velocity 0 (an
        # input already tapified with fixed velocities) ahead of the empty classes
        loudest = (items[..., VELOCITIES] + items[..., HITS]).argmax(dim=-1, keepdim=True)
        out.zero_()
        for part in (HITS, VELOCITIES, OFFSETS):
            out[..., part.start + TAP_CLASS] = items[..., part].gather(-1, loudest)[..., 0]
    if humanize:
        out[..., VELOCITIES] = 0
        out[..., OFFSETS] = 0
    if fixed_velocities:
        out[..., VELOCITIES] = 0
    return out


def groove_notes(window: np.ndarray, seconds_per_step: float, start: float = 0.0,
                 offset_steps: int = 0) -> list[pretty_midi.Note]:
    """The hits of ``window [T, 27]`` as the converter's ``from_tensors`` writes them: hit
    above 0.5, velocity ``round(v * 127)`` kept in 1..127 (0 would be no note in MIDI),
    onset ``(step - offset / 2) * step length`` (the offset kept in -1..1; not before 0 s),
    one step long."""
    window = np.asarray(window, dtype=np.float64)
    notes = []
    for step, drum in zip(*np.nonzero(window[:, HITS] > 0.5), strict=True):
        velocity = int(np.clip(np.round(window[step, NUM_CLASSES + drum] * 127), 1, 127))
        offset = float(np.clip(window[step, 2 * NUM_CLASSES + drum] / 2, -0.5, 0.5))
        onset = max(start + (offset_steps + step - offset) * seconds_per_step, 0.0)
        notes.append(pretty_midi.Note(velocity, OUTPUT_PITCHES[drum], onset,
                                      onset + seconds_per_step))
    return notes


def groove_to_midi(windows: np.ndarray | Sequence[np.ndarray], tempo: float = 120.0,
                   gap_bars: int = 0) -> pretty_midi.PrettyMIDI:
    """One drum instrument (channel 10) playing ``windows`` (``[T, 27]``, ``[N, T, 27]`` or a
    list of ``[T_i, 27]``) one after another, ``gap_bars`` apart, at ``tempo`` bpm."""
    def notes(window: np.ndarray, seconds_per_step: float, first_step: int):
        return groove_notes(window, seconds_per_step, offset_steps=first_step)

    return drum_tracks.drum_track_midi(windows, 2, notes, tempo, gap_bars)
