"""The melodies a user can pick: the MIDI files of ``--data`` and the files they upload.

Each file is read once into its melody tracks (``midi_windows.read_tracks``, the data
pipeline's reader and extractor); a window is then picked from those tracks by track and
start bar with ``midi_windows.window_at_bar``, as the command line's ``interpolate`` does.

An upload is bounded before it is read: at most ``MAX_UPLOAD_BYTES`` (``guard.py`` refuses a
larger body while it streams in), at most ``MAX_MIDI_TRACKS`` tracks in its header, at most
``MAX_MELODY_TRACKS`` melody tracks offered, each at most the data pipeline's one hour
(``melody.MAX_STEPS``), and only ``MAX_PARALLEL_READS`` read at once (parsing a dense file
takes ~100 MB per MB of notes), each in a worker process killed after ``READ_TIMEOUT_S``
(``upload_reader.py``). Uploads live in ``<tmp>/symusic-studio-<pid>-*``; a folder whose
process is gone (killed before it could clean up) is removed when the next studio starts.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from symusic.data.midi_windows import (
    Track,
    has_notes,
    midi_files,
    read_tracks,
    window_at_bar,
)
from symusic.data.representation import get_representation
from symusic.data.settings import DataSettings
from symusic.errors import InputError, printable
from symusic.studio.upload_reader import READ_TIMEOUT_S, read_tracks_in_time

MAX_UPLOAD_BYTES = 2**20
MAX_UPLOADS = 32  # the oldest upload is forgotten beyond this
MAX_MIDI_TRACKS = 256  # MTrk chunks in the file's header, checked before parsing
MAX_MELODY_TRACKS = 64
MAX_PARALLEL_READS = 2
READ_WAIT_S = 60.0  # an upload waits this long for its turn to be read
UPLOAD_DIR_PREFIX = "symusic-studio-"


@dataclass
class MelodyFile:
    """A readable MIDI file, its melody tracks, and the id the API names it by."""

    id: str
    name: str
    path: Path
    tracks: list[Track]


def start_bars(track: Track, seq_len: int) -> list[int]:
    """The file's bars a whole window of the track can start on."""
    return [bar for _, _, bar in track.windows(seq_len)]


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

    The tracks read when the file was first read are used (a big file is not parsed again
    for every window). Raises ``InputError`` when there is no such window; its message names
    the file as the user knows it (an upload's own name, not where it was saved).
    """
    window, source = window_at_bar(entry.tracks, entry.name, seq_len, track, bar,
                                   choices="possible bars")
    label = f"{entry.name}, track {source.track}, bar {bar}"
    return np.asarray(window, dtype=np.int64), label


class DataLibrary:
    """The MIDI files of a folder, each read when first needed (a big corpus starts at once).

    Files are named ``d0``, ``d1``, ... in sorted path order. Reading one that is unreadable
    or holds no melody records it in ``skipped``.
    """

    def __init__(self, folder: Path | None, seq_len: int,
                 settings: DataSettings | None = None) -> None:
        self.folder = folder
        self.seq_len = seq_len
        self.settings = settings  # how the model's training data was read (its checkpoint's)
        self.paths: list[Path] = [] if folder is None else midi_files(folder)
        self.skipped: dict[str, str] = {}
        self._read: dict[int, MelodyFile] = {}
        self._lock = threading.Lock()

    def names(self) -> list[dict]:
        """``[{"id", "name"}]`` of every MIDI file of the folder (read or not)."""
        return [{"id": f"d{i}", "name": self._name(path)} for i, path in enumerate(self.paths)]

    def _name(self, path: Path) -> str:
        return printable(str(path.relative_to(self.folder)))

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
            tracks = read_tracks(path, settings=self.settings)
        except (MidiReadError, InputError) as err:
            with self._lock:
                self.skipped[str(path)] = str(err)
            reason = str(err.__cause__ or err).replace(str(path), self._name(path))
            raise InputError(f"{self._name(path)} cannot be read as MIDI ({reason})") from err
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
                for window, _, bar in track.windows(self.seq_len):
                    window = np.asarray(window, np.int64)
                    if has_notes(window, track.representation) and window.tobytes() not in found:
                        label = f"{entry.name}, track {track.index}, bar {bar}"
                        found[window.tobytes()] = (window, label)
        items = list(found.values())[:max_windows]
        if not items:
            return np.zeros((0, self.seq_len), dtype=np.int64), []
        return np.stack([w for w, _ in items]), [label for _, label in items]


def header_tracks(data: bytes) -> int | None:
    """The number of tracks a MIDI file's header declares (what a parser reads), or None
    when ``data`` does not start with a MIDI header."""
    if len(data) < 14 or data[:4] != b"MThd":
        return None
    return int.from_bytes(data[10:12], "big")


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process, alive
        return False
    return False


def remove_stale_upload_dirs(parent: Path) -> list[Path]:
    """Delete this user's upload folders under ``parent`` whose studio process is gone.

    Returns the folders removed.
    """
    pattern = re.compile(re.escape(UPLOAD_DIR_PREFIX) + r"(\d+)-")
    removed = []
    for folder in parent.glob(f"{UPLOAD_DIR_PREFIX}*"):
        match = pattern.match(folder.name)
        if not match or int(match.group(1)) == os.getpid():
            continue
        try:
            ours = folder.is_dir() and folder.stat().st_uid == os.getuid()
        except OSError:
            continue
        if ours and _process_gone(int(match.group(1))):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


class Uploads:
    """Files the user uploaded, kept in a temporary folder until the app stops.

    ``parent`` is where that folder is made (default: the system's temporary folder).
    """

    def __init__(self, seq_len: int, parent: Path | None = None,
                 settings: DataSettings | None = None) -> None:
        self.seq_len = seq_len
        self.settings = settings  # how the model's training data was read (its checkpoint's)
        self.representation = get_representation((settings or DataSettings()).representation)
        parent = Path(parent or tempfile.gettempdir())
        remove_stale_upload_dirs(parent)
        self._dir = Path(tempfile.mkdtemp(prefix=f"{UPLOAD_DIR_PREFIX}{os.getpid()}-",
                                          dir=parent))
        self._entries: OrderedDict[str, MelodyFile] = OrderedDict()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._reading = threading.BoundedSemaphore(MAX_PARALLEL_READS)
        self.read_timeout_s = READ_TIMEOUT_S  # one upload's read, in its worker process

    def add(self, name: str, data: bytes) -> MelodyFile:
        """Read an uploaded file. Raises ``InputError`` when it is too large or too wide, not
        MIDI, takes longer than ``read_timeout_s`` to read, or has no melody long enough for
        the model; the file is then not kept."""
        from symusic.data.midi_windows import UnreadableMidiError

        name = Path(name or "upload.mid").name
        if not data:
            raise InputError("the upload is empty")
        if len(data) > MAX_UPLOAD_BYTES:
            raise InputError(f"the upload is {len(data) / 2**20:.1f} MB; the limit is "
                             f"{MAX_UPLOAD_BYTES / 2**20:g} MB")
        declared = header_tracks(data) or 0
        if declared > MAX_MIDI_TRACKS:
            raise InputError(f"{name} has {declared:,} tracks; the studio reads files of at "
                             f"most {MAX_MIDI_TRACKS}")
        with self._lock:
            upload_id = f"u{next(self._ids)}"
        path = self._dir / f"{upload_id}.mid"
        self._dir.mkdir(mode=0o700, exist_ok=True)  # a cleaner of old temporary files may strike
        path.write_bytes(data)
        if not self._reading.acquire(timeout=READ_WAIT_S):
            path.unlink(missing_ok=True)
            raise InputError("the studio is busy reading other uploads: try again in a moment")
        try:
            tracks = read_tracks_in_time(path, self.settings, self.read_timeout_s)
        except UnreadableMidiError as err:
            path.unlink(missing_ok=True)
            reason = str(err.__cause__ or err).replace(str(path), name)
            raise InputError(f"{name} is not a readable MIDI file ({reason})") from err
        except InputError as err:
            path.unlink(missing_ok=True)
            raise InputError(str(err).replace(str(path), name)) from err
        finally:
            self._reading.release()
        entry = MelodyFile(upload_id, name, path, tracks)
        offered = len(describe_file(entry, self.seq_len)["tracks"])
        if not offered:
            path.unlink(missing_ok=True)
            bars = self.representation.bars_in(self.seq_len)
            if not tracks and getattr(tracks, "no_melody", ""):  # why: e.g. a part is missing
                raise InputError(f"{name} has no usable {tracks.sequence_name}: "
                                 f"{tracks.no_melody}")
            raise InputError(f"{name} has no usable melody: no monophonic line of {bars} bars "
                             f"or more")
        if offered > MAX_MELODY_TRACKS:
            path.unlink(missing_ok=True)
            raise InputError(f"{name} has {offered} tracks with melodies; the studio offers "
                             f"at most {MAX_MELODY_TRACKS}: keep the ones you want in a MIDI "
                             f"editor")
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
