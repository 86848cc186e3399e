"""The representation seam: the melody representation's contract, the one registry, the record."""

import numpy as np
import pytest
from midi_files import toy_representation_class

from symusic.data import representation as rep
from symusic.data.midi_io import read_midi
from symusic.data.representation import MELODY, check_recorded, get_representation
from symusic.data.settings import DataSettings
from symusic.data.tokens import NO_EVENT, NOTE_OFF, pitch_to_token


def window(*events: tuple[int, int], length: int = 32) -> np.ndarray:
    """A melody of ``length`` steps with ``(step, token)`` events."""
    tokens = np.full(length, NO_EVENT, dtype=np.uint8)
    for step, token in events:
        tokens[step] = token
    return tokens


Toy = toy_representation_class()


def test_shape_bars_and_steps():
    assert MELODY.window_length(2) == 32 and MELODY.bars_in(32) == 2
    assert Toy().window_length(2) == 16 and Toy().bars_in(16) == 2
    with pytest.raises(ValueError, match="not a whole number of 16-step bars"):
        MELODY.bars_in(20)


def test_note_view_of_a_melody():
    w = window((0, pitch_to_token(60)), (4, NOTE_OFF), (8, pitch_to_token(67)),
               (10, pitch_to_token(64)))
    assert MELODY.notes(w) == [(60, 0, 4), (67, 8, 10), (64, 10, 32)]
    assert MELODY.onsets(w).nonzero()[0].tolist() == [0, 8, 10]
    assert MELODY.onset_pitches(w).tolist() == [60, 67, 64]
    with pytest.raises(ValueError, match=r"0\.\.89"):
        MELODY.check_tokens([0, 90])
    assert MELODY.check_tokens([[0, 89]]).dtype == np.int64


def test_transposition_is_clamped_to_the_piano():
    low = window((0, pitch_to_token(23)), (4, NOTE_OFF), (8, pitch_to_token(30)))
    empty = window((3, NOTE_OFF))
    assert MELODY.pitch_bounds(np.stack([low, empty])).tolist() == [[23, 30], [108, 21]]
    assert MELODY.shift_bounds(23, 30) == (-2, 78)
    assert MELODY.onset_pitches(MELODY.transpose(low, -5)).tolist() == [21, 28]  # clamped
    up = MELODY.transpose(low, 3)
    assert up.dtype == low.dtype and MELODY.onset_pitches(up).tolist() == [26, 33]
    assert up[4] == NOTE_OFF  # other tokens stay
    np.testing.assert_array_equal(MELODY.transpose(empty, 7), empty)


def test_cut_window_clears_leading_note_offs():
    melody = window((0, pitch_to_token(60)), (20, NOTE_OFF), (24, pitch_to_token(62)), length=48)
    cut = MELODY.cut_window(melody, 16, 16)
    assert cut[4] == NO_EVENT and cut[8] == pitch_to_token(62)
    assert melody[20] == NOTE_OFF  # the sequence itself is untouched


def test_midi_round_trip(tmp_path):
    w = window((0, pitch_to_token(60)), (6, NOTE_OFF), (16, pitch_to_token(72)), (20, NOTE_OFF))
    path = MELODY.write_midi([w, w], tmp_path / "deep" / "two.mid", tempo=90.0, gap_bars=1)
    found = MELODY.extract(read_midi(path), DataSettings(extraction="any_meter"))
    assert len(found.melodies) == 2
    for located in found.melodies:
        np.testing.assert_array_equal(located.melody, w)
    assert MELODY.notes(found.melodies[0].melody) == [(60, 0, 6), (72, 16, 20)]


def test_why_none_names_the_reason(tmp_path):
    path = MELODY.write_midi([window((0, pitch_to_token(60)))], tmp_path / "piano.mid")
    settings = DataSettings(programs=(40,))
    midi = read_midi(path)
    assert MELODY.extract(midi, settings).melodies == []
    assert MELODY.why_none(midi, settings) == "no melodic program"


def test_vocabulary_says_what_the_page_draws_with():
    assert MELODY.vocabulary() == {"vocab_size": 90, "no_event": 0, "note_off": 1,
                                   "first_pitch_token": 2, "min_pitch": 21,
                                   "steps_per_quarter": 4, "steps_per_bar": 16}


def test_one_registry_for_settings_and_lookup(monkeypatch):
    with pytest.raises(ValueError,
                       match=r"unknown representation 'toy' \(known: 'melody', 'drums', "
                             r"'groove', 'trio'\)"):
        DataSettings(representation="toy")
    monkeypatch.setitem(rep.REPRESENTATIONS, "toy", Toy())
    assert DataSettings(representation="toy").representation == "toy"
    assert isinstance(get_representation("toy"), Toy)


def test_recorded_representation_is_checked(monkeypatch):
    assert check_recorded(None) is MELODY  # a checkpoint from before the record
    assert check_recorded(MELODY.record()) is MELODY
    with pytest.raises(ValueError, match="melody vocabulary has 12 tokens; this version's has 90"):
        check_recorded({"name": "melody", "vocab_size": 12})
    with pytest.raises(ValueError, match="drums vocabulary has 9 tokens; this version's has 512"):
        check_recorded({"name": "drums", "vocab_size": 9})
    with pytest.raises(ValueError, match="unknown representation 'piano'"):
        check_recorded({"name": "piano", "vocab_size": 9})
    with pytest.raises(ValueError, match="must be a dict"):
        check_recorded(["melody"])
    monkeypatch.setitem(rep.REPRESENTATIONS, "toy", Toy())
    assert isinstance(check_recorded({"name": "toy", "vocab_size": 12}), Toy)
