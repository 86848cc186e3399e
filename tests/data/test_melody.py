"""Token constants and melody extraction / slicing on crafted MIDI files."""

import mido
import numpy as np
import pretty_midi
import pytest

from symusic.data import tokens
from symusic.data.extraction import extract_melodies
from symusic.data.melody import slice_windows, unique_window_index
from symusic.data.midi_io import read_midi
from symusic.data.tokens import NO_EVENT, NOTE_OFF, pitch_to_token


def melody(*events, length=None):
    """Token array from ``(step, token)`` pairs, NO_EVENT elsewhere."""
    steps = max(s for s, _ in events) + 1
    out = np.zeros(length or -(-steps // 16) * 16, dtype=np.uint8)
    for step, token in events:
        out[step] = token
    return out


def T(pitch):  # noqa: N802 - reads like a token
    return pitch_to_token(pitch)


def extract(write_melody_midi, tmp_path, notes, extraction="magenta", **options):
    path = write_melody_midi(tmp_path / "m.mid", notes, **options)
    return extract_melodies(read_midi(path), extraction=extraction)


def assert_melodies(actual, expected):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        assert a.dtype == np.uint8
        np.testing.assert_array_equal(a, e)


def test_token_constants():
    assert (tokens.NO_EVENT, tokens.NOTE_OFF, tokens.NUM_CLASSES) == (0, 1, 90)
    assert tokens.STEPS_PER_BAR == 16 and tokens.STEPS_PER_QUARTER == 4
    assert pitch_to_token(21) == 2 and pitch_to_token(108) == 89
    assert all(tokens.token_to_pitch(pitch_to_token(p)) == p for p in range(21, 109))
    with pytest.raises(ValueError):
        pitch_to_token(109)
    with pytest.raises(ValueError):
        tokens.token_to_pitch(NOTE_OFF)


def test_simple_melody_with_note_offs(write_melody_midi, tmp_path):
    # a rest before the next onset leaves a NOTE_OFF; touching notes do not
    notes = [(60, 0, 2), (62, 4, 8), (64, 8, 20)]
    expected = melody((0, T(60)), (2, NOTE_OFF), (4, T(62)), (8, T(64)), (20, NOTE_OFF),
                      length=32)
    assert_melodies(extract(write_melody_midi, tmp_path, notes), [expected])


def test_note_ending_on_bar_line_has_no_final_note_off(write_melody_midi, tmp_path):
    got = extract(write_melody_midi, tmp_path, [(60, 0, 8), (62, 8, 16)])
    assert_melodies(got, [melody((0, T(60)), (8, T(62)), length=16)])


def test_same_onset_keeps_highest_pitch(write_melody_midi, tmp_path):
    notes = [(60, 0, 8), (67, 0, 4), (64, 0, 16), (72, 8, 16)]
    expected = melody((0, T(67)), (4, NOTE_OFF), (8, T(72)), length=16)
    assert_melodies(extract(write_melody_midi, tmp_path, notes), [expected])


def test_new_onset_ends_the_note_before(write_melody_midi, tmp_path):
    notes = [(60, 0, 16), (64, 4, 8), (67, 12, 16)]
    expected = melody((0, T(60)), (4, T(64)), (8, NOTE_OFF), (12, T(67)), length=16)
    assert_melodies(extract(write_melody_midi, tmp_path, notes), [expected])


def test_one_bar_of_silence_splits_the_melody(write_melody_midi, tmp_path):
    got = extract(write_melody_midi, tmp_path, [(60, 0, 16), (62, 40, 56)])
    # the second melody starts at the bar holding its first note (step 32)
    assert_melodies(got, [melody((0, T(60)), length=16),
                          melody((8, T(62)), (24, NOTE_OFF), length=32)])


def test_silence_shorter_than_a_bar_does_not_split(write_melody_midi, tmp_path):
    got = extract(write_melody_midi, tmp_path, [(60, 0, 16), (62, 31, 48)])
    assert_melodies(got, [melody((0, T(60)), (16, NOTE_OFF), (31, T(62)), length=48)])


def test_melody_starts_on_the_bar_of_its_first_note(write_melody_midi, tmp_path):
    got = extract(write_melody_midi, tmp_path, [(60, 36, 52)])
    assert_melodies(got, [melody((4, T(60)), (20, NOTE_OFF), length=32)])


def test_melody_shorter_than_a_bar_is_dropped_under_any_meter(write_melody_midi, tmp_path):
    notes = [(60, 0, 4), (62, 4, 8)]
    assert extract(write_melody_midi, tmp_path, notes, extraction="any_meter") == []
    # Magenta keeps every melody, padded to a bar
    assert_melodies(extract(write_melody_midi, tmp_path, notes),
                    [melody((0, T(60)), (4, T(62)), (8, NOTE_OFF), length=16)])


def test_out_of_range_pitches_are_dropped(write_melody_midi, tmp_path):
    notes = [(110, 0, 8), (60, 0, 16), (10, 16, 32)]
    assert_melodies(extract(write_melody_midi, tmp_path, notes), [melody((0, T(60)), length=16)])


def test_drum_track_and_non_melodic_programs_are_ignored(write_melody_midi, tmp_path):
    notes = [(60, 0, 16)]
    assert extract(write_melody_midi, tmp_path, notes, is_drum=True) == []
    assert extract(write_melody_midi, tmp_path, notes, program=40) == []  # violin
    path = write_melody_midi(tmp_path / "violin.mid", notes, program=40)
    assert len(extract_melodies(read_midi(path), programs=range(128))) == 1


def test_each_melodic_instrument_gives_its_own_melodies(write_melody_midi, tmp_path):
    path = write_melody_midi(tmp_path / "two.mid", [(60, 0, 16)])
    midi = read_midi(path)
    guitar = pretty_midi.Instrument(program=24)
    guitar.notes = [pretty_midi.Note(80, 48, 0.0, 2.0)]  # one bar at 120 bpm
    midi.instruments.append(guitar)
    got = extract_melodies(midi)
    assert_melodies(got, [melody((0, T(60)), length=16), melody((0, T(48)), length=16)])


def write_ticks(path, ticks_per_beat, events):
    """A type-0 MIDI file from ``(absolute tick, message)`` pairs."""
    track = mido.MidiTrack()
    now = 0
    for tick, message in sorted(events, key=lambda e: e[0]):
        track.append(message.copy(time=tick - now))
        now = tick
    mido.MidiFile(type=0, ticks_per_beat=ticks_per_beat, tracks=[track]).save(path)
    return path


def note(tick_on, tick_off, pitch):
    return [(tick_on, mido.Message("note_on", note=pitch, velocity=80)),
            (tick_off, mido.Message("note_off", note=pitch, velocity=0))]


def test_tempo_change_does_not_bend_the_grid(tmp_path):
    # 480 ticks a beat = 120 ticks a step; the tempo halves at step 8
    events = [(0, mido.MetaMessage("set_tempo", tempo=500_000)),
              (960, mido.MetaMessage("set_tempo", tempo=1_000_000))]
    events += note(0, 960, 60) + note(960, 1920, 62) + note(1920, 2880, 64)
    midi = read_midi(write_ticks(tmp_path / "tempo.mid", 480, events))
    assert midi.get_tempo_changes()[1].tolist() == [120.0, 60.0]
    expected = melody((0, T(60)), (8, T(62)), (16, T(64)), (24, NOTE_OFF), length=32)
    assert_melodies(extract_melodies(midi, extraction="any_meter"), [expected])
    # magenta splits at the tempo change and counts steps in seconds on each piece's tempo
    assert_melodies(extract_melodies(midi), [melody((0, T(60)), (8, NOTE_OFF), length=16),
                                             melody((0, T(62)), (8, T(64)), length=16)])


def test_ticks_round_to_the_nearest_step(tmp_path):
    # 96 ticks a beat = 24 ticks a step: tick 35 (1.46) -> 1, 37 (1.54) -> 2, 60 (2.5) -> 3
    events = note(35, 37, 60) + note(60, 62, 62) + note(96, 24 * 16, 64)
    midi = read_midi(write_ticks(tmp_path / "ticks.mid", 96, events))
    # the second note rounds to zero steps and lasts one, ending where the third starts
    expected = melody((1, T(60)), (2, NOTE_OFF), (3, T(62)), (4, T(64)), length=16)
    assert_melodies(extract_melodies(midi, extraction="any_meter"), [expected])


def test_music_past_max_steps_is_cut(write_melody_midi, tmp_path):
    path = write_melody_midi(tmp_path / "long.mid", [(60, 0, 16), (62, 16, 40), (64, 40, 64)])
    got = extract_melodies(read_midi(path), max_steps=32, extraction="any_meter")
    assert_melodies(got, [melody((0, T(60)), (16, T(62)), length=32)])


def test_magenta_cuts_each_melody_at_max_bars(write_melody_midi, tmp_path):
    path = write_melody_midi(tmp_path / "long.mid", [(60, 0, 16), (62, 16, 40), (64, 40, 64)])
    got = extract_melodies(read_midi(path), max_bars=2)
    assert_melodies(got, [melody((0, T(60)), (16, T(62)), length=32)])


def test_slice_windows_stride_drops_empty_and_duplicate_windows():
    a = melody((0, T(60)), length=16)
    rest = np.zeros(16, dtype=np.uint8)
    m = np.concatenate([a, rest, a, rest, a])
    one_bar = slice_windows(m, 1)
    np.testing.assert_array_equal(one_bar, a[None])
    two_bars = slice_windows(m, 2)
    np.testing.assert_array_equal(two_bars, np.stack([np.concatenate([a, rest]),
                                                      np.concatenate([rest, a])]))
    assert slice_windows(m, 6).shape == (0, 96)
    # the same melody twice in one file (group 0): duplicates across melodies drop out too;
    # in another file (group 1) its windows count again
    offsets = np.array([0, 80, 160, 240])
    index = unique_window_index(np.concatenate([m, m, m]), offsets, np.array([0, 0, 1]), 2)
    assert index.tolist() == [[0, 0], [0, 16], [2, 0], [2, 16]]
    small_chunks = unique_window_index(np.concatenate([m, m, m]), offsets, np.array([0, 0, 1]),
                                       2, chunk_rows=1)
    assert small_chunks.tolist() == index.tolist()


def test_slice_windows_stride_is_one_bar():
    m = np.zeros(64, dtype=np.uint8)
    m[::16] = [T(60), T(62), T(64), T(65)]
    windows = slice_windows(m, 2)
    assert windows.shape == (3, 32)
    assert [w[0] for w in windows] == [T(60), T(62), T(64)]
    assert all(w[16] == nxt for w, nxt in zip(windows, [T(62), T(64), T(65)], strict=True))
    assert NO_EVENT in windows[0]
