"""Finding MIDI files in a folder and extracting their melodies, in parallel, without crashing.

One file's outcome is a :class:`FileMelodies`: its melodies, or why it was skipped. Every
error inside a worker is caught per file; a worker process that dies (``BrokenProcessPool``)
costs only the file it was reading; workers die with the process that started them (see
``symusic.data.workers``). :class:`ScanReport` counts the outcomes for a folder.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from symusic.atomic import atomic_write
from symusic.data.extraction import (
    MAX_BARS,
    NO_16_STEP_BARS,
    NO_MELODIC_PROGRAM,
)
from symusic.data.melody import MAX_STEPS
from symusic.data.midi_io import MAX_FILE_BYTES, MidiReadError, read_midi_with_cut
from symusic.data.representation import get_representation
from symusic.data.settings import DEFAULT_EXTRACTION, DataSettings
from symusic.data.workers import die_with_parent
from symusic.errors import printable
from symusic.progress import bar as progress_bar  # on a terminal, never in logs

__all__ = ["NO_16_STEP_BARS", "NO_MELODIC_PROGRAM"]  # skip reasons, re-exported
MIDI_SUFFIXES = (".mid", ".midi")
USED, NO_MELODY, UNREADABLE = "used", "no melody", "unreadable"
WORKER_CRASHED = "worker process crashed"
CHUNK_FILES = 16  # files per task sent to a worker


@dataclass(frozen=True)
class ExtractionSettings:
    """What decides the melodies of a file; part of the cache key.

    ``extraction``: ``"magenta"`` or ``"any_meter"`` (see ``symusic.data.extraction``);
    ``max_bars`` applies to the first, ``max_steps`` to the second; ``representation``
    names what the sequences are (``symusic.data.representation``).
    """

    programs: tuple[int, ...] = tuple(range(32))
    max_steps: int = MAX_STEPS
    max_bytes: int = MAX_FILE_BYTES
    extraction: str = DEFAULT_EXTRACTION
    max_bars: int = MAX_BARS
    representation: str = "melody"

    @property
    def data_settings(self) -> DataSettings:
        """The representation's view of these settings."""
        return DataSettings(self.representation, self.extraction, self.programs)


class UnreadableFolderError(OSError):
    """The folder to scan (or every folder under it that could hold files) cannot be read."""


@dataclass
class FileMelodies:
    """The outcome for one file: ``melodies`` (``uint8 [16 * bars]`` each) or a skip reason.

    ``status`` is ``"used"``, ``"no melody"`` or ``"unreadable"``; ``cut`` is set when the
    file held more than ``max_steps`` of music.
    """

    melodies: list[np.ndarray]
    status: str = USED
    reason: str = ""
    cut: bool = False


def find_midi_files(folder: str | os.PathLike,
                    unreadable: list[str] | None = None) -> list[tuple[str, int, int]]:
    """``(relative path, size, mtime in ns)`` of each ``.mid`` / ``.midi`` file (any case)
    under ``folder``, sorted by path; size and mtime are -1 if the file cannot be stat'ed.

    Hidden files and folders (such as ``.symusic-cache``) are skipped; symbolic links to
    folders are not followed. Raises :class:`UnreadableFolderError` when ``folder`` itself
    cannot be listed; subfolders that cannot be are skipped (and appended to ``unreadable``).
    """
    found = []
    pending = [("", os.fspath(folder))]
    while pending:
        prefix, directory = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError as error:
            if not prefix:
                raise UnreadableFolderError(error.errno, error.strerror, directory) from error
            if unreadable is not None:
                unreadable.append(prefix.rstrip("/"))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                pending.append((f"{prefix}{entry.name}/", entry.path))
            elif entry.name.lower().endswith(MIDI_SUFFIXES):
                try:
                    stat = entry.stat()
                    found.append((prefix + entry.name, stat.st_size, stat.st_mtime_ns))
                except OSError:
                    found.append((prefix + entry.name, -1, -1))
    return sorted(found)


def list_midi_files(folder: str | os.PathLike) -> list[str]:
    """Relative paths of the MIDI files under ``folder`` (see :func:`find_midi_files`)."""
    return [path for path, _, _ in find_midi_files(folder)]


def extract_file(path: str, settings: ExtractionSettings) -> FileMelodies:
    """Read ``path`` and extract its sequences (melodies, or the settings' representation's);
    never raises (errors become a skip reason)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            midi, cut_at_read = read_midi_with_cut(path, settings.max_bytes)
            representation = get_representation(settings.representation)
            found = representation.extract(midi, settings.data_settings, settings.max_steps,
                                           settings.max_bars)
            if found.melodies:
                return FileMelodies([m.melody for m in found.melodies],
                                    cut=found.cut or cut_at_read)
            return FileMelodies([], NO_MELODY,
                                representation.why_none(midi, settings.data_settings))
    except MidiReadError as error:
        return FileMelodies([], UNREADABLE, error.reason)
    except OSError:  # an I/O error: never cached (see TRANSIENT_REASONS)
        return FileMelodies([], UNREADABLE, "cannot open")
    except Exception as error:  # noqa: BLE001 - any library error on a bad file is a skip
        return FileMelodies([], UNREADABLE, f"{type(error).__name__}")


def _extract_chunk(folder: str, paths: list[str], settings: ExtractionSettings):
    return [extract_file(os.path.join(folder, p), settings) for p in paths]


def extract_files(folder: str, paths: list[str], settings: ExtractionSettings,
                  num_processes: int | None = None, progress: bool = True
                  ) -> dict[str, FileMelodies]:
    """Extract every file of ``paths`` (relative to ``folder``); returns ``{path: outcome}``.

    ``num_processes`` (default ``os.cpu_count()``) worker processes; 1 runs in this process.
    If a worker dies, the files of its unfinished tasks are retried one by one in a single
    worker, so only the file that kills it is marked ``"worker process crashed"``.
    """
    num_processes = num_processes or os.cpu_count() or 1
    bar = progress_bar(total=len(paths), desc=f"reading {Path(folder).name or folder}",
                       unit="file", enabled=progress and bool(paths))
    results: dict[str, FileMelodies] = {}
    if num_processes == 1 or len(paths) <= 1:
        for p in paths:
            results[p] = extract_file(os.path.join(folder, p), settings)
            bar.update()
    else:
        chunks = [paths[i:i + CHUNK_FILES] for i in range(0, len(paths), CHUNK_FILES)]
        leftover = _run_pool(folder, chunks, settings, num_processes, results, bar)
        while leftover:  # a worker died: one file per task, in order, to find the culprit
            leftover = _run_pool(folder, [[p] for p in leftover], settings, 1, results, bar)
            if leftover:
                results[leftover[0]] = FileMelodies([], UNREADABLE, WORKER_CRASHED)
                bar.update()
                leftover = leftover[1:]
    bar.close()
    return results


def _run_pool(folder: str, chunks: list[list[str]], settings: ExtractionSettings,
              workers: int, results: dict[str, FileMelodies], bar: tqdm) -> list[str]:
    """Run ``chunks`` in a pool; fill ``results``; return the files a dead worker left undone."""
    undone: list[str] = []
    with ProcessPoolExecutor(min(workers, len(chunks)), initializer=die_with_parent,
                             initargs=(os.getpid(),)) as pool:
        futures = {pool.submit(_extract_chunk, folder, chunk, settings): chunk
                   for chunk in chunks}
        for future in as_completed(futures):
            chunk = futures[future]
            try:
                outcomes = future.result()
            except BrokenProcessPool:
                undone.extend(chunk)
                continue
            for p, outcome in zip(chunk, outcomes, strict=True):
                results[p] = outcome
            bar.update(len(chunk))
    order = {p: i for i, chunk in enumerate(chunks) for p in chunk}
    return sorted(undone, key=order.__getitem__)


@dataclass
class ScanReport:
    """What a folder scan found: file counts by outcome and skip reason.

    ``reasons`` maps a skip reason to its file count; ``extracted`` is how many files were
    read this time (the rest came from the cache); ``skipped_path`` lists each skipped file.
    """

    folder: str
    files: int = 0
    used: int = 0
    without_melody: int = 0
    unreadable: int = 0
    melodies: int = 0
    cut: int = 0
    extracted: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    cache_path: Path | None = None
    skipped_path: Path | None = None
    sequence_name: str = "melody"  # what the files were searched for (a drum scan: "drum track")

    @classmethod
    def from_counts(cls, folder: str, statuses: np.ndarray, reasons: np.ndarray,
                    cut: np.ndarray, melodies: int, extracted: int) -> ScanReport:
        """Count per-file ``statuses``, skip ``reasons`` and ``cut`` flags (arrays ``[files]``)."""
        statuses = np.asarray(statuses, dtype=str)
        skipped = statuses != USED
        return cls(
            folder=str(folder), files=len(statuses), used=int((~skipped).sum()),
            without_melody=int((statuses == NO_MELODY).sum()),
            unreadable=int((statuses == UNREADABLE).sum()), melodies=int(melodies),
            cut=int(np.count_nonzero(cut)), extracted=extracted,
            reasons=dict(Counter(np.asarray(reasons, dtype=str)[skipped].tolist())),
        )

    def summary_line(self) -> str:
        """One line, e.g. ``12,345 files: 11,900 used, 300 without melody, 145 unreadable``."""
        line = (f"{self.files:,} files: {self.used:,} used, {self.without_melody:,} without "
                f"{self.sequence_name}, {self.unreadable:,} unreadable")
        if self.cut:
            line += f", {self.cut:,} cut at the length limit"
        if self.skipped_path and (self.without_melody or self.unreadable):
            line += f" (reasons in {self.skipped_path})"
        return line


def write_skipped(path: Path, outcomes: dict[str, FileMelodies]) -> None:
    """Write ``<relative path>\\t<status>: <reason>`` for every skipped file (atomically)."""
    lines = [printable(f"{p}\t{o.status}: {o.reason}\n") for p, o in sorted(outcomes.items())
             if o.status != USED]
    with atomic_write(path, "w") as handle:
        handle.write("".join(lines))
