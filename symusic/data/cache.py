"""The on-disk melody cache: one ``.npz`` file per (folder, extraction settings).

The cache holds, for every MIDI file of a folder, its relative path, size and mtime (the
key that says whether the file must be read again), its outcome (used, no melody,
unreadable, and why) and its melodies (or drum tracks). All are concatenated into one token
array with offsets (``uint8`` for melodies, the representation's dtype otherwise), so
opening the cache of a 10,000-file folder reads a handful of arrays. It lives in
``<folder>/.symusic-cache/`` or, when the folder is not writable, in ``~/.cache/symusic/``;
it is written to a temporary file and renamed into place, and temporaries a killed writer
left behind are removed the next time the cache is opened.
A file whose size or mtime changed while the scan read it is stored with the mtime
``CHANGED_WHILE_READ``, which no file has, so the next scan reads it again.
Outcomes that may change without the file changing (it could not be opened: permissions, I/O
errors) are stored but never reused: such a file is read again on the next scan.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from symusic.atomic import atomic_write
from symusic.data.midi_io import TRANSIENT_REASONS
from symusic.data.scan import UNREADABLE, ExtractionSettings, FileMelodies

FORMAT_VERSION = 2  # 2: extraction settings (magenta / any_meter), leading note-offs
CACHE_FOLDER = ".symusic-cache"
STALE_SECONDS = 60.0  # a temporary file untouched this long belongs to no running writer
CHANGED_WHILE_READ = -1  # the mtime stored for a file that changed while it was read


def settings_key(settings: ExtractionSettings) -> str:
    """A short stable hash of the extraction settings and the cache format (a melody's
    settings leave the representation out, so melody caches keep their names)."""
    fields = dataclasses.asdict(settings)
    if fields["representation"] == "melody":
        del fields["representation"]
    text = json.dumps({"version": FORMAT_VERSION, **fields}, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _is_writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)


def cache_folder(midi_dir: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where the cache of ``midi_dir`` goes: ``<midi_dir>/.symusic-cache`` if writable, else
    ``~/.cache/symusic/<name>-<hash of its path>``; with ``cache_dir``, that same
    ``<name>-<hash>`` folder inside ``cache_dir`` (so several folders can share it)."""
    midi_dir = Path(midi_dir).resolve()
    tagged = f"{midi_dir.name}-{hashlib.sha1(str(midi_dir).encode()).hexdigest()[:8]}"
    if cache_dir is not None:
        return Path(cache_dir) / tagged
    local = midi_dir / CACHE_FOLDER
    if _is_writable(local):
        return local
    return Path.home() / ".cache" / "symusic" / tagged


@dataclass
class MelodyTable:
    """Every file of a folder with its stat key, outcome and melodies, as flat arrays.

    ``paths``, ``sizes``, ``mtimes`` (ns), ``statuses``, ``reasons``, ``cut``: ``[F]``;
    file ``f`` owns melodies ``file_offsets[f]:file_offsets[f + 1]`` (``[F + 1]``);
    melody ``m`` is ``tokens[melody_offsets[m]:melody_offsets[m + 1]]`` (``[M + 1]``).
    """

    paths: np.ndarray
    sizes: np.ndarray
    mtimes: np.ndarray
    statuses: np.ndarray
    reasons: np.ndarray
    cut: np.ndarray
    file_offsets: np.ndarray
    melody_offsets: np.ndarray
    tokens: np.ndarray

    @classmethod
    def build(cls, paths: list[str], sizes: list[int], mtimes: list[int],
              outcomes: list[FileMelodies], token_dtype: type = np.uint8) -> MelodyTable:
        """Pack per-file outcomes (in the order of ``paths``) into one table, the tokens
        stored as ``token_dtype`` (the representation's: ``uint8`` melodies, ``uint16``
        drums)."""
        melodies = [m for outcome in outcomes for m in outcome.melodies]
        counts = [len(outcome.melodies) for outcome in outcomes]
        lengths = [len(m) for m in melodies]
        tokens = np.concatenate(melodies) if melodies else np.zeros(0, token_dtype)
        return cls(
            paths=np.array(paths, dtype=str),
            sizes=np.array(sizes, dtype=np.int64),
            mtimes=np.array(mtimes, dtype=np.int64),
            statuses=np.array([o.status for o in outcomes], dtype=str),
            reasons=np.array([o.reason for o in outcomes], dtype=str),
            cut=np.array([o.cut for o in outcomes], dtype=bool),
            file_offsets=np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]),
            melody_offsets=np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)]),
            tokens=tokens.astype(token_dtype, copy=False),
        )

    def __len__(self) -> int:
        return len(self.paths)

    def melody(self, m: int) -> np.ndarray:
        """Melody ``m`` (a view): ``[16 * bars]`` tokens."""
        return self.tokens[self.melody_offsets[m]:self.melody_offsets[m + 1]]

    def outcome(self, f: int) -> FileMelodies:
        """The outcome of file ``f``, its melodies as views into ``tokens``."""
        melodies = [self.melody(m) for m in range(self.file_offsets[f], self.file_offsets[f + 1])]
        return FileMelodies(melodies, str(self.statuses[f]), str(self.reasons[f]),
                            bool(self.cut[f]))

    def matches(self, paths: list[str], sizes: list[int], mtimes: list[int]) -> bool:
        """Whether the table holds exactly these files with these sizes and mtimes, and no
        outcome that must be tried again (see :meth:`reusable`)."""
        return (len(paths) == len(self.paths) and bool(np.all(self.paths == np.array(paths)))
                and np.array_equal(self.sizes, sizes) and np.array_equal(self.mtimes, mtimes)
                and bool(self.reusable().all()))

    def reusable(self) -> np.ndarray:
        """``bool [F]``: whether file ``f``'s outcome may be reused while its size and mtime
        stay the same (not when it could not be opened: permissions, I/O errors)."""
        transient = (self.statuses == UNREADABLE) & np.isin(self.reasons, TRANSIENT_REASONS)
        return ~transient


def load_table(path: Path) -> MelodyTable | None:
    """The table stored at ``path``, or ``None`` if it is missing, stale or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            if int(stored["version"]) != FORMAT_VERSION:
                return None
            return MelodyTable(**{f.name: stored[f.name] for f in dataclasses.fields(MelodyTable)})
    except (OSError, KeyError, ValueError, EOFError):
        return None
    except Exception:  # noqa: BLE001 - a damaged cache is rebuilt, never fatal
        return None


def remove_stale_temporaries(folder: Path, older_than: float = STALE_SECONDS) -> int:
    """Remove the temporary files a killed writer left in the cache ``folder`` (the atomic
    writer's ``.<name>.<random>.tmp`` files untouched for ``older_than`` seconds, so a
    concurrent scan's write in progress is kept). Returns how many were removed."""
    removed = 0
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        name = entry.name
        if not (name.startswith((".melodies-", ".skipped-")) and name.endswith(".tmp")):
            continue
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime >= older_than:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue
    return removed


def save_table(table: MelodyTable, path: Path) -> None:
    """Write ``table`` to ``path`` atomically (temporary file, then ``os.replace``)."""
    arrays = {f.name: getattr(table, f.name) for f in dataclasses.fields(MelodyTable)}
    with atomic_write(path) as f:
        np.savez(f, version=np.array(FORMAT_VERSION), **arrays)
