"""Trio test files: the real multi-track fixtures (read in place, never copied into the repo)
and generated files of a lead, a bass and drums."""

from __future__ import annotations

from pathlib import Path

import pretty_midi

MULTITRACK = Path(__file__).resolve().parents[2] / "shared" / "data" / "multitrack"


def linked_multitrack(folder: Path) -> Path:
    """``folder`` holding a link to each fixture (so scans cache there, not in shared data)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(MULTITRACK.glob("*.mid")):
        (folder / path.name).symlink_to(path)
    return folder


TICKS_PER_STEP = 120  # at 480 ticks a quarter


def _notes(midi: pretty_midi.PrettyMIDI, instrument: pretty_midi.Instrument, pitch: int, bars,
           step_every: int = 4, length: int = 3) -> None:
    for bar in bars:
        for step in range(0, 16, step_every):
            tick = (bar * 16 + step) * TICKS_PER_STEP
            instrument.notes.append(pretty_midi.Note(
                90, pitch + step % 5, midi.tick_to_time(tick),
                midi.tick_to_time(tick + length * TICKS_PER_STEP)))


def trio_file(path: Path, bars: int = 24, melody_bars=None, bass_bars=None, drum_bars=None,
              melody_program: int = 0, drum_program: int = 0, extra=(),
              tempo_change_bar: int | None = None, meters=()) -> Path:
    """A lead (program ``melody_program``), a bass (33) and drums playing ``bars`` bars (or
    the bars given), ``extra(midi)`` instruments, a change to 90 qpm at ``tempo_change_bar``
    and time signatures ``(numerator, denominator, bar)``."""
    midi = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=120)
    if tempo_change_bar is not None:
        midi._tick_scales = [(0, 60.0 / (120 * 480)),
                             (tempo_change_bar * 16 * TICKS_PER_STEP, 60.0 / (90 * 480))]
    midi._update_tick_to_time((bars + 8) * 16 * TICKS_PER_STEP)
    midi.time_signature_changes = [
        pretty_midi.TimeSignature(n, d, midi.tick_to_time(bar * 16 * TICKS_PER_STEP))
        for n, d, bar in meters]
    lead = pretty_midi.Instrument(melody_program, name="lead")
    bass = pretty_midi.Instrument(33, name="bass")
    drums = pretty_midi.Instrument(drum_program, is_drum=True, name="drums")
    _notes(midi, lead, 60, melody_bars if melody_bars is not None else range(bars), 2, 2)
    _notes(midi, bass, 36, bass_bars if bass_bars is not None else range(bars), 4, 4)
    _notes(midi, drums, 36, drum_bars if drum_bars is not None else range(bars), 2, 1)
    midi.instruments.extend([lead, bass, drums, *(make(midi) for make in extra)])
    midi.write(str(path))
    return path


def second_bass(midi: pretty_midi.PrettyMIDI) -> pretty_midi.Instrument:
    bass = pretty_midi.Instrument(38, name="synth bass")
    _notes(midi, bass, 40, range(4, 20), 8, 8)
    return bass


def too_high(midi: pretty_midi.PrettyMIDI) -> pretty_midi.Instrument:
    high = pretty_midi.Instrument(5, name="too high")
    _notes(midi, high, 115, range(12, 24), 4, 2)
    return high
