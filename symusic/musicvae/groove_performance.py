"""Humanize and drumify: a user's beat (or taps) of any length through a GrooVAE model.

:func:`read_beat` reads one MIDI file as a groove (:mod:`symusic.data.groove_windows`): the
drum track (humanize), or the onsets of one track as taps (drumify: a drum track if the file
has one, else the track with the most notes, or ``track``); every hit keeps its timing and
velocity, the grid is the file's one tempo from its first bar line. What GrooVAE cannot read is
one line (:class:`~symusic.errors.InputError`): no notes, no drum track for humanize, a tempo
that changes before the last note, a meter other than 4/4 (16 sixteenths a bar).

:func:`perform` slides the model over the groove in windows of its length (2 bars), one after
another, each encoded (the model's encoder reads it flattened, or tapped, as it was trained)
and decoded; the windows are joined at their bar lines (a hit played early across a bar line
belongs to the bar after it, as in training) and windows without a hit stay silent. Humanize
keeps the input's hits (``keep_hits``: the model gives each its velocity and timing); a free
decode, as Magenta's models decode, may add or drop some.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pretty_midi
import torch

from symusic.data import groove_windows as G
from symusic.data import magenta_grid
from symusic.data.melody import MAX_STEPS
from symusic.data.midi_io import MidiReadError, read_midi
from symusic.errors import InputError, printable
from symusic.musicvae.model.groove_io import split_outputs

TEMPO_TOLERANCE = 1e-3  # bpm: a tempo event that repeats the tempo (to rounding) is no change
MIN_HIT_CHANCE = 0.05  # the smallest hit probability a kept hit's feel is divided by


@dataclass
class Beat:
    """One file read as a groove: ``groove float32 [16 * bars, 27]`` from the file's first
    bar line at ``qpm`` beats a minute; ``track`` says which notes were read."""

    groove: np.ndarray
    qpm: float
    track: str
    cut: bool = False

    @property
    def bars(self) -> int:
        """Bars of the groove."""
        return len(self.groove) // G.STEPS_PER_BAR

    @property
    def hits(self) -> int:
        """Hits of the groove (a class at a step)."""
        return int(G.hits(self.groove).sum())


def _check_one_tempo_in_4_4(midi: pretty_midi.PrettyMIDI, name: str) -> float:
    """The file's tempo (bpm); ``InputError`` when it changes before the last note or when
    a meter without 16-step bars holds notes."""
    end = magenta_grid.total_time(midi)
    times, tempi = midi.get_tempo_changes()
    playing = [(float(t), float(q)) for t, q in zip(times, tempi, strict=True) if t < end]
    qpm = playing[0][1] if playing else 120.0
    for time, value in playing[1:]:
        if abs(value - qpm) > TEMPO_TOLERANCE:
            raise InputError(f"{name}: the tempo changes at {time:.2f} s ({qpm:g} -> "
                             f"{value:g} bpm); humanize and drumify read a beat in one tempo "
                             "(split the file at the change)")
    for signature in midi.time_signature_changes:
        piece = magenta_grid.Piece(0.0, end, signature.numerator, signature.denominator, qpm)
        if signature.time < end and not piece.has_16_step_bars:
            raise InputError(f"{name}: a {signature.numerator}/{signature.denominator} beat "
                             f"at {signature.time:.2f} s; GrooVAE reads 4/4 (16 sixteenths "
                             "a bar)")
    return qpm


def _track_names(midi: pretty_midi.PrettyMIDI) -> str:
    names = [f"{i} ({inst.name.strip() or pretty_midi.program_to_instrument_name(inst.program)})"
             for i, inst in enumerate(midi.instruments) if inst.notes]
    return ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")


def read_beat(path: str | Path, taps: bool = False, track: int | None = None) -> Beat:
    """The groove of the MIDI file ``path``: its drum track, or (``taps``) the onsets of
    ``track`` (default: a drum track, else the track with the most notes) on one channel."""
    name = printable(str(path))
    try:
        midi = read_midi(path)
    except MidiReadError as err:
        raise InputError(f"{name}: cannot read it as MIDI ({err})") from err
    playing = [(i, inst) for i, inst in enumerate(midi.instruments) if inst.notes]
    if not playing:
        raise InputError(f"{name}: no notes")
    qpm = _check_one_tempo_in_4_4(midi, name)
    if track is not None:
        if not any(i == track for i, _ in playing):
            raise InputError(f"{name}: no track {track} with notes (tracks with notes: "
                             f"{_track_names(midi)})")
        chosen = [inst for i, inst in playing if i == track]
    else:
        chosen = [inst for _, inst in playing if inst.is_drum]
        if not chosen and not taps:
            raise InputError(f"{name}: no track on the drum channel (MIDI channel 10); its "
                             f"tracks are {_track_names(midi)}: humanize reads a drum track")
        if not chosen:
            chosen = [max((inst for _, inst in playing), key=lambda i: len(i.notes))]
    notes = [n for inst in chosen for n in inst.notes if n.velocity]
    if taps:
        classes = np.full(len(notes), G.TAP_CLASS, dtype=np.int64)
    else:
        classes = G.CLASS_OF_PITCH[np.array([n.pitch for n in notes], dtype=np.int64)]
        notes = [n for n, c in zip(notes, classes, strict=True) if c >= 0]
        classes = classes[classes >= 0]
        if not notes:
            raise InputError(f"{name}: no hit of a drum class on the drum channel")
    piece = magenta_grid.Piece(0.0, float("inf"), 4, 4, qpm)
    groove, cut = G.groove_of_piece(piece, np.array([n.start for n in notes]),
                                    np.array([n.velocity for n in notes], dtype=np.int64),
                                    classes, MAX_STEPS)
    index = midi.instruments.index(chosen[0])
    label = (f"track {index} ({chosen[0].name.strip() or 'drums'})" if len(chosen) == 1
             else f"{len(chosen)} drum tracks")
    return Beat(groove, qpm, label, cut)


def perform(model, groove: np.ndarray, temperature: float = 0.0,
            seed: int | None = None, keep_hits: bool = False) -> np.ndarray:
    """``groove [steps, 27]`` (whole bars) through ``model`` (a GrooVAE ``TrainedModel``),
    window after window of its length: ``float32 [steps, 27]``. ``keep_hits``: the input's
    hits stay, the model gives their feel (:func:`feel_of_hits`); else it decodes freely at
    ``temperature``, as Magenta's models do."""
    if model.representation.name != "groove":
        raise InputError(f"the model reads {model.representation.name}, not grooves: give a "
                         "GrooVAE model (gmd-groovae-2bar-humanize or -tap2drum)")
    length = model.seq_len
    steps = len(groove)
    padded = np.zeros((-(-steps // length) * length, G.ITEM_SIZE), dtype=np.float32)
    padded[:steps] = groove
    windows = padded.reshape(-1, length, G.ITEM_SIZE)
    out = np.zeros_like(windows)
    played = G.hits(windows).any(axis=(1, 2))
    if played.any():
        out[played] = (feel_of_hits(model, windows[played]) if keep_hits
                       else model.reconstruct(windows[played], temperature, seed))
    return out.reshape(-1, G.ITEM_SIZE)[:steps]


@torch.no_grad()
def feel_of_hits(model, windows: np.ndarray, passes: int = 2) -> np.ndarray:
    """Velocities and offsets for the hits of ``windows [N, T, 27]`` as they are: the
    decoder, started from the windows' codes (z = mu), is fed those hits with its own feel
    so far (teacher forcing on them, ``passes`` times). It was trained to predict a zero
    velocity and offset where no hit comes, so what it predicts is the hit's chance times its
    feel; divided by that chance (at least ``MIN_HIT_CHANCE``), it is the feel of a hit
    there. ``float32 [N, T, 27]``, the hits of ``windows``."""
    vae = model.model.eval()
    items = torch.as_tensor(np.asarray(windows, dtype=np.float32), device=model.device)
    mu, _ = vae.encode(items)
    hits = items[..., G.HITS]
    guided = G.transform_input(items, humanize=True)
    for _ in range(passes):
        outputs, _ = vae.decoder(mu, guided)
        logits, velocities, offsets = split_outputs(outputs)
        chance = torch.sigmoid(logits).clamp_min(MIN_HIT_CHANCE)
        guided[..., G.VELOCITIES] = (velocities / chance).clamp(0, 1) * hits
        guided[..., G.OFFSETS] = (offsets / chance).clamp(-1, 1) * hits
    return guided.cpu().numpy()
