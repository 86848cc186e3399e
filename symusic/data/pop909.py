"""POP909 as a training corpus: each song's ``MELODY`` track on a clean 4/4 grid.

POP909 (Wang et al., ISMIR 2020; github.com/music-x-lab/POP909-Dataset, MIT licence) holds 909
pop songs as ``NNN/NNN.mid`` with a ``beat_midi.txt`` beside each. Its time-signature events
are unreliable (most files say 1/4 or 2/4) and 365 songs change tempo, so the bars are taken
from the annotated beats instead: the third column of ``beat_midi.txt`` marks each downbeat.

Every song becomes one MIDI file at 120 bpm in 4/4, one quarter note per annotated beat: a
note's time in seconds is warped onto the beat grid (piecewise linear between beats), which
undoes the tempo changes and any drift of the beats from the file's own tempo map. A bar of
four beats becomes one 4/4 bar. The few bars of another length (2, 3, 5, 6 beats: about 6 % of
bars) cannot sit on a 4/4 grid, so they are left out, with the notes that start in them; each
run of whole bars starts on a bar line, two empty bars after the run before it, so that no
melody a converter extracts spans a removed bar (Magenta's converters cut at one empty bar).
Beats before the first downbeat (a pickup) are kept before the first bar line.

The split is fixed by song number: every tenth song (010, 020, ...) is in ``eval``, the rest
in ``train``. The songs are arrangements of commercial pop songs: train on them and ship the
models, never the MIDI files (see ``../shared/data/README.md``).

Command line: ``python -m symusic.data.corpus --name pop909 --from POP909-Dataset/POP909
--out data/pop909``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pretty_midi

from symusic.atomic import atomic_write
from symusic.progress import bar as progress_bar

TEMPO = 120.0
RESOLUTION = 480
BEATS_PER_BAR = 4
RUN_GAP_BARS = 2  # empty bars between runs of whole bars (more than Magenta's 1-bar gap)
MELODY_TRACK = "MELODY"
TRACKS = (MELODY_TRACK, "BRIDGE", "PIANO")
EVAL_EVERY = 10  # song numbers divisible by this are the eval split
_SONG = re.compile(r"^\d{3}$")
LICENCE_NOTE = (
    "Melodies from POP909 (Wang, Chen, Jiang, Dai, Xia, Zhang, Xia and Zhao, 'POP909: A "
    "Pop-song Dataset for Music Arrangement Generation', ISMIR 2020; "
    "https://github.com/music-x-lab/POP909-Dataset, MIT licence). The songs are arrangements "
    "of commercial pop songs: use these files for research and training; do not redistribute "
    "them."
)


class Pop909Error(ValueError):
    """A song folder that cannot be read (one line: which file and why)."""


@dataclass(frozen=True)
class BeatGrid:
    """A song's annotated beats: their times (seconds) and which ones start a bar."""

    times: np.ndarray  # shape [n], increasing
    downbeats: np.ndarray  # indices into times, increasing

    @classmethod
    def read(cls, path: Path) -> BeatGrid:
        """Parse ``beat_midi.txt`` (time, duple flag, downbeat flag per line)."""
        try:
            rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
            times = np.array([float(row[0]) for row in rows])
            flags = np.array([float(row[2]) for row in rows])
        except (OSError, ValueError, IndexError) as err:
            raise Pop909Error(f"{path}: not a POP909 beat file ({err})") from None
        if len(times) < 2 or not np.all(np.diff(times) > 0):
            raise Pop909Error(f"{path}: needs two or more increasing beat times")
        downbeats = np.flatnonzero(flags == 1)
        if len(downbeats) == 0:
            raise Pop909Error(f"{path}: no downbeat is marked")
        return cls(times, downbeats)

    def beat_position(self, seconds: np.ndarray) -> np.ndarray:
        """Fractional beat index of each time; linear past the first and last beats."""
        index = np.arange(len(self.times), dtype=float)
        pos = np.interp(seconds, self.times, index)
        first = (self.times[1] - self.times[0])
        last = (self.times[-1] - self.times[-2])
        pos = np.where(seconds < self.times[0], (seconds - self.times[0]) / first, pos)
        return np.where(seconds > self.times[-1],
                        index[-1] + (seconds - self.times[-1]) / last, pos)

    def bars(self) -> list[tuple[int, int]]:
        """``(first beat, beats)`` of each bar; the last bar is taken as a whole one."""
        starts = self.downbeats.tolist()
        lengths = [b - a for a, b in zip(starts, starts[1:], strict=False)] + [BEATS_PER_BAR]
        return list(zip(starts, lengths, strict=True))


@dataclass(frozen=True)
class Run:
    """Consecutive whole bars: beats ``[first_beat, first_beat + 4 * bars)`` of the song,
    written from quarter note ``out_quarter`` of the output file."""

    first_beat: int
    bars: int
    out_quarter: int


def layout_runs(grid: BeatGrid) -> tuple[list[Run], int]:
    """The runs of whole (4-beat) bars and where each goes; also the number of bars left out."""
    runs: list[Run] = []
    dropped = 0
    current: list[int] = []  # first beats of the bars of the run being gathered

    def close() -> None:
        if current:
            out = BEATS_PER_BAR if not runs else (
                runs[-1].out_quarter + BEATS_PER_BAR * (runs[-1].bars + RUN_GAP_BARS))
            runs.append(Run(current[0], len(current), out))
            current.clear()

    for first, beats in grid.bars():
        if beats == BEATS_PER_BAR:
            current.append(first)
        else:
            dropped += 1
            close()
    close()
    return runs, dropped


def retime_melody(notes: list[pretty_midi.Note], grid: BeatGrid
                  ) -> tuple[pretty_midi.PrettyMIDI, dict[str, int]]:
    """The notes on a 120 bpm 4/4 grid with one quarter per beat, laid out in runs of whole
    bars (see the module docstring); also counts of what was kept and left out."""
    return retime_tracks({MELODY_TRACK: notes}, grid)


def retime_tracks(tracks: dict[str, list[pretty_midi.Note]], grid: BeatGrid
                  ) -> tuple[pretty_midi.PrettyMIDI, dict[str, int]]:
    """:func:`retime_melody` for several named tracks at once, one instrument each, in order;
    the counts of notes add up over the tracks."""
    runs, dropped_bars = layout_runs(grid)
    midi = pretty_midi.PrettyMIDI(resolution=RESOLUTION, initial_tempo=TEMPO)
    midi.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    kept = left_out = 0
    for name, notes in tracks.items():
        track, left = _retime_notes(notes, grid, runs, name)
        midi.instruments.append(track)
        kept += len(track.notes)
        left_out += left
    counts = {"bars": sum(r.bars for r in runs), "runs": len(runs),
              "bars_left_out": dropped_bars, "notes": kept, "notes_left_out": left_out}
    return midi, counts


def _retime_notes(notes: list[pretty_midi.Note], grid: BeatGrid, runs: list[Run], name: str
                  ) -> tuple[pretty_midi.Instrument, int]:
    """One track's notes moved onto the runs' grid, and how many were left out."""
    seconds_per_quarter = 60.0 / TEMPO
    grid_track = pretty_midi.Instrument(program=0, name=name)
    ordered = sorted(notes, key=lambda n: (n.start, n.pitch))
    starts = grid.beat_position(np.array([n.start for n in ordered]))
    ends = grid.beat_position(np.array([n.end for n in ordered]))
    for note, start, end in zip(ordered, starts, ends, strict=True):
        run = _run_of(runs, start)
        if run is None:
            continue
        run_end = run.first_beat + BEATS_PER_BAR * run.bars
        out_start = run.out_quarter + (start - run.first_beat)
        out_end = run.out_quarter + (min(end, run_end) - run.first_beat)
        if out_end <= out_start:
            continue
        grid_track.notes.append(pretty_midi.Note(note.velocity, note.pitch,
                                                 out_start * seconds_per_quarter,
                                                 out_end * seconds_per_quarter))
    return grid_track, len(ordered) - len(grid_track.notes)


def _run_of(runs: list[Run], beat: float) -> Run | None:
    """The run a note starting at ``beat`` belongs to; the first run also takes a pickup of up
    to one bar before it (it is written before the first bar line)."""
    for index, run in enumerate(runs):
        lower = run.first_beat - (BEATS_PER_BAR if index == 0 else 0)
        if lower <= beat < run.first_beat + BEATS_PER_BAR * run.bars:
            return run
    return None


def song_split(number: int) -> str:
    """``"eval"`` for every tenth song by number, else ``"train"``."""
    return "eval" if number % EVAL_EVERY == 0 else "train"


def find_songs(source: Path) -> list[Path]:
    """The song folders (``NNN/`` with ``NNN.mid``) under ``source``, by number."""
    if not source.is_dir():
        raise Pop909Error(f"--from {source}: not a folder")
    songs = sorted(p for p in source.iterdir()
                   if p.is_dir() and _SONG.match(p.name) and (p / f"{p.name}.mid").is_file())
    if not songs:
        raise Pop909Error(f"--from {source}: no POP909 song folders (NNN/NNN.mid) in it; "
                          "point it at the POP909 folder of POP909-Dataset")
    return songs


def track_names(tracks: tuple[str, ...]) -> tuple[str, ...]:
    """``MELODY`` and then ``tracks`` (any case, spaces stripped), each once, in order.

    Raises :class:`Pop909Error` for a name POP909 does not have."""
    names = tuple(dict.fromkeys((MELODY_TRACK, *(t.strip().upper() for t in tracks))))
    unknown = [name for name in names if name not in TRACKS]
    if unknown:
        raise Pop909Error(f"train tracks {', '.join(unknown)}: POP909's tracks are "
                          f"{', '.join(TRACKS)}")
    return names


def convert_song(song: Path, tracks: tuple[str, ...] = (MELODY_TRACK,)
                 ) -> tuple[pretty_midi.PrettyMIDI, dict[str, int]]:
    """One song folder's ``MELODY`` track (and the other ``tracks`` named, those it has) on
    the 4/4 grid of its downbeats."""
    grid = BeatGrid.read(song / "beat_midi.txt")
    try:
        source = pretty_midi.PrettyMIDI(str(song / f"{song.name}.mid"))
    except Exception as err:  # noqa: BLE001 - a broken file is reported, not fatal
        raise Pop909Error(f"{song.name}.mid: unreadable MIDI ({type(err).__name__})") from None
    named = {i.name.strip().upper(): i for i in reversed(source.instruments)}
    if MELODY_TRACK not in named or not named[MELODY_TRACK].notes:
        raise Pop909Error(f"{song.name}.mid: no {MELODY_TRACK} track with notes")
    lengths = Counter(beats for _, beats in grid.bars())
    if 2 * lengths[BEATS_PER_BAR] < len(grid.downbeats):
        meter, _ = lengths.most_common(1)[0]
        raise Pop909Error(f"{song.name}: not in 4/4 (most of its bars have {meter} beats)")
    return retime_tracks({name: named[name].notes for name in track_names(tracks)
                          if name in named and named[name].notes}, grid)


def prepare_pop909(source: str | Path, out: str | Path, limit: int | None = None,
                   progress: bool = True, splits: tuple[str, ...] = ("train", "eval"),
                   train_tracks: tuple[str, ...] = (MELODY_TRACK,)) -> dict:
    """Write ``out/train/NNN.mid`` and ``out/eval/NNN.mid`` for each song of ``source`` (the
    first ``limit`` songs of ``splits`` only, when given), and ``out/manifest.json``; return
    the manifest.

    ``train_tracks`` adds POP909's other tracks (``BRIDGE``, the secondary melodies and
    instrumental leads; ``PIANO``, the accompaniment) to the train files as further
    instruments: Magenta's melody converters extract melodies from every instrument. The eval
    files keep ``MELODY`` alone, so that the evaluation measures the songs' melodies.
    Songs that cannot be read are listed under ``failed`` with a reason, not fatal."""
    train_tracks = track_names(train_tracks)
    songs = [song for song in find_songs(Path(source))
             if song_split(int(song.name)) in splits][:limit]
    out = Path(out)
    manifest: dict = {"source": "POP909", "licence": LICENCE_NOTE,
                      "train_tracks": list(train_tracks),
                      "files": {"train": 0, "eval": 0}, "bars": 0, "bars_left_out": 0,
                      "notes_left_out": 0, "failed": {}}
    for song in progress_bar(songs, desc="POP909", unit="song", enabled=progress):
        split = song_split(int(song.name))
        try:
            midi, counts = convert_song(song, train_tracks if split == "train" else ())
        except Pop909Error as err:
            manifest["failed"][song.name] = str(err)
            continue
        with atomic_write(out / split / f"{song.name}.mid") as handle:
            midi.write(handle)
        manifest["files"][split] += 1
        for key in ("bars", "bars_left_out", "notes_left_out"):
            manifest[key] += counts[key]
    with atomic_write(out / "manifest.json", "w") as handle:
        json.dump(manifest, handle, indent=1)
    (out / "LICENCE.txt").write_text(LICENCE_NOTE + "\n")
    return manifest
