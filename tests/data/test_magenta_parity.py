"""The ``magenta`` extraction against Magenta's own code, window for window.

The reference (``magenta_reference.py``) runs note-seq's MIDI reading, time-change split,
quantisation and ``Melody`` with magenta's melody loop and MusicVAE's window slicing restated
(cat-mel_2bar_big settings, no random subsampling). Ours is the training path: the folder
scan, the cache and :class:`WindowDataset`. For every file the two sets of windows must be
equal: one file per rule Magenta applies, random files, and a slice of the folk corpus.
"""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pytest
from magenta_reference import magenta_windows

from symusic.data.dataset import MelodyCollection
from symusic.data.melody import clear_leading_note_offs
from symusic.data.tokens import NOTE_OFF

RESOLUTION = 480  # ticks per beat of the files written here; 120 ticks a 16th note


def our_windows(folder: Path, slice_bars: int = 2, extraction: str = "magenta"
                ) -> dict[str, set[tuple[int, ...]]]:
    """``{file: windows}`` as training reads ``folder`` (every file, empty sets included)."""
    collection = MelodyCollection.from_folder(folder, num_processes=1, progress=False,
                                              cache_dir=folder.parent / f"cache-{folder.name}",
                                              extraction=extraction) \
        if any(folder.iterdir()) else None
    found: dict[str, set[tuple[int, ...]]] = {p.name: set() for p in folder.iterdir()}
    if collection is None:
        return found
    length = slice_bars * 16
    for melody, start in collection.window_index(slice_bars):
        path = collection.paths[collection.melody_files[melody]]
        tokens = collection.melody(melody)[start:start + length]
        found[path].add(tuple(clear_leading_note_offs(tokens).tolist()))
    return found


def scan_or_empty(folder: Path, **options) -> dict[str, set[tuple[int, ...]]]:
    """:func:`our_windows`, or every file empty when no file gives a melody."""
    try:
        return our_windows(folder, **options)
    except ValueError:  # NoMelodiesError: no usable melody in the whole folder
        return {p.name: set() for p in folder.iterdir()}


def assert_same_windows(folder: Path, slice_bars: int = 2) -> dict[str, set]:
    ours = scan_or_empty(folder, slice_bars=slice_bars)
    for path in sorted(folder.iterdir()):
        theirs = magenta_windows(path, slice_bars)
        assert ours[path.name] == theirs, (
            f"{path.name}: {len(ours[path.name] - theirs)} windows only ours, "
            f"{len(theirs - ours[path.name])} only Magenta's")
    return ours


def track(events, channel: int = 0, program: int = 0) -> mido.MidiTrack:
    """A track from ``(tick, message)`` pairs (``(tick, pitch, end_tick)`` for notes)."""
    timed = []
    for event in events:
        if len(event) == 3:
            tick, pitch, end = event
            timed.append((tick, 1, mido.Message("note_on", channel=channel, note=pitch,
                                                velocity=80)))
            timed.append((end, 0, mido.Message("note_off", channel=channel, note=pitch)))
        else:
            timed.append((event[0], -1, event[1]))
    timed.sort(key=lambda e: (e[0], e[1]))
    out = mido.MidiTrack([mido.Message("program_change", channel=channel, program=program)])
    now = 0
    for tick, _, message in timed:
        out.append(message.copy(time=tick - now))
        now = tick
    return out


def write(path: Path, meta, *tracks, resolution: int = RESOLUTION) -> Path:
    """A type-1 file: a meta track (tempo and time-signature events) and note tracks."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mido.MidiFile(type=1, ticks_per_beat=resolution,
                  tracks=[track(meta), *tracks]).save(path)
    return path


def tempo(tick: int, bpm: float):
    return (tick, mido.MetaMessage("set_tempo", tempo=round(60e6 / bpm)))


def meter(tick: int, numerator: int, denominator: int):
    return (tick, mido.MetaMessage("time_signature", numerator=numerator,
                                   denominator=denominator))


def steps(*notes):
    """``(start step, pitch, end step)`` notes as ticks."""
    return [(round(s * 120), p, round(e * 120)) for s, p, e in notes]


SCALE = [60, 62, 64, 65, 67, 69, 71, 72]
TUNE = [(4 * i, SCALE[i % 8], 4 * i + 3) for i in range(32)]  # 8 bars of quarter notes


def test_tempo_change_mid_melody(tmp_path):
    # the tempo changes on beat 3 of bar 2: Magenta quantises each side on its own tempo,
    # and the second piece's bars start at the change
    folder = tmp_path / "tempo"
    write(folder / "tempo.mid", [tempo(0, 120), meter(0, 4, 4), tempo(40 * 120, 90)],
          track(steps(*TUNE)))
    ours = assert_same_windows(folder)
    assert len(ours["tempo.mid"]) > 0


def test_pickup_bar_in_3_4_then_4_4(tmp_path):
    # a 3/4 pickup bar (one note), then 4/4 from step 12 in half notes: the 4/4 bars start
    # at steps 12, 28, ... (not 16, 32, ... on a grid counted from tick 0)
    folder = tmp_path / "pickup"
    halves = [(12 + 8 * i, SCALE[i % 8], 12 + 8 * i + 6) for i in range(16)]
    write(folder / "pickup.mid", [meter(0, 3, 4), meter(12 * 120, 4, 4)],
          track(steps((8, 55, 11), *halves)))
    ours = assert_same_windows(folder)["pickup.mid"]
    assert ours and all(w[0] >= 2 for w in ours)  # every window starts on a bar's first note
    # any_meter aligns that 4/4 section on its own bar lines too
    any_meter = scan_or_empty(folder, extraction="any_meter")["pickup.mid"]
    assert any_meter and all(w[0] >= 2 for w in any_meter)


def test_piece_in_6_8_gives_no_window(tmp_path):
    folder = tmp_path / "jig"
    write(folder / "jig.mid", [meter(0, 6, 8)], track(steps(*TUNE)))
    assert assert_same_windows(folder)["jig.mid"] == set()
    # any_meter keeps it, in 16-step chunks
    assert len(scan_or_empty(folder, extraction="any_meter")["jig.mid"]) > 0


def test_note_off_exactly_on_a_window_boundary(tmp_path):
    # bar 1 ends a note exactly on bar 2's first step, then rests: that window's first token
    # would be a note-off, which a new Melody clears
    folder = tmp_path / "boundary"
    notes = [(0, 60, 16), (16, 62, 32), (36, 64, 40), (40, 65, 48), (52, 67, 64), (64, 69, 72)]
    write(folder / "boundary.mid", [meter(0, 4, 4)], track(steps(*notes)))
    ours = assert_same_windows(folder, slice_bars=1)
    assert all(w[0] != NOTE_OFF for w in ours["boundary.mid"])
    assert any(w[:4] == (0, 0, 0, 0) for w in ours["boundary.mid"])


def test_melody_of_120_bars_is_cut_at_100(tmp_path):
    folder = tmp_path / "long"
    late = 100  # pitch of the notes in bars 100..119, none before
    notes = [(16 * bar + 4 * beat, late if bar >= 100 else SCALE[(bar + beat) % 8],
              16 * bar + 4 * beat + 3) for bar in range(120) for beat in range(4)]
    write(folder / "long.mid", [meter(0, 4, 4)], track(steps(*notes)))
    ours = assert_same_windows(folder)["long.mid"]
    assert ours and not any(late - 21 + 2 in w for w in ours)  # bars 100+ are cut


def test_notes_on_exact_half_steps(tmp_path):
    # starts and ends half a step off the grid, at a tempo where seconds are not exact in
    # binary: Magenta rounds int(x * steps_per_second + 0.5) in floating point
    folder = tmp_path / "halves"
    notes = [(s + 0.5, p, e + 0.5) for s, p, e in TUNE]
    write(folder / "halves.mid", [tempo(0, 137), meter(0, 4, 4)], track(steps(*notes)))
    write(folder / "halves_b.mid", [tempo(0, 101.3), meter(0, 4, 4)],
          track(steps(*[(s + 1.5, p, s + 2.5) for s, p, _ in TUNE])))
    assert_same_windows(folder)


def test_window_without_a_note_is_kept(tmp_path):
    # a note held for three bars: the window over its middle holds no onset
    folder = tmp_path / "held"
    write(folder / "held.mid", [meter(0, 4, 4)],
          track(steps((0, 60, 4), (4, 62, 52), (52, 64, 56))))
    ours = assert_same_windows(folder, slice_bars=1)
    assert (0,) * 16 in ours["held.mid"]


def test_several_tracks_drums_programs_and_chords(tmp_path):
    folder = tmp_path / "band"
    chords = [(s, p + d, e) for s, p, e in TUNE[::2] for d in (0, 4, 7)]
    write(folder / "band.mid", [tempo(0, 100), meter(0, 4, 4), tempo(64 * 120, 104)],
          track(steps(*chords), channel=0, program=0),
          track(steps(*[(s, p - 24, e) for s, p, e in TUNE]), channel=1, program=33),  # bass
          track(steps(*[(s, 36, s + 1) for s, _, _ in TUNE]), channel=9),  # drums
          track(steps(*[(s + 2, p + 12, e + 6) for s, p, e in TUNE]), channel=2, program=25))
    assert assert_same_windows(folder)["band.mid"]


def random_file(path: Path, rng: np.random.Generator) -> Path:
    """Notes anywhere on the tick grid (half steps, chords, overlaps), random tempo and
    time-signature changes, several instruments."""
    resolution = int(rng.choice([96, 220, 480, 960]))
    total = int(rng.integers(8, 40)) * 4 * resolution
    meta = [tempo(0, float(rng.uniform(60, 180))), meter(0, 4, 4)]
    for _ in range(int(rng.integers(0, 4))):
        meta.append(tempo(int(rng.integers(0, total)), float(rng.uniform(60, 180))))
    for _ in range(int(rng.integers(0, 3))):
        numerator, denominator = [(3, 4), (4, 4), (2, 4), (6, 8), (2, 2)][rng.integers(0, 5)]
        meta.append(meter(int(rng.integers(0, total // resolution)) * resolution,
                          numerator, denominator))
    tracks = []
    for channel in range(int(rng.integers(1, 4))):
        unit = resolution // int(rng.choice([2, 4, 8]))
        starts = np.sort(rng.integers(0, total // unit, int(rng.integers(4, 60)))) * unit
        notes = [(int(s), int(rng.integers(15, 115)), int(s + unit * rng.integers(1, 12)))
                 for s in starts]
        tracks.append(track(notes, channel=channel, program=int(rng.choice([0, 5, 24, 40]))))
    return write(path, meta, *tracks, resolution=resolution)


def test_random_files(tmp_path):
    rng = np.random.default_rng(11)
    folder = tmp_path / "random"
    for i in range(40):
        random_file(folder / f"r{i:02d}.mid", rng)
    ours = assert_same_windows(folder)
    assert sum(len(w) for w in ours.values()) > 100


@pytest.mark.parametrize("slice_bars", [2, 16])
def test_folk_corpus_slice(folk_dirs, tmp_path, slice_bars):
    folder = tmp_path / "folk"
    folder.mkdir()
    for path in sorted(folk_dirs.root.rglob("*.mid")):
        (folder / f"{path.parent.name}-{path.name}").write_bytes(path.read_bytes())
    ours = assert_same_windows(folder, slice_bars)
    assert len(ours) >= 30 and sum(len(w) for w in ours.values()) >= 10 * slice_bars // 2

