"""The melodies a user can pick: the MIDI files of ``--data`` and the files they upload.

Each file is read once into its melody tracks (``midi_windows.read_tracks``, the data
pipeline's reader and extractor); a window is then picked by track and start bar with
``midi_windows.pick_window``, exactly as the command line's ``interpolate`` does.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from symusic.data.tokens import STEPS_PER_BAR
from symusic.musicvae.midi_windows import (
    InputError,
    Track,
    has_notes,
    midi_files,
    pick_window,
    read_tracks,
)

MAX_UPLOAD_BYTES = 4 * 1024 * 1024
MAX_UPLOADS = 32  # the oldest upload is forgotten beyond this


@dataclass
class MelodyFile:
    """A readable MIDI file, its melody tracks, and the id the API names it by."""

    id: str
    name: str
    path: Path
    tracks: list[Track]


def start_bars(track: Track, seq_len: int) -> list[int]:
    """The file's bars a whole window of the track can start on."""
    return [bar for _, _, bar in track.windows(seq_len, STEPS_PER_BAR)]


def describe_file(entry: MelodyFile, seq_len: int) -> dict:
    """The JSON the browser lists a file by: its tracks and each one's possible start bars."""
    tracks = [{"index": int(t.index), "name": t.name.strip() or f"track {t.index}",
               "program": int(t.program), "bars": int(t.bars),
               "start_bars": [int(b) for b in start_bars(t, seq_len)]}
              for t in entry.tracks]
    return {"id": entry.id, "name": entry.name,
            "tracks": [t for t in tracks if t["start_bars"]]}


def pick(entry: MelodyFile, seq_len: int, track: int | None, bar: int) -> tuple[np.ndarray, str]:
    """The window ``[seq_len]`` of ``entry`` at ``track`` and start ``bar``, and its label.

    Raises ``InputError`` when there is no such window; its message names the file as the
    user knows it (an upload's own name, not where it was saved).
    """
    try:
        window, source = pick_window(entry.path, seq_len, track, bar)
    except InputError as err:
        raise InputError(str(err).replace(str(entry.path), entry.name)) from err
    return np.asarray(window, dtype=np.int64), f"{entry.name}, track {source.track}, bar {bar}"


class DataLibrary:
    """The MIDI files of a folder, each read when first needed (a big corpus starts at once).

    Files are named ``d0``, ``d1``, ... in sorted path order. Reading one that is unreadable
    or holds no melody records it in ``skipped``.
    """

    def __init__(self, folder: Path | None, seq_len: int) -> None:
        self.folder = folder
        self.seq_len = seq_len
        self.paths: list[Path] = [] if folder is None else midi_files(folder)
        self.skipped: dict[str, str] = {}
        self._read: dict[int, MelodyFile] = {}
        self._lock = threading.Lock()

    def names(self) -> list[dict]:
        """``[{"id", "name"}]`` of every MIDI file of the folder (read or not)."""
        return [{"id": f"d{i}", "name": self._name(path)} for i, path in enumerate(self.paths)]

    def _name(self, path: Path) -> str:
        return str(path.relative_to(self.folder))

    def get(self, file_id: str) -> MelodyFile:
        """The file with id ``file_id``, read on first use.

        Raises ``KeyError`` for an unknown id and ``InputError`` for a file that cannot be read.
        """
        index = int(file_id[1:]) if file_id[:1] == "d" and file_id[1:].isdigit() else -1
        if not 0 <= index < len(self.paths):
            raise KeyError(file_id)
        with self._lock:
            if index in self._read:
                return self._read[index]
        from symusic.data.midi_io import MidiReadError

        path = self.paths[index]
        try:
            tracks = read_tracks(path)
        except (MidiReadError, InputError) as err:
            with self._lock:
                self.skipped[str(path)] = str(err)
            raise InputError(f"{self._name(path)} cannot be read as MIDI ({err})") from err
        entry = MelodyFile(file_id, self._name(path), path, tracks)
        with self._lock:
            self._read[index] = entry
        return entry

    def windows(self, max_windows: int, seed: int = 0) -> tuple[np.ndarray, list[str]]:
        """Up to ``max_windows`` bar-hop windows with a note, from files in a shuffled order.

        Files are read (seeded order) until there are enough windows. Returns
        ``(windows [N, seq_len] int64, labels)``, duplicates dropped; ``N`` may be 0.
        """
        found: dict[bytes, tuple[np.ndarray, str]] = {}
        for index in np.random.default_rng(seed).permutation(len(self.paths)):
            if len(found) >= max_windows:
                break
            try:
                entry = self.get(f"d{index}")
            except InputError:
                continue
            for track in entry.tracks:
                for window, _, bar in track.windows(self.seq_len, STEPS_PER_BAR):
                    window = np.asarray(window, np.int64)
                    if has_notes(window) and window.tobytes() not in found:
                        label = f"{entry.name}, track {track.index}, bar {bar}"
                        found[window.tobytes()] = (window, label)
        items = list(found.values())[:max_windows]
        if not items:
            return np.zeros((0, self.seq_len), dtype=np.int64), []
        return np.stack([w for w, _ in items]), [label for _, label in items]


class Uploads:
    """Files the user uploaded, kept in a temporary folder until the app stops."""

    def __init__(self, seq_len: int) -> None:
        self.seq_len = seq_len
        self._dir = Path(tempfile.mkdtemp(prefix="symusic-studio-"))
        self._entries: OrderedDict[str, MelodyFile] = OrderedDict()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, name: str, data: bytes) -> MelodyFile:
        """Read an uploaded file. Raises ``InputError`` when it is too large, not MIDI, or has
        no melody long enough for the model; the file is then not kept."""
        from symusic.data.midi_io import MidiReadError, read_midi

        if not data:
            raise InputError("the upload is empty")
        if len(data) > MAX_UPLOAD_BYTES:
            raise InputError(f"the upload is {len(data) / 1e6:.1f} MB; the limit is "
                             f"{MAX_UPLOAD_BYTES / 1e6:.0f} MB")
        name = Path(name or "upload.mid").name
        with self._lock:
            upload_id = f"u{next(self._ids)}"
        path = self._dir / f"{upload_id}.mid"
        path.write_bytes(data)
        try:
            read_midi(path)  # the data pipeline's checks, for a message in its own words
            tracks = read_tracks(path)
        except MidiReadError as err:
            path.unlink(missing_ok=True)
            raise InputError(f"{name} is not a readable MIDI file ({err})") from err
        except InputError as err:
            path.unlink(missing_ok=True)
            raise InputError(str(err).replace(str(path), name)) from err
        entry = MelodyFile(upload_id, name, path, tracks)
        if not describe_file(entry, self.seq_len)["tracks"]:
            path.unlink(missing_ok=True)
            bars = self.seq_len // STEPS_PER_BAR
            raise InputError(f"{name} has no usable melody: no monophonic line of {bars} bars "
                             f"or more")
        with self._lock:
            self._entries[upload_id] = entry
            while len(self._entries) > MAX_UPLOADS:
                _, old = self._entries.popitem(last=False)
                old.path.unlink(missing_ok=True)
        return entry

    def get(self, upload_id: str) -> MelodyFile:
        """The upload with id ``upload_id``; ``KeyError`` when there is none (or no longer)."""
        with self._lock:
            return self._entries[upload_id]

    def close(self) -> None:
        """Delete the uploaded files."""
        shutil.rmtree(self._dir, ignore_errors=True)
