"""POP909 preparation on a slice of the real dataset: bars from downbeats, a stable split, only
the MELODY track, tempo changes undone, odd-length bars left out."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from symusic.data import pop909
from symusic.data.dataset import MelodyCollection, WindowDataset

POP909 = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pop909"
pytestmark = pytest.mark.skipif(not (POP909 / "001" / "001.mid").is_file(),
                                reason="../shared/data/pop909 is not here")
SIXTEENTH = 60.0 / pop909.TEMPO / 4  # seconds per 16th note in the prepared files


def on_grid(times: np.ndarray, step: float, tolerance: float = 0.1) -> float:
    """The fraction of ``times`` within ``tolerance`` steps of a multiple of ``step``."""
    frac = (times / step) % 1.0
    return float(np.mean(np.minimum(frac, 1.0 - frac) < tolerance))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pop909")
    pop909.prepare_pop909(POP909, out, limit=12, progress=False)
    return out


def test_split_is_by_song_number_and_stable(prepared, tmp_path):
    assert sorted(p.name for p in (prepared / "eval").glob("*.mid")) == ["010.mid"]
    assert len(list((prepared / "train").glob("*.mid"))) == 11
    assert [pop909.song_split(n) for n in (9, 10, 11, 900, 909)] == [
        "train", "eval", "train", "eval", "train"]
    again = tmp_path / "again"
    pop909.prepare_pop909(POP909, again, limit=12, progress=False)
    digest = {p.relative_to(prepared): hashlib.sha1(p.read_bytes()).hexdigest()
              for p in prepared.rglob("*.mid")}
    assert digest == {p.relative_to(again): hashlib.sha1(p.read_bytes()).hexdigest()
                      for p in again.rglob("*.mid")}
    assert "do not redistribute" in (prepared / "LICENCE.txt").read_text()


def test_only_the_melody_track_is_kept(prepared):
    source = pretty_midi.PrettyMIDI(str(POP909 / "001" / "001.mid"))
    melody = next(i for i in source.instruments if i.name == "MELODY")
    others = {n.pitch for i in source.instruments if i.name != "MELODY" for n in i.notes}
    out = pretty_midi.PrettyMIDI(str(prepared / "train" / "001.mid"))
    assert [i.name for i in out.instruments] == ["MELODY"]
    notes = out.instruments[0].notes
    assert len(notes) > 0.9 * len(melody.notes)
    in_order = sorted(melody.notes, key=lambda n: (n.start, n.pitch))
    assert [n.pitch for n in notes] == [n.pitch for n in in_order][:len(notes)]
    assert others - {n.pitch for n in melody.notes}  # the accompaniment had pitches it lacks


def test_train_tracks_add_the_other_tracks_to_train_files_only(prepared, tmp_path):
    out = tmp_path / "tracks"
    manifest = pop909.prepare_pop909(POP909, out, limit=12, progress=False,
                                     train_tracks=("bridge",))
    assert manifest["train_tracks"] == ["MELODY", "BRIDGE"]
    train = pretty_midi.PrettyMIDI(str(out / "train" / "001.mid"))
    assert [i.name for i in train.instruments] == ["MELODY", "BRIDGE"]
    alone = pretty_midi.PrettyMIDI(str(prepared / "train" / "001.mid"))
    assert [n.start for n in train.instruments[0].notes] == [
        n.start for n in alone.instruments[0].notes]  # the melody is the same
    source = pretty_midi.PrettyMIDI(str(POP909 / "001" / "001.mid"))
    bridge = next(i for i in source.instruments if i.name == "BRIDGE")
    assert len(train.instruments[1].notes) > 0.8 * len(bridge.notes)
    assert on_grid(np.array([n.start for n in train.instruments[1].notes]), SIXTEENTH) > 0.7
    eval_file = (out / "eval" / "010.mid").read_bytes()
    assert eval_file == (prepared / "eval" / "010.mid").read_bytes()  # eval keeps MELODY only
    with pytest.raises(pop909.Pop909Error, match="train tracks"):
        pop909.prepare_pop909(POP909, tmp_path / "bad", limit=1, train_tracks=("DRUMS",))


def test_bars_come_from_the_downbeats(prepared):
    grid = pop909.BeatGrid.read(POP909 / "001" / "beat_midi.txt")
    source = pretty_midi.PrettyMIDI(str(POP909 / "001" / "001.mid"))
    melody = next(i for i in source.instruments if i.name == "MELODY")
    out = pretty_midi.PrettyMIDI(str(prepared / "train" / "001.mid"))
    # The file says 2/4; the annotated downbeats are every 4 beats; the output is 4/4 at 120.
    assert source.time_signature_changes[0].numerator == 2
    assert [(t.numerator, t.denominator) for t in out.time_signature_changes] == [(4, 4)]
    assert out.get_tempo_changes()[1].tolist() == [pop909.TEMPO]
    # a note that starts on an annotated downbeat starts on a bar line of the output
    bar = 4 * 60.0 / pop909.TEMPO
    downbeat_times = grid.times[grid.downbeats]
    ordered = sorted(melody.notes, key=lambda n: (n.start, n.pitch))
    starts_on_downbeat = [i for i, n in enumerate(ordered)
                          if np.min(np.abs(downbeat_times - n.start)) < 0.01]
    assert len(starts_on_downbeat) > 10
    for index in starts_on_downbeat:
        assert out.instruments[0].notes[index].start / bar == pytest.approx(
            round(out.instruments[0].notes[index].start / bar), abs=1e-3)
    # the melody's onsets are on the 16th grid, and a pickup sits before the first bar line
    onsets = np.array([n.start for n in out.instruments[0].notes])
    assert on_grid(onsets, SIXTEENTH) == 1.0


def test_a_song_with_tempo_changes_lands_on_the_grid(prepared):
    source = pretty_midi.PrettyMIDI(str(POP909 / "010" / "010.mid"))
    assert len(source.get_tempo_changes()[0]) > 10
    melody = next(i for i in source.instruments if i.name == "MELODY")
    # read on the file's own ticks, the onsets miss the 16th grid almost everywhere
    ticks = np.array([source.time_to_tick(n.start) for n in melody.notes], dtype=float)
    assert on_grid(ticks, source.resolution / 4) < 0.1
    out = pretty_midi.PrettyMIDI(str(prepared / "eval" / "010.mid"))
    onsets = np.array([n.start for n in out.instruments[0].notes])
    assert on_grid(onsets, SIXTEENTH) > 0.9
    collection = MelodyCollection.from_folder(prepared / "eval", num_processes=1,
                                              progress=False, extraction="magenta")
    assert collection.report.used == 1 and len(WindowDataset(collection, 16)) > 10


def test_bars_of_another_length_are_left_out_between_runs():
    # beats every 0.5 s; downbeats: 4, 4, then a 2-beat bar, then 4, 4 (the last taken whole)
    times = np.arange(0, 9.0, 0.5)
    grid = pop909.BeatGrid(times, np.array([0, 4, 8, 10, 14]))
    runs, dropped = pop909.layout_runs(grid)
    assert dropped == 1
    assert runs == [pop909.Run(0, 2, 4), pop909.Run(10, 2, 4 + 4 * (2 + pop909.RUN_GAP_BARS))]
    notes = [pretty_midi.Note(90, 60 + i, t, t + 0.25) for i, t in enumerate([0.0, 4.2, 5.5])]
    midi, counts = pop909.retime_melody(notes, grid)
    # the note at 4.2 s starts in the 2-beat bar: gone; the one at 5.5 s (beat 11) is in run 2
    assert counts["notes_left_out"] == 1
    quarters = [n.start * pop909.TEMPO / 60 for n in midi.instruments[0].notes]
    assert quarters == pytest.approx([4.0, 4 + 4 * (2 + pop909.RUN_GAP_BARS) + 1.0])


def test_a_song_not_in_four_four_is_skipped_with_a_reason():
    with pytest.raises(pop909.Pop909Error, match="not in 4/4"):
        pop909.convert_song(POP909 / "034")


def test_command_line_errors_are_one_line(tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "symusic.data.corpus", *args],
                              capture_output=True, text=True, timeout=120)

    missing = run("--name", "pop909", "--out", str(tmp_path / "a"))
    assert missing.returncode == 2 and "needs --from" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    wrong = run("--name", "pop909", "--from", str(tmp_path), "--out", str(tmp_path / "b"))
    assert wrong.returncode == 1 and "no POP909 song folders" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    good = run("--name", "pop909", "--from", str(POP909), "--out", str(tmp_path / "c"),
               "--limit", "2")
    tracks = run("--name", "pop909", "--from", str(POP909), "--out", str(tmp_path / "d"),
                 "--train-tracks", "MELODY,DRUMS")
    assert tracks.returncode == 2 and "POP909's tracks are" in tracks.stderr
    assert len(tracks.stderr.strip().splitlines()) == 1
    assert good.returncode == 0, good.stderr
    assert "2 train and 0 eval songs" in good.stdout
