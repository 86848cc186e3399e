"""MIDI round trips on the 16th-note grid, and every way read_midi refuses a bad file."""

import mido
import numpy as np
import pretty_midi
import pytest

from symusic.data.extraction import extract_melodies
from symusic.data.midi_io import (
    MidiReadError,
    melodies_to_midi,
    melody_notes,
    read_midi,
    read_midi_with_cut,
    write_melodies,
)
from symusic.data.tokens import NO_EVENT, NOTE_OFF, pitch_to_token


def notes_in_steps(midi: pretty_midi.PrettyMIDI, tempo: float = 120.0):
    step = 60.0 / tempo / 4
    return [(n.pitch, round(n.start / step), round(n.end / step))
            for i in midi.instruments for n in i.notes]


# notes that start in bar 0, with rests, touching notes, a note ending mid-bar at the end
GRID_NOTES = [(60, 0, 3), (62, 4, 8), (64, 8, 12), (65, 14, 16), (67, 16, 30), (72, 32, 44),
              (71, 44, 52), (69, 56, 58), (67, 60, 70)]


def test_midi_tokens_midi_round_trip_is_exact(write_melody_midi, tmp_path):
    source = write_melody_midi(tmp_path / "in.mid", GRID_NOTES)
    melodies = extract_melodies(read_midi(source))
    assert len(melodies) == 1 and len(melodies[0]) == 80
    out = write_melodies(melodies, tmp_path / "out.mid", tempo=90.0, program=5)
    midi = read_midi(out)
    assert midi.instruments[0].program == 5
    assert notes_in_steps(midi, tempo=90.0) == GRID_NOTES
    assert [n.velocity for n in midi.instruments[0].notes] == [80] * len(GRID_NOTES)
    np.testing.assert_array_equal(extract_melodies(midi)[0], melodies[0])


def test_window_starting_with_silence_starts_with_silence(tmp_path):
    window = np.zeros(32, dtype=np.uint8)
    window[4], window[8], window[12], window[20] = (
        pitch_to_token(60), NOTE_OFF, pitch_to_token(64), pitch_to_token(67))
    midi = read_midi(write_melodies(window, tmp_path / "w.mid"))
    notes = midi.instruments[0].notes
    assert notes[0].start == pytest.approx(0.5)  # 4 steps at 120 bpm
    assert notes_in_steps(midi) == [(60, 4, 8), (64, 12, 20), (67, 20, 32)]
    np.testing.assert_array_equal(extract_melodies(midi)[0], window)


def test_several_melodies_play_one_after_another():
    a = np.zeros(16, dtype=np.uint8)
    a[0] = pitch_to_token(60)
    b = np.zeros(32, dtype=np.uint8)
    b[4], b[6] = pitch_to_token(62), NOTE_OFF
    assert notes_in_steps(melodies_to_midi([a, b])) == [(60, 0, 16), (62, 20, 22)]
    assert notes_in_steps(melodies_to_midi([a, b], gap_bars=1)) == [(60, 0, 16), (62, 36, 38)]
    assert notes_in_steps(melodies_to_midi(np.stack([a, a]))) == [(60, 0, 16), (60, 16, 32)]


def test_melody_notes_rejects_bad_tokens():
    assert melody_notes(np.array([NO_EVENT, NOTE_OFF])) == []
    with pytest.raises(ValueError):
        melody_notes(np.array([90]))


def save(path, ticks_per_beat=480, messages=(), raw=None):
    if raw is not None:
        path.write_bytes(raw)
        return path
    track = mido.MidiTrack(list(messages))
    mido.MidiFile(ticks_per_beat=ticks_per_beat, tracks=[track]).save(path)
    return path


GOOD = [mido.Message("note_on", note=60, velocity=80, time=0),
        mido.Message("note_off", note=60, velocity=0, time=1920)]


@pytest.mark.parametrize(("name", "reason"), [
    ("empty", "empty file"),
    ("text", "not a MIDI file"),
    ("truncated", "truncated"),
    ("corrupt", "corrupt"),
    ("zero_ticks", "bad ticks per beat"),
    ("negative_ticks", "bad ticks per beat"),
    ("zero_tempo", "bad tempo"),
    ("too_large", "too large"),
])
def test_read_midi_refuses_bad_files_with_a_reason(tmp_path, name, reason):
    path = tmp_path / f"{name}.mid"
    good = save(tmp_path / "good.mid", messages=GOOD).read_bytes()
    max_bytes = 50 * 2**20
    if name == "empty":
        save(path, raw=b"")
    elif name == "text":
        save(path, raw=b"just some notes, not a MIDI file\n")
    elif name == "truncated":
        save(path, raw=good[:-9])
    elif name == "corrupt":
        save(path, raw=good[:14] + b"MTrk\x00\x00\x00\x04\x00\x40\x40\x40")  # no status
    elif name == "zero_ticks":
        save(path, ticks_per_beat=0, messages=GOOD)
    elif name == "negative_ticks":  # a header division of 0xFFFF (SMPTE or garbage)
        save(path, raw=good[:12] + b"\xff\xff" + good[14:])
    elif name == "zero_tempo":
        save(path, messages=[mido.MetaMessage("set_tempo", tempo=0)] + GOOD)
    elif name == "too_large":
        save(path, messages=GOOD)
        max_bytes = 10
    with pytest.raises(MidiReadError) as error:
        read_midi(path, max_bytes=max_bytes)
    assert error.value.reason == reason
    assert str(error.value).startswith(reason)


def test_read_midi_reads_a_good_file(tmp_path):
    midi = read_midi(save(tmp_path / "good.mid", messages=GOOD))
    assert [(n.pitch, n.start, n.end) for n in midi.instruments[0].notes] == [(60, 0.0, 2.0)]


def test_read_midi_clips_out_of_range_data_bytes(tmp_path):
    good = save(tmp_path / "good.mid", messages=GOOD).read_bytes()
    assert good.count(b"\x90\x3c\x50") == 1  # note_on, pitch 60, velocity 80
    path = save(tmp_path / "loud.mid", raw=good.replace(b"\x90\x3c\x50", b"\x90\x3c\xc8"))
    midi = read_midi(path)
    assert [(n.pitch, n.velocity) for n in midi.instruments[0].notes] == [(60, 127)]


def test_music_is_bound_by_time_not_ticks(tmp_path):
    # a real 90-minute file at 960 ticks per beat (10.4 million ticks) was refused as "absurd
    # tick values"; its first hour is read now
    beat = [mido.Message("note_on", note=60, velocity=80, time=0),
            mido.Message("note_off", note=60, velocity=0, time=960)]
    path = save(tmp_path / "long.mid", ticks_per_beat=960, messages=beat * (90 * 120))
    midi, cut = read_midi_with_cut(path)
    notes = midi.instruments[0].notes
    assert cut and len(notes) == 60 * 120 and notes[-1].end == pytest.approx(3600.0)
    # an absurd last delta (a corrupt file) cuts the note it ends at the one-hour mark
    late = save(tmp_path / "late.mid", messages=[GOOD[0], GOOD[1].copy(time=2**27)])
    midi, cut = read_midi_with_cut(late)
    assert not cut and midi.instruments[0].notes[0].end == pytest.approx(3600.0)
