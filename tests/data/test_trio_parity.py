"""The trio representation against Magenta's trio converter, window for window.

The reference (``magenta_trio_reference.py``) runs note-seq's MIDI reading, time-change
split, quantisation, ``Melody`` and ``DrumTrack`` with magenta's ``TrioConverter`` and its two
sub-converters restated (``hierdec-trio_16bar``'s settings, no random subsampling). Ours is
:func:`symusic.data.trio_tracks.locate_trios` (the converter's list, in its order, from the
runs' windows) and the training path (the folder scan, the cache and the window index, which
keeps each distinct window of a file once). Files: the real multi-track fixtures in
``../shared/data/multitrack`` (read in place, never copied) and one generated file per rule.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from magenta_trio_reference import magenta_trio_windows
from trio_files import MULTITRACK, second_bass, too_high, trio_file

from symusic.data import trio_tracks
from symusic.data.dataset import MelodyCollection, WindowDataset
from symusic.data.midi_io import read_midi
from symusic.data.representation import get_representation


def our_list(path: Path, slice_bars: int) -> list[tuple]:
    """Every window of the file's runs, in order, as Magenta's list holds them."""
    windows = []
    length = slice_bars * 16
    for located in trio_tracks.locate_trios(read_midi(path)).melodies:
        tokens = located.melody
        for start in range(0, len(tokens) - length + 1, 16):
            windows.append(tuple(map(tuple, tokens[start:start + length].tolist())))
    return windows


def training_windows(folder: Path, slice_bars: int, cache: Path) -> dict[str, set]:
    """``{file name: distinct windows}`` as training reads ``folder``."""
    collection = MelodyCollection.from_folder(folder, num_processes=1, progress=False,
                                              representation="trio", cache_dir=cache)
    dataset = WindowDataset(collection, slice_bars)
    found: dict[str, set] = {}
    for i, (sequence, _) in enumerate(dataset.index):
        name = Path(collection.paths[collection.melody_files[sequence]]).name
        found.setdefault(name, set()).add(tuple(map(tuple, dataset.window(i).tolist())))
    return found


@pytest.mark.skipif(not MULTITRACK.is_dir(), reason="../shared/data/multitrack is not here")
@pytest.mark.parametrize("slice_bars", [16, 4])
def test_real_multitrack_files_window_for_window(slice_bars, tmp_path):
    files = sorted(MULTITRACK.glob("*.mid"))
    assert len(files) == 12
    total = 0
    for path in files:
        theirs = magenta_trio_windows(path, slice_bars)
        assert our_list(path, slice_bars) == theirs, path.name
        total += len(theirs)
    assert total > 1000 if slice_bars == 16 else total > 1300  # the fixtures hold trios
    ours = training_windows(MULTITRACK, slice_bars, tmp_path / "cache")
    for path in files:
        assert ours.get(path.name, set()) == set(magenta_trio_windows(path, slice_bars)), \
            path.name


def generated(folder: Path) -> list[Path]:
    folder.mkdir()
    return [
        trio_file(folder / "whole.mid"),
        # the bass rests bars 6-8: within gap_bars either side it still counts...
        trio_file(folder / "bass_rests_3_bars.mid", bass_bars=[*range(6), *range(9, 24)]),
        # ...a rest of 5 bars splits the trio; the drums leave for the last 3 bars
        trio_file(folder / "bass_rests_5_bars.mid", bass_bars=[*range(6), *range(11, 24)],
                  drum_bars=range(21)),
        trio_file(folder / "melody_on_program_40.mid", melody_program=40),
        trio_file(folder / "drums_with_a_program.mid", drum_program=25),
        trio_file(folder / "two_bass_tracks.mid", extra=[second_bass]),
        # notes above 108 cover their bars but encode nothing: a lead of its own, empty
        trio_file(folder / "lead_out_of_range.mid", melody_bars=range(12), extra=[too_high]),
        trio_file(folder / "tempo_change.mid", bars=36, tempo_change_bar=18),
        trio_file(folder / "meter_changes.mid", bars=40,
                  meters=[(4, 4, 0), (3, 4, 20), (4, 4, 26)]),
    ]


@pytest.mark.parametrize("slice_bars", [16, 4])
def test_generated_files_window_for_window(slice_bars, tmp_path):
    files = generated(tmp_path / "trios")
    counts = {}
    for path in files:
        theirs = magenta_trio_windows(path, slice_bars)
        assert our_list(path, slice_bars) == theirs, path.name
        counts[path.name] = len(theirs)
    ours = training_windows(tmp_path / "trios", slice_bars, tmp_path / "cache")
    for path in files:
        assert ours.get(path.name, set()) == set(magenta_trio_windows(path, slice_bars)), \
            path.name
    if slice_bars == 4:
        # the rules the files exercise hold as intended, not only alike
        assert counts["whole.mid"] == 21
        assert counts["bass_rests_3_bars.mid"] == 21  # 3 silent bars fill in
        assert counts["melody_on_program_40.mid"] == 0  # program 40 is neither part
        assert counts["drums_with_a_program.mid"] == 21  # the drum channel decides
        # the second bass plays bars 4-19, widened to 2-21; the first and last two bars count
        # because another part plays there: both basses give every window
        assert counts["two_bass_tracks.mid"] == 21 + 21
        assert counts["bass_rests_5_bars.mid"] < counts["whole.mid"]


def test_a_file_missing_a_part_names_it(tmp_path):
    path = trio_file(tmp_path / "no_bass.mid", bass_bars=[])
    assert trio_tracks.why_no_trio(read_midi(path)) == "no bass (programs 32-39)"
    assert not trio_tracks.locate_trios(read_midi(path)).melodies
    assert magenta_trio_windows(path, 4) == []


def test_windows_go_back_to_three_tracks(tmp_path):
    trio = get_representation("trio")
    path = trio_file(tmp_path / "whole.mid")
    window = our_list(path, 4)[0]
    midi = trio.to_midi(np.array(window), tempo=120)
    assert [(i.name, i.program, i.is_drum) for i in midi.instruments] == [
        ("lead", 0, False), ("bass", 33, False), ("drums", 0, True)]
    written = trio.write_midi(np.array(window), tmp_path / "out.mid")
    again = trio_tracks.locate_trios(read_midi(written)).melodies
    assert tuple(map(tuple, again[0].melody[:64].tolist())) == window
