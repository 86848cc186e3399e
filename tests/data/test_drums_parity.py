"""The drums representation against Magenta's drum converter, window for window.

The reference (``magenta_drums_reference.py``) runs note-seq's MIDI reading, time-change
split, quantisation, ``DrumTrack`` and ``MultiDrumOneHotEncoding`` with magenta's
``extract_drum_tracks`` and ``DrumsConverter`` restated (cat-drums_2bar_small settings, no
random subsampling). Ours is the training path: the folder scan, the cache and the window
index. For every file the two sets of windows must be equal: real Groove files, one file per
rule Magenta applies, and random files. The encoder's roll input and the MIDI written back
are compared too.
"""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pytest
from magenta_drums_reference import (
    PITCH_CLASSES,
    magenta_drum_events,
    magenta_drum_notes,
    magenta_drum_windows,
    roll_input,
)

from symusic.data import drum_tracks
from symusic.data.dataset import MelodyCollection
from symusic.data.groove import groove_file, unpack_groove
from symusic.data.representation import DRUMS

STEP = 120  # ticks of a 16th note at 480 ticks per beat


def our_windows(folder: Path, slice_bars: int = 2) -> dict[str, set[tuple[int, ...]]]:
    """``{file: windows}`` as training reads ``folder`` (every file, empty sets included)."""
    found: dict[str, set[tuple[int, ...]]] = {p.name: set() for p in folder.iterdir()}
    try:
        collection = MelodyCollection.from_folder(
            folder, num_processes=1, progress=False, representation="drums",
            cache_dir=folder.parent / f"cache-{folder.name}")
    except ValueError:  # NoMelodiesError: no drum track in the whole folder
        return found
    length = slice_bars * 16
    for track, start in collection.window_index(slice_bars):
        path = collection.paths[collection.melody_files[track]]
        found[Path(path).name].add(tuple(collection.melody(track)[start:start + length].tolist()))
    return found


def assert_same_windows(folder: Path, slice_bars: int = 2) -> dict[str, set]:
    ours = our_windows(folder, slice_bars)
    for path in sorted(folder.iterdir()):
        theirs = magenta_drum_windows(path, slice_bars)
        assert ours[path.name] == theirs, (
            f"{path.name}: {len(ours[path.name] - theirs)} windows only ours, "
            f"{len(theirs - ours[path.name])} only Magenta's")
    return ours


@pytest.fixture(scope="module")
def groove_folder(tmp_path_factory) -> Path:
    """A few real Groove files in one folder: the first of each split, a 3/4 and a 6/8
    performance and a one-bar fill."""
    root = tmp_path_factory.mktemp("groove")
    unpack_groove(root / "unpacked", limit=2, show_progress=False)
    folder = root / "files"
    folder.mkdir()
    for path in sorted((root / "unpacked").rglob("*.mid")):
        (folder / path.name).write_bytes(path.read_bytes())
    for name in ("drummer1/session2/4_jazz_120_beat_3-4.mid",
                 "drummer1/session1/43_latin-samba_116_fill_4-4.mid"):
        (folder / Path(name).name).write_bytes(groove_file(name))
    return folder


def test_groove_files_give_magentas_windows(groove_folder):
    ours = assert_same_windows(groove_folder)
    assert sum(len(w) for w in ours.values()) > 100
    assert ours["43_latin-samba_116_fill_4-4.mid"] == set()  # one bar: no 2-bar window


def test_roll_input_and_midi_out_are_magentas(groove_folder):
    table = DRUMS.encoder_input_table()
    path = sorted(groove_folder.glob("*beat_4-4.mid"))[0]
    for events in magenta_drum_events(path)[:40]:
        tokens = np.array([drum_tracks.classes_token(np.isin(np.arange(9), list(e)))
                           for e in events])
        np.testing.assert_array_equal(table[tokens], roll_input(events))
        ours = [(n.pitch, n.start, n.end, n.velocity, True)
                for n in DRUMS.to_midi(tokens).instruments[0].notes]
        theirs = magenta_drum_notes(tokens)
        assert len(ours) == len(theirs)
        for a, b in zip(sorted(ours), theirs, strict=True):
            assert a[0] == b[0] and a[3:] == b[3:] and np.allclose(a[1:3], b[1:3])
    assert DRUMS.to_midi(tokens).instruments[0].is_drum


def test_pitch_classes_are_note_seqs():
    assert [list(c) for c in drum_tracks.DRUM_PITCH_CLASSES] == [list(c) for c in PITCH_CLASSES]


# --- generated edge cases ---------------------------------------------------------------------

def hits(*events, channel: int = 9, program: int = 0) -> mido.MidiTrack:
    """A track of ``(step, pitch)`` hits (steps may be fractional), each a 16th long."""
    timed = []
    for step, pitch in events:
        tick = round(step * STEP)
        timed.append((tick, 1, mido.Message("note_on", channel=channel, note=pitch, velocity=90)))
        timed.append((tick + STEP // 2, 0, mido.Message("note_off", channel=channel, note=pitch)))
    timed.sort(key=lambda e: (e[0], e[1]))
    track = mido.MidiTrack([mido.Message("program_change", channel=channel, program=program)])
    now = 0
    for tick, _, message in timed:
        track.append(message.copy(time=tick - now))
        now = tick
    return track


def write(path: Path, meta: list, *tracks: mido.MidiTrack) -> Path:
    """A type-1 file: a meta track of ``(tick, MetaMessage)`` and the given tracks."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta_track = mido.MidiTrack()
    now = 0
    for tick, message in sorted(meta, key=lambda e: e[0]):
        meta_track.append(message.copy(time=tick - now))
        now = tick
    mido.MidiFile(type=1, ticks_per_beat=480, tracks=[meta_track, *tracks]).save(path)
    return path


def tempo(step: float, bpm: float):
    return (round(step * STEP), mido.MetaMessage("set_tempo", tempo=round(60e6 / bpm)))


def meter(step: float, numerator: int, denominator: int):
    return (round(step * STEP), mido.MetaMessage("time_signature", numerator=numerator,
                                                 denominator=denominator))


BEAT = [(s, p) for bar in range(8) for s, p in
        [(16 * bar, 36), (16 * bar + 4, 38), (16 * bar + 8, 36), (16 * bar + 12, 38)]
        + [(16 * bar + 2 * k, 42) for k in range(8)]]


def test_edge_cases(tmp_path):
    folder = tmp_path / "edges"
    four = [meter(0, 4, 4)]
    # flams: two snares 30 ticks apart, and a kick a hair before a bar line (rounds into it)
    write(folder / "flams.mid", four, hits(*BEAT, (4.25, 38), (15.6, 36), (31.45, 40)))
    # two pitches of one class in one step (36 and 35, 42 and the Roland edge 22)
    write(folder / "same_class.mid", four, hits(*BEAT, (0, 35), (2, 22), (6, 44)))
    # gaps: 15 empty steps keep the track, 16 end it (the next starts on a later bar)
    write(folder / "gaps.mid", four, hits((0, 36), (16, 36), (33, 38), (64, 36), (90, 42)))
    # a tempo change inside bar 3: each side is quantised on its own tempo
    write(folder / "tempo.mid", [*four, tempo(0, 120), tempo(40, 90)], hits(*BEAT))
    # a 3/4 section between 4/4 ones: Magenta drops it
    write(folder / "meters.mid", [*four, meter(32, 3, 4), meter(56, 4, 4)],
          hits(*[(s, p) for s, p in BEAT if s < 32],
               *[(32 + 4 * k, 36) for k in range(6)], *[(s + 56, p) for s, p in BEAT]))
    # empty bars inside a groove, unknown pitches (20, 90) and a zero step
    write(folder / "empty_bars.mid", four,
          hits(*[(s, p) for s, p in BEAT if not 32 <= s < 48], (40, 20), (44, 90)))
    # a bass line on channel 10 (pretty_midi, so note-seq, calls it drums) and a kit's
    # pitches on a melodic channel (not drums)
    write(folder / "channels.mid", four, hits(*BEAT[:20], program=33),
          hits(*[(s + 1, 38) for s, _ in BEAT], channel=0))
    # only a melodic track: no drum track
    write(folder / "melody.mid", four, hits(*BEAT, channel=0))
    # 120 bars: cut at 100
    write(folder / "long.mid", four, hits(*[(16 * b + s, 46 if b >= 100 else p)
                                              for b in range(120) for s, p in BEAT[:12]]))
    ours = assert_same_windows(folder)
    assert ours["melody.mid"] == set() and ours["meters.mid"]
    assert all(not any(t & 8 for t in w) for w in ours["long.mid"])  # no open hi-hat (bars 100+)
    same = ours["same_class.mid"]
    assert all(set(w) <= {0, 1, 2, 4, 5, 6} for w in same)  # kick, snare, closed hi-hat only


def random_file(path: Path, rng: np.random.Generator) -> Path:
    """Hits anywhere near the grid, tempo and meter changes, drum and other channels."""
    total = int(rng.integers(4, 24)) * 16
    meta = [tempo(0, float(rng.uniform(60, 180))), meter(0, 4, 4)]
    for _ in range(int(rng.integers(0, 3))):
        meta.append(tempo(float(rng.integers(0, total)), float(rng.uniform(60, 180))))
    for _ in range(int(rng.integers(0, 2))):
        numerator, denominator = [(3, 4), (4, 4), (2, 2), (6, 8)][rng.integers(0, 4)]
        meta.append(meter(4 * float(rng.integers(0, total // 4)), numerator, denominator))
    pitches = [p for c in PITCH_CLASSES for p in c] + [20, 90, 100]
    tracks = []
    for channel in (9, 9, 0)[:int(rng.integers(1, 4))]:
        count = int(rng.integers(5, 80))
        starts = np.sort(rng.integers(0, total * 4, count)) / 4.0
        tracks.append(hits(*[(float(s), int(rng.choice(pitches))) for s in starts],
                           channel=channel))
    return write(path, meta, *tracks)


def test_random_files(tmp_path):
    rng = np.random.default_rng(19)
    folder = tmp_path / "random"
    for i in range(30):
        random_file(folder / f"r{i:02d}.mid", rng)
    ours = assert_same_windows(folder)
    assert sum(len(w) for w in ours.values()) > 100
