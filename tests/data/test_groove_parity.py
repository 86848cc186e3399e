"""The groove representation against Magenta's GrooveConverter, window for window.

The reference (``magenta_groove_reference.py``) reads each file with note-seq and runs the
converter restated loop for loop (``split_bars=2, hop_size=16``: the 2-bar windows at a hop of
one bar that Magenta trained on, as TFDS's ``groove/2bar`` cuts them; the converter gives
nothing for a chunk without notes, so windows without a hit are left out). Ours is the
training path: the folder scan, the cache and the window index, items of the dataset. The
encoder's inputs (humanize, tapify, fixed velocities) and the MIDI written back are compared
too, on real Groove files and on files made for one rule each.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import torch
from magenta_groove_reference import from_tensors, read_sequence, to_tensors

from symusic.data import groove_windows as G
from symusic.data.dataset import MelodyCollection, WindowDataset
from symusic.data.groove import groove_file
from symusic.data.representation import get_representation

GROOVE = get_representation("groove")
REAL_FILES = ("drummer1/session1/1_funk_80_beat_4-4.mid",
              "drummer1/session1/43_latin-samba_116_fill_4-4.mid",
              "drummer1/session2/4_jazz_120_beat_3-4.mid",
              "drummer1/eval_session/10_soul-groove10_102_beat_4-4.mid")


def magenta_windows(path: Path, **transform) -> tuple[np.ndarray, np.ndarray]:
    """The converter's ``(inputs, outputs)`` windows of a file with a hit: ``[N, 32, 27]``."""
    inputs, outputs = to_tensors(read_sequence(path), split_bars=2, hop_size=16, **transform)
    kept = [i for i, window in enumerate(outputs) if window[:, :9].any()]
    empty = np.zeros((0, 32, 27))
    return (np.stack([inputs[i] for i in kept]) if kept else empty,
            np.stack([outputs[i] for i in kept]) if kept else empty)


def training_windows(folder: Path) -> dict[str, np.ndarray]:
    """``{file: windows [N, 32, 27]}`` as training reads ``folder``, in file order."""
    collection = MelodyCollection.from_folder(folder, num_processes=1, progress=False,
                                              representation="groove",
                                              cache_dir=folder.parent / "cache")
    dataset = WindowDataset(collection, 2)
    found: dict[str, list] = {p.name: [] for p in folder.iterdir()}
    for i, (sequence, _) in enumerate(dataset.index):
        name = Path(collection.paths[collection.melody_files[sequence]]).name
        found[name].append(dataset[i].numpy())
    return {name: np.stack(w) if w else np.zeros((0, 32, 27)) for name, w in found.items()}


@pytest.fixture(scope="module")
def groove_folder(tmp_path_factory) -> Path:
    """Four real Groove files: a beat, a one-bar fill, a 3/4 beat and a long rock beat."""
    folder = tmp_path_factory.mktemp("groove") / "files"
    folder.mkdir()
    for name in REAL_FILES:
        (folder / Path(name).name).write_bytes(groove_file(name))
    return folder


def test_real_groove_files_give_magentas_windows(groove_folder):
    ours = training_windows(groove_folder)
    total = 0
    for path in sorted(groove_folder.iterdir()):
        _, theirs = magenta_windows(path)
        # the index keeps a window's first occurrence in a file: no two are alike here
        assert ours[path.name].shape == theirs.shape, path.name
        np.testing.assert_allclose(ours[path.name], theirs, atol=1e-6, err_msg=path.name)
        total += len(theirs)
    assert total > 40
    assert len(ours["4_jazz_120_beat_3-4.mid"]) == 0  # 3/4: the converter gives nothing
    assert len(ours["43_latin-samba_116_fill_4-4.mid"]) == 0  # one bar: no 2-bar window


@pytest.mark.parametrize("transform", [{"humanize": True}, {"tapify": True},
                                       {"tapify": True, "fixed_velocities": True}])
def test_encoder_inputs_are_magentas(groove_folder, transform):
    path = groove_folder / Path(REAL_FILES[0]).name
    theirs_in, theirs_out = magenta_windows(path, **transform)
    ours = G.transform_input(torch.from_numpy(theirs_out.astype(np.float32)), **transform)
    np.testing.assert_allclose(ours.numpy(), theirs_in, atol=1e-6)
    again = G.transform_input(ours, **transform)  # a flat beat given by a user reads the same
    np.testing.assert_array_equal(again.numpy(), ours.numpy())


def write_drums(path: Path, notes: list[tuple[int, int, int]], qpm: float = 120.0) -> Path:
    """A drum file of ``(pitch, velocity, start tick)`` notes at 480 ticks a quarter."""
    midi = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=qpm)
    drums = pretty_midi.Instrument(0, is_drum=True)
    for pitch, velocity, tick in notes:
        start = midi.tick_to_time(tick)
        drums.notes.append(pretty_midi.Note(velocity, pitch, start, start + 0.05))
    midi.instruments.append(drums)
    midi.write(str(path))
    return path


EDGE_CASES = {
    # a hit exactly half a step late rounds up to the next step, offset +1
    "half_step_late": [(36, 100, 0), (38, 90, 60), (42, 80, 120 * 9 + 60), (36, 90, 1920)],
    # two snares in one step: the louder is kept, whichever comes first
    "two_snares": [(36, 100, 0), (38, 40, 480), (40, 110, 490), (38, 70, 120 * 20)],
    # a flam: a soft grace note a 32nd before a loud one on the same step
    "flam": [(38, 30, 480 - 50), (38, 120, 480), (36, 90, 960), (38, 25, 2400 - 40),
             (38, 100, 2400)],
    # velocities 1 and 127, and two equal velocities (the first is kept)
    "velocity_ends": [(36, 1, 0), (36, 127, 240), (42, 64, 30), (42, 64, 20), (51, 127, 1900)],
    # a 3-bar file at another tempo
    "tempo_97": [(36, 100, 0), (38, 100, 1440 + 7), (46, 50, 120 * 40 - 13)],
}


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_edge_cases_give_magentas_windows(tmp_path, case):
    folder = tmp_path / "files"
    folder.mkdir()
    qpm = 97.0 if case == "tempo_97" else 120.0
    path = write_drums(folder / f"{case}.mid", EDGE_CASES[case], qpm)
    _, theirs = magenta_windows(path)
    ours = training_windows(folder)[path.name]
    assert len(theirs) > 0
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    for transform in ({"humanize": True}, {"tapify": True}):
        theirs_in, _ = magenta_windows(path, **transform)
        ours_in = G.transform_input(torch.from_numpy(ours), **transform).numpy()
        np.testing.assert_allclose(ours_in, theirs_in, atol=1e-6)


def test_edge_case_values(tmp_path):
    """The rules themselves, on the windows above (so a shared mistake cannot pass)."""
    sequence = GROOVE.extract(pretty_midi.PrettyMIDI(str(write_drums(
        tmp_path / "a.mid", EDGE_CASES["half_step_late"]))), None).melodies[0].melody
    assert sequence[1, 1] == 1 and sequence[1, 18 + 1] == pytest.approx(1.0)
    assert sequence[0, 1] == 0
    sequence = GROOVE.extract(pretty_midi.PrettyMIDI(str(write_drums(
        tmp_path / "b.mid", EDGE_CASES["two_snares"]))), None).melodies[0].melody
    assert sequence[4, 9 + 1] == pytest.approx(110 / 127)  # the louder of the two
    assert sequence[4, 18 + 1] == pytest.approx(-10 / 120 * 2)  # 10 ticks late
    sequence = GROOVE.extract(pretty_midi.PrettyMIDI(str(write_drums(
        tmp_path / "c.mid", EDGE_CASES["velocity_ends"]))), None).melodies[0].melody
    assert sequence[0, 9] == pytest.approx(1 / 127) and sequence[2, 9] == pytest.approx(1.0)
    # of two hits of velocity 64, the first in the file (the one at tick 20)
    assert sequence[0, 18 + 2] == pytest.approx(-20 / 120 * 2)


def test_midi_out_is_magentas(groove_folder):
    """Our MIDI of windows against ``from_tensors`` at 120 bpm: the same hits, velocities
    and times, except that ours keeps a hit before 0 s at 0 s."""
    _, windows = magenta_windows(groove_folder / Path(REAL_FILES[3]).name)
    windows = windows[:6]
    theirs = from_tensors(windows)
    for window, expected in zip(windows, theirs, strict=True):
        notes = G.groove_to_midi(window.astype(np.float32), tempo=120.0).instruments[0].notes
        ours = sorted((n.pitch, n.velocity, n.start, n.end) for n in notes)
        want = sorted((p, v, max(s, 0.0), max(s, 0.0) + 0.125) for p, v, s, _ in expected)
        assert [n[:2] for n in ours] == [n[:2] for n in want]
        np.testing.assert_allclose([n[2:] for n in ours], [n[2:] for n in want], atol=1e-6)
    # and read back, the hits, velocities and offsets come back (to MIDI's tick rounding)
    path = groove_folder.parent / "back.mid"
    GROOVE.write_midi(windows[1], path)
    back = GROOVE.extract(pretty_midi.PrettyMIDI(str(path)), None).melodies[0].melody[:32]
    np.testing.assert_array_equal(back[:, :9], windows[1][:, :9])
    np.testing.assert_allclose(back[:, 9:18], np.round(windows[1][:, 9:18] * 127) / 127,
                               atol=1e-6)
    np.testing.assert_allclose(back[:, 18:], windows[1][:, 18:], atol=2 / 120 * 2)
