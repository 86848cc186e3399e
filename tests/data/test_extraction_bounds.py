"""The work one MIDI file may cause: linear in its tempo and time-signature changes, bounded
in its events, and time signatures that make sense."""

from __future__ import annotations

import mido
import pytest

from symusic.data import extraction, magenta_grid
from symusic.data.midi_io import MAX_FILE_BYTES, MidiReadError, read_midi


def dense_tempo_map(path, changes: int, tracks: int, notes: int):
    """A file whose tempo changes every few ticks, with ``tracks`` tracks of sparse notes over
    the whole of it (each piece between two changes holds at most one note start)."""
    mid = mido.MidiFile(ticks_per_beat=480)
    tempo = mido.MidiTrack()
    mid.tracks.append(tempo)
    for i in range(changes):
        tempo.append(mido.MetaMessage("set_tempo", tempo=400_000 + (i % 7) * 10_000,
                                      time=0 if i == 0 else 4))
    gap = changes * 4 // notes
    for t in range(tracks):
        track = mido.MidiTrack()
        mid.tracks.append(track)
        for i in range(notes):
            track.append(mido.Message("note_on", note=60 + (i + t) % 12, velocity=80, time=0))
            track.append(mido.Message("note_off", note=60 + (i + t) % 12, velocity=0,
                                      time=gap))
    mid.save(path)
    return path


def test_splitting_at_changes_visits_only_the_pieces_where_notes_start(tmp_path, monkeypatch):
    midi = read_midi(dense_tempo_map(tmp_path / "dense.mid", changes=3000, tracks=12,
                                     notes=20))
    pieces = [p for p in magenta_grid.pieces(midi) if p.has_16_step_bars]
    assert len(pieces) > 2000
    calls = []
    quantize = magenta_grid.quantize_piece
    monkeypatch.setattr(magenta_grid, "quantize_piece",
                        lambda piece, *times: calls.append(piece) or quantize(piece, *times))
    found = extraction.locate_file_melodies(midi, extraction="magenta")
    assert len(calls) <= 12 * 20  # one piece per note start at most, not every piece per track
    # the same melodies as quantising every piece of every track
    expected = []
    for instrument in midi.instruments:
        times = magenta_grid.instrument_times(extraction._in_range(instrument))
        for piece in pieces:
            rows = quantize(piece, *times)
            expected += [melody for _, melody in extraction.locate_melodies(rows, min_music=0)]
    assert [m.tolist() for m in expected] == [m.melody.tolist() for m in found.melodies]
    assert len(found.melodies) == 12 * 20


def test_a_file_past_the_size_bound_is_refused_before_it_is_parsed(tmp_path):
    """A legal file of 750,000 one-tick notes (4.5 MB, running status) would take mido about
    11 s and 750 MB; it is refused by its size, at once."""
    events = b"\x00\x90\x3c\x50" + b"\x01\x3c\x00\x00\x3c\x50" * 750_000 + b"\x00\xff\x2f\x00"
    header = b"MThd" + (6).to_bytes(4, "big") + (0).to_bytes(2, "big") + (1).to_bytes(2, "big") \
        + (480).to_bytes(2, "big")
    path = tmp_path / "notes.mid"
    path.write_bytes(header + b"MTrk" + len(events).to_bytes(4, "big") + events)
    assert path.stat().st_size > MAX_FILE_BYTES
    with pytest.raises(MidiReadError, match="too large"):
        read_midi(path)


def test_a_time_signature_of_4_over_2_to_the_255_is_refused(tmp_path):
    """Its denominator byte is an exponent: 4/2^255 made bar numbers like 7.5e72."""
    meta = b"\x00\xff\x58\x04\x04\xff\x18\x08"  # time signature 4 / 2^255
    events = meta + b"\x00\x90\x3c\x50\x83\x60\x80\x3c\x00\x00\xff\x2f\x00"
    header = b"MThd" + (6).to_bytes(4, "big") + (0).to_bytes(2, "big") + (1).to_bytes(2, "big") \
        + (480).to_bytes(2, "big")
    path = tmp_path / "meter.mid"
    path.write_bytes(header + b"MTrk" + len(events).to_bytes(4, "big") + events)
    with pytest.raises(MidiReadError, match="bad time signature") as caught:
        read_midi(path)
    assert caught.value.reason == "bad time signature" and "4/2^255" in str(caught.value)
