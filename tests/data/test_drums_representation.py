"""The drums representation's own rules: tokens as sets of classes, the encoder's roll input,
no transposition, its settings and its cache, on a few real Groove files."""

from __future__ import annotations

import numpy as np
import pytest

from symusic.data import drum_tracks
from symusic.data.dataset import MelodyCollection, WindowDataset, make_train_loader
from symusic.data.groove import unpack_groove
from symusic.data.representation import DRUMS, get_representation
from symusic.data.settings import DataSettings


@pytest.fixture(scope="module")
def groove_train(tmp_path_factory):
    root = tmp_path_factory.mktemp("groove-few")
    unpack_groove(root, limit=2, show_progress=False)
    return root / "train"


def test_a_token_is_the_set_of_classes_hit():
    tokens = np.arange(512)
    np.testing.assert_array_equal(drum_tracks.classes_token(drum_tracks.token_classes(tokens)),
                                  tokens)
    assert DRUMS.notes(np.array([0, 1 | 4, 256])) == [(36, 1, 2), (42, 1, 2), (51, 2, 3)]
    with pytest.raises(ValueError, match="0..511"):
        DRUMS.notes(np.array([512]))
    assert get_representation("drums") is DRUMS and DRUMS.vocab_size == 512


def test_the_encoder_reads_nine_hit_bits_and_a_no_hit_bit():
    table = DRUMS.encoder_input_table()
    assert table.shape == (512, 10) and table.dtype == np.float32
    assert table[0].tolist() == [0] * 9 + [1]
    assert table[1 | 2].tolist() == [1, 1] + [0] * 8
    assert (table[1:, 9] == 0).all() and (table[:, :9].sum(axis=1) == [bin(t).count("1")
                                                                       for t in range(512)]).all()


def test_drums_never_transpose_and_read_only_the_magenta_way(groove_train):
    collection = MelodyCollection.from_folder(groove_train, representation="drums",
                                              num_processes=1, progress=False)
    assert collection.tokens.dtype == np.uint16 and collection.representation is DRUMS
    dataset = WindowDataset(collection, 2)
    assert (dataset.shift_bounds() == 0).all()
    np.testing.assert_array_equal(dataset.window(3, 7), dataset.window(3))
    batch = next(iter(make_train_loader(dataset, batch_size=4, transpose=5)))
    assert batch.shape == (4, 32) and int(batch.max()) < 512
    with pytest.raises(ValueError, match="reads MIDI by the magenta extraction"):
        DataSettings(representation="drums", extraction="any_meter")
    with pytest.raises(ValueError, match="reads MIDI by the magenta extraction"):
        MelodyCollection.from_folder(groove_train, representation="drums",
                                     extraction="any_meter", progress=False)


def test_a_melody_scan_of_drum_files_says_drums_only(groove_train, tmp_path):
    with pytest.raises(ValueError, match=r"no usable melody \(2 files: 0 used, 2 without "
                                         r"melody"):
        MelodyCollection.from_folder(groove_train, num_processes=1, progress=False,
                                     cache_dir=tmp_path)


def test_a_drum_scan_of_melody_files_says_why(tmp_path):
    import pretty_midi

    folder = tmp_path / "tunes"
    folder.mkdir()
    midi = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(0)
    piano.notes = [pretty_midi.Note(80, 60 + k, k * 0.5, k * 0.5 + 0.4) for k in range(16)]
    midi.instruments.append(piano)
    midi.write(str(folder / "tune.mid"))
    with pytest.raises(ValueError, match=r"no usable drum track \(1 files: 0 used, 1 without "
                                         r"drum track.*; 1 file has no track on the drum "
                                         r"channel \(MIDI channel 10\)"):
        MelodyCollection.from_folder(folder, representation="drums", num_processes=1,
                                     progress=False, cache_dir=tmp_path / "cache")
