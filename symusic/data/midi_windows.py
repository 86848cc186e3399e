"""Model-length windows of the melodies in users' MIDI files, by file, track and bar.

The generation and evaluation commands read MIDI files the model has never seen. This
module finds the tracks that hold melodies (the data pipeline's extraction, with the model's
``DataSettings``: the extraction and programs it was trained with) and cuts their melodies
into windows of the model's length, as training cut them, remembering where each came from.

Bars are the file's own: bar 0 is the first bar of the file (a DAW's bar 1), counted through
its time signatures. A melody starts on the file's bar holding its first step; its windows
start every 16 steps from there (in 4/4, every bar; under ``any_meter`` in 3/4 a window
"bar" is 4/3 of the file's bars; see the README). A silence of a bar or more splits a track
into several melodies, and a window never straddles two melodies, so the bars of such a
silence are not window starts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from symusic.data.extraction import bar_of_times
from symusic.data.midi_io import MidiReadError, read_midi
from symusic.data.representation import MELODY, Representation, get_representation
from symusic.data.scan import UnreadableFolderError, find_midi_files
from symusic.data.settings import DataSettings
from symusic.errors import InputError

MIDI_SUFFIXES = (".mid", ".midi")
ALL_PROGRAMS = range(128)  # every General MIDI program (a deliberate widening)


class UnreadableMidiError(InputError):
    """A MIDI file that cannot be read; the message names the file and the reason."""


@dataclass
class Track:
    """One instrument of a MIDI file and the melodies extracted from it."""

    index: int  # position in ``PrettyMIDI.instruments``
    name: str
    program: int
    melodies: list[np.ndarray] = field(default_factory=list)
    first_bars: list[int] = field(default_factory=list)  # the file's bar each melody starts on
    representation: Representation = MELODY  # what the melodies' tokens are

    @property
    def bars(self) -> int:
        """Bars of melody in this track."""
        return sum(len(m) // self.representation.steps_per_bar for m in self.melodies)

    def windows(self, seq_len: int, hop: int | None = None,
                ) -> Iterator[tuple[np.ndarray, int, int]]:
        """``(window [seq_len], melody index, bar)`` of every whole window, ``hop`` steps
        (default a bar) apart within each melody; ``bar`` is the file's bar the window starts
        on. Windows are cut as training cuts them."""
        step = self.representation.steps_per_bar
        for m, (melody, first_bar) in enumerate(zip(self.melodies, self.first_bars, strict=True)):
            for start in range(0, len(melody) - seq_len + 1, hop or step):
                window = self.representation.cut_window(melody, start, seq_len)
                yield window, m, first_bar + start // step

    def _sequences(self, count: int) -> str:
        """``melody``/``melodies``, or the representation's name (``2 trios``)."""
        name = self.representation.sequence_name
        if count == 1:
            return name
        return "melodies" if name == "melody" else f"{name}s"

    def describe(self, seq_len: int) -> str:
        """One line for a list of candidates: index, name, program, windows and bars."""
        n = sum(1 for _ in self.windows(seq_len))
        name = self.name.strip() or "(unnamed)"
        return (f"track {self.index}: {name!r}, program {self.program}, "
                f"{len(self.melodies)} {self._sequences(len(self.melodies))}, "
                f"{self.bars} bars, {n} windows of {self.representation.bars_in(seq_len)} bars")


@dataclass(frozen=True)
class WindowSource:
    """Where a window came from: file, track, and the bar of the track it starts on."""

    file: str
    track: int  # index in the file's instruments (``--track``)
    program: int
    melody: int  # which of the track's melodies holds the window
    bar: int  # the file's bar the window starts on (``--bar``; see the module docstring)


class Tracks(list):
    """The melody tracks of a file; ``no_melody`` says why there is none (as the scan does)."""

    no_melody: str = ""
    sequence_name: str = "melody"  # what was looked for (the representation's: "drum track")


def read_tracks(path: str | Path, programs: Iterable[int] | None = None,
                settings: DataSettings | None = None) -> Tracks:
    """Every track of the MIDI file at ``path`` that holds at least one melody, read as
    ``settings`` say (a model's ``data_settings``; default magenta, programs 0..31);
    ``programs``, when given, replaces the settings' programs.

    Raises ``UnreadableMidiError`` when the file cannot be read.
    """
    settings = settings or DataSettings()
    if programs is not None:
        settings = settings.with_programs(programs)
    try:
        midi = read_midi(path)
    except MidiReadError as err:
        raise UnreadableMidiError(f"{path}: cannot read it as MIDI ({err})") from err
    representation = get_representation(settings.representation)
    found = representation.extract(midi, settings).melodies
    bars = bar_of_times(midi, [m.start for m in found])
    tracks = Tracks()
    for index, instrument in enumerate(midi.instruments):
        mine = [(m.melody, bar) for m, bar in zip(found, bars, strict=True)
                if m.instrument == index]
        if mine:
            tracks.append(Track(index, instrument.name, instrument.program,
                                [melody for melody, _ in mine], [bar for _, bar in mine],
                                representation))
    if not tracks:
        tracks.no_melody = representation.why_none(midi, settings)
        tracks.sequence_name = representation.sequence_name
    return tracks


def has_notes(window: np.ndarray, representation: Representation = MELODY) -> bool:
    """Whether a token window ``[T]`` holds at least one note onset."""
    return bool(representation.onsets(window).any())


def choose_track(tracks: list[Track], track: int | None, path: str | Path, seq_len: int) -> Track:
    """The track to use: ``track`` (a MIDI instrument index), or the only one with melodies.

    Raises ``InputError`` when the file has no melody, when ``track`` is not one of its
    melody tracks, or when several tracks qualify and none was chosen (the message then
    lists them, one per line).
    """
    if not tracks:
        reason = getattr(tracks, "no_melody", "") or "no monophonic line of a bar or more"
        raise InputError(f"{path}: no {getattr(tracks, 'sequence_name', 'melody')} found "
                         f"({reason})")
    if track is None:
        if len(tracks) == 1:
            return tracks[0]
        listing = "\n".join("  " + t.describe(seq_len) for t in tracks)
        raise InputError(
            f"{path} has {len(tracks)} tracks with melodies; choose one with --track:\n{listing}"
        )
    for candidate in tracks:
        if candidate.index == track:
            return candidate
    indices = ", ".join(str(t.index) for t in tracks)
    raise InputError(f"{path}: track {track} holds no melody; tracks with melodies: {indices}")


def window_at_bar(
    tracks: list[Track], path: str | Path, seq_len: int, track: int | None = None,
    bar: int | None = None, choices: str = "possible --bar values",
) -> tuple[np.ndarray, WindowSource]:
    """The window of ``seq_len`` steps starting at bar ``bar`` of the chosen one of ``tracks``
    (a file's, already read), or its first window when ``bar`` is None; ``WindowSource.bar``
    says which bar it starts on.

    Raises ``InputError`` when there is no such window (the message names ``path`` and lists,
    after ``choices``, the bars that would do).
    """
    chosen = choose_track(tracks, track, path, seq_len)
    if bar is not None and bar < 0:
        raise InputError(f"--bar must be 0 or more, got {bar}")
    starts = []
    for window, m, start_bar in chosen.windows(seq_len):
        if bar is None or start_bar == bar:
            return window, WindowSource(str(path), chosen.index, chosen.program, m, start_bar)
        starts.append(str(start_bar))
    bars = chosen.representation.bars_in(seq_len)
    if not starts:
        longest = max(len(m) for m in chosen.melodies) // chosen.representation.steps_per_bar
        raise InputError(f"{path}: track {chosen.index} has no "
                         f"{chosen.representation.sequence_name} of {bars} bars or more "
                         f"(its longest is {longest} bar{'s' if longest != 1 else ''})")
    shown = ", ".join(starts[:20]) + (", ..." if len(starts) > 20 else "")
    raise InputError(f"{path}: no {bars}-bar window starts at bar {bar} of track "
                     f"{chosen.index}; {choices}: {shown}")


def pick_window(
    path: str | Path, seq_len: int, track: int | None = None, bar: int | None = None,
    settings: DataSettings | None = None,
) -> tuple[np.ndarray, WindowSource]:
    """:func:`window_at_bar` of the MIDI file at ``path``, read as ``settings`` say (see
    :func:`read_tracks`)."""
    return window_at_bar(read_tracks(path, settings=settings), path, seq_len, track, bar)


def consecutive_windows(
    path: str | Path, seq_len: int, track: int | None = None,
    settings: DataSettings | None = None,
) -> tuple[np.ndarray, list[WindowSource]]:
    """The non-overlapping windows of the chosen track's melodies, in order: ``[N, seq_len]``
    (the file read as ``settings`` say, see :func:`read_tracks`).

    Raises ``InputError`` when no melody of the track is ``seq_len`` steps long.
    """
    chosen = choose_track(read_tracks(path, settings=settings), track, path, seq_len)
    found = [(window, WindowSource(str(path), chosen.index, chosen.program, m, bar))
             for window, m, bar in chosen.windows(seq_len, seq_len)]
    if not found:
        raise InputError(f"{path}: no {chosen.representation.sequence_name} of "
                         f"{chosen.representation.bars_in(seq_len)} bars or more in track "
                         f"{chosen.index}")
    return np.stack([w for w, _ in found]), [source for _, source in found]


def midi_files(folder: str | Path) -> list[Path]:
    """The MIDI files under ``folder`` (recursively), sorted. Raises ``InputError`` if none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder")
    unreadable: list[str] = []
    try:
        files = [folder / path for path, _, _ in find_midi_files(folder, unreadable)]
    except UnreadableFolderError as err:
        raise InputError(f"{folder}: cannot read the folder ({err.strerror})") from None
    if not files:
        also = f" it can read (cannot read {', '.join(unreadable[:3])})" if unreadable else ""
        raise InputError(f"{folder} holds no .mid or .midi files{also}")
    return files


def iter_folder_windows(
    files: Iterable[Path],
    seq_len: int,
    hop: int | None = None,
    programs: Iterable[int] | None = None,
    skipped: dict[str, str] | None = None,
    settings: DataSettings | None = None,
) -> Iterator[tuple[np.ndarray, WindowSource]]:
    """Every window (``hop`` steps apart, default a bar, with at least one note) of every
    track of ``files``, read as ``settings`` say (``programs``, when given, replaces theirs).

    Files that cannot be read are left out; when ``skipped`` is given, it collects
    ``{path: reason}`` for them.
    """
    programs = None if programs is None else list(programs)
    for path in files:
        try:
            tracks = read_tracks(path, programs, settings)
        except UnreadableMidiError as err:
            if skipped is not None:
                skipped[str(path)] = str(err.__cause__ or err)
            continue
        for t in tracks:
            for window, m, bar in t.windows(seq_len, hop):
                if has_notes(window, t.representation):
                    yield window, WindowSource(str(path), t.index, t.program, m, bar)
