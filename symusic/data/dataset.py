"""From a MIDI folder to batches of N-bar melody windows.

:class:`MelodyCollection` scans a folder once (parallel, cached on disk, bad files counted);
:class:`WindowDataset` indexes every distinct window of ``slice_bar`` bars as
``(melody id, start step)``; :func:`make_train_loader` and :func:`make_eval_loader` wrap
them in DataLoaders whose batches are ``LongTensor [B, slice_bar * 16]``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset

from symusic.data.cache import (
    CHANGED_WHILE_READ,
    MelodyTable,
    cache_folder,
    load_table,
    remove_stale_temporaries,
    save_table,
    settings_key,
)
from symusic.data.drum_tracks import NO_DRUM_TRACK
from symusic.data.extraction import MAX_BARS
from symusic.data.melody import (
    DEFAULT_PROGRAMS,
    MAX_STEPS,
    NoMelodiesError,
    describe_programs,
    unique_window_index,
)
from symusic.data.midi_io import MAX_FILE_BYTES
from symusic.data.representation import Representation, get_representation
from symusic.data.sampler import ResumableSampler
from symusic.data.scan import (
    NO_16_STEP_BARS,
    NO_MELODIC_PROGRAM,
    UNREADABLE,
    ExtractionSettings,
    FileMelodies,
    ScanReport,
    UnreadableFolderError,
    extract_files,
    find_midi_files,
    write_skipped,
)
from symusic.data.settings import DEFAULT_EXTRACTION, DataSettings, check_extraction

__all__ = ["MelodyCollection", "NoMelodiesError", "ResumableSampler", "ScanReport",
           "WindowDataset", "make_eval_loader", "make_train_loader"]


class MelodyCollection:
    """The melodies of every MIDI file under a folder, read once and cached.

    ``tokens``: all melodies concatenated (``uint8``); melody ``m`` is
    ``tokens[melody_offsets[m]:melody_offsets[m + 1]]`` and comes from
    ``paths[melody_files[m]]``. ``report`` (a :class:`ScanReport`) says what was used/skipped;
    ``settings`` how the melodies were extracted, and by which ``representation`` (melodies,
    or drum tracks: the "melodies" are then its token sequences, stored in its dtype).
    """

    def __init__(self, folder: Path, table: MelodyTable, report: ScanReport,
                 settings: ExtractionSettings | None = None):
        self.folder = folder
        self.settings = settings or ExtractionSettings()
        self.paths = table.paths.tolist()
        self.tokens = table.tokens
        self.melody_offsets = table.melody_offsets
        self.file_offsets = table.file_offsets
        self.melody_files = np.repeat(np.arange(len(table), dtype=np.int64),
                                      np.diff(table.file_offsets))
        self.report = report

    @property
    def representation(self) -> Representation:
        """What the collection's tokens are (its settings' representation)."""
        return get_representation(self.settings.representation)

    @classmethod
    def from_folder(cls, midi_dir: str | os.PathLike,
                    programs=DEFAULT_PROGRAMS, num_processes: int | None = None,
                    cache_dir: str | os.PathLike | None = None, max_steps: int = MAX_STEPS,
                    max_bytes: int = MAX_FILE_BYTES, progress: bool = True,
                    extraction: str = DEFAULT_EXTRACTION,
                    max_bars: int = MAX_BARS, representation: str = "melody"
                    ) -> MelodyCollection:
        """Scan ``midi_dir`` recursively for ``.mid``/``.midi`` files and extract their melodies.

        ``extraction``: ``"magenta"`` (Magenta's converter; ``max_bars`` per melody) or
        ``"any_meter"`` (a tick grid for music in any meter; ``max_steps`` per file). Files
        unchanged since the last scan (same relative path, size and mtime) come from the
        cache; the others are read by ``num_processes`` processes (default all cores).
        ``representation``: what to extract (``"melody"``, or ``"drums"``: the drum tracks).
        Prints one summary line when ``progress``. Raises :class:`NoMelodiesError` (naming
        the folder) when it does not exist, cannot be read or gives no usable melody (or
        drum track).
        """
        kind = get_representation(representation)
        folder = Path(midi_dir)
        if not folder.is_dir():
            raise NoMelodiesError(f"{folder}: no such folder")
        unreadable: list[str] = []
        try:
            found = find_midi_files(folder, unreadable)
        except UnreadableFolderError as error:
            raise NoMelodiesError(f"{folder}: cannot read the folder ({error.strerror})") from None
        if not found:
            if unreadable:
                raise NoMelodiesError(
                    f"{folder}: no .mid or .midi files it can read; cannot read "
                    f"{len(unreadable)} folder{'s' if len(unreadable) != 1 else ''} in it "
                    f"({', '.join(unreadable[:3])}{', ...' if len(unreadable) > 3 else ''})")
            raise NoMelodiesError(f"{folder}: no .mid or .midi files in it")
        if unreadable and progress:
            print(f"warning: {folder}: cannot read {len(unreadable)} folder(s) in it: "
                  f"{', '.join(unreadable[:3])}", file=sys.stderr)
        settings = ExtractionSettings(tuple(sorted(set(programs))), max_steps, max_bytes,
                                      check_extraction(extraction), max_bars, kind.name)
        DataSettings(kind.name, settings.extraction)  # ValueError: an extraction it lacks
        key = settings_key(settings)
        where = cache_folder(folder, cache_dir)
        remove_stale_temporaries(where)
        cache_path, skipped_path = where / f"melodies-{key}.npz", where / f"skipped-{key}.txt"
        paths, sizes, mtimes = (list(column) for column in zip(*found, strict=True))
        table = load_table(cache_path)
        extracted = 0
        if table is None or not table.matches(paths, sizes, mtimes):
            table, extracted = _update_table(folder, table, paths, sizes, mtimes, settings,
                                             num_processes, progress, kind.token_dtype)
            _save_or_warn(table, cache_path, skipped_path)
        elif not skipped_path.exists():
            _save_or_warn(None, cache_path, skipped_path, table)
        report = ScanReport.from_counts(folder, table.statuses, table.reasons, table.cut,
                                        len(table.melody_offsets) - 1, extracted)
        report.cache_path, report.skipped_path = cache_path, skipped_path
        report.sequence_name = kind.sequence_name
        if progress:
            print(f"{folder}: {report.summary_line()}", file=sys.stderr)
        if report.used == 0:
            hint = ""
            outside = report.reasons.get(NO_MELODIC_PROGRAM, 0)
            other_meter = report.reasons.get(NO_16_STEP_BARS, 0)
            if outside:
                hint = (f"; {outside} file{'s' if outside != 1 else ''} only hold instruments "
                        f"outside the melodic programs {describe_programs(settings.programs)}"
                        " (set `programs` in the config to read other instruments)")
            elif other_meter and "any_meter" in kind.extractions:
                hint = (f"; {other_meter} file{'s' if other_meter != 1 else ''} hold no 4/4 "
                        "section, which the magenta extraction needs (set `extraction` to "
                        "any_meter in the config to read music in any meter)")
            no_drums = report.reasons.get(NO_DRUM_TRACK, 0)
            if no_drums and not hint:
                files = f"{no_drums} files have" if no_drums != 1 else "1 file has"
                hint = (f"; {files} no track on the drum channel (MIDI channel 10), the only "
                        "tracks a drum model reads")
            if not hint and report.reasons:  # the skip reasons, counted
                hint = "; " + ", ".join(f"{count} {reason}" for reason, count
                                        in sorted(report.reasons.items()))
            raise NoMelodiesError(
                f"{folder}: no usable {kind.sequence_name} ({report.summary_line()}){hint}")
        return cls(folder, table, report, settings)

    def __len__(self) -> int:
        """Number of melodies."""
        return len(self.melody_offsets) - 1

    def melody(self, m: int) -> np.ndarray:
        """Melody ``m`` as ``[16 * bars]`` tokens of the representation's dtype (a view)."""
        return self.tokens[self.melody_offsets[m]:self.melody_offsets[m + 1]]

    @property
    def keeps_empty_windows(self) -> bool:
        """Whether windows without a note count (Magenta's converter keeps them)."""
        return self.settings.extraction == "magenta" and self.representation.keeps_empty_windows

    def window_index(self, n_bars: int) -> np.ndarray:
        """Every distinct window of ``n_bars`` bars, per file, in file order (under
        ``any_meter`` only those with an onset).

        Returns ``int64 [N, 2]`` rows ``(melody id, start step)``.
        """
        return unique_window_index(self.tokens, self.melody_offsets, self.melody_files, n_bars,
                                   self.keeps_empty_windows,
                                   as_windows=self.representation.as_windows,
                                   onsets=self.representation.onsets)


def _update_table(folder: Path, old: MelodyTable | None, paths: list[str], sizes: list[int],
                  mtimes: list[int], settings: ExtractionSettings, num_processes: int | None,
                  progress: bool, token_dtype: type) -> tuple[MelodyTable, int]:
    """A table for ``paths``: unchanged files from ``old``, the rest extracted now."""
    known = {}
    if old is not None:
        known = {p: i for i, p in enumerate(old.paths.tolist())}
    reusable = old.reusable() if old is not None else None
    outcomes: dict[str, FileMelodies] = {}
    todo = []
    for p, size, mtime in zip(paths, sizes, mtimes, strict=True):
        i = known.get(p)
        if (i is not None and size >= 0 and old.sizes[i] == size and old.mtimes[i] == mtime
                and reusable[i]):
            outcomes[p] = old.outcome(i)
        elif size < 0:
            outcomes[p] = FileMelodies([], UNREADABLE, "cannot stat")
        else:
            todo.append(p)
    outcomes.update(extract_files(str(folder), todo, settings, num_processes, progress))
    # A file that changed while the scan ran may have been read in either state: its outcome
    # is kept under a stamp no file has, so the next scan reads it again.
    stamps = dict(zip(paths, zip(sizes, mtimes, strict=True), strict=True))
    changed = {p for p in todo if _stamp(folder / p) != stamps[p]}
    mtimes = [CHANGED_WHILE_READ if p in changed else m for p, m in zip(paths, mtimes,
                                                                         strict=True)]
    table = MelodyTable.build(paths, sizes, mtimes, [outcomes[p] for p in paths], token_dtype)
    return table, len(todo)


def _stamp(path: Path) -> tuple[int, int]:
    """``(size, mtime in ns)`` of ``path`` now, as :func:`find_midi_files` gives them."""
    try:
        stat = path.stat()
    except OSError:
        return -1, -1
    return stat.st_size, stat.st_mtime_ns


def _save_or_warn(table: MelodyTable | None, cache_path: Path, skipped_path: Path,
                  skipped_from: MelodyTable | None = None) -> None:
    """Write the cache (if ``table``) and the skipped-file list; a failure only warns."""
    try:
        if table is not None:
            save_table(table, cache_path)
        source = table if table is not None else skipped_from
        outcomes = {p: FileMelodies([], str(s), str(r))
                    for p, s, r in zip(source.paths, source.statuses, source.reasons,
                                       strict=True)}
        write_skipped(skipped_path, outcomes)
    except OSError as error:
        print(f"warning: could not write the melody cache {cache_path}: {error}",
              file=sys.stderr)


class WindowDataset(Dataset):
    """Every distinct window of ``slice_bar`` bars of a :class:`MelodyCollection`.

    Items are ``LongTensor [slice_bar * 16]``. An item key is a window number, or a pair
    ``(window number, semitone shift)`` as :class:`ResumableSampler` yields. ``max_windows``
    keeps an evenly spaced, deterministic subset. Holds only arrays, so DataLoader workers
    never rescan. Raises :class:`NoMelodiesError` when there is no such window.
    """

    def __init__(self, collection: MelodyCollection, slice_bar: int,
                 max_windows: int | None = None):
        if slice_bar < 1:
            raise ValueError(f"slice_bar must be at least 1, got {slice_bar}")
        self.slice_bar = slice_bar
        self.representation = collection.representation
        self.length = self.representation.window_length(slice_bar)
        self.folder = collection.folder
        self.tokens = collection.tokens
        self.melody_offsets = collection.melody_offsets
        index = collection.window_index(slice_bar)
        if max_windows is not None and len(index) > max_windows:
            keep = np.unique(np.linspace(0, len(index) - 1, max_windows).round().astype(np.int64))
            index = index[keep]
        if len(index) == 0:
            raise NoMelodiesError(f"{collection.folder}: no {self.representation.sequence_name}"
                                  f" of {slice_bar} bars or more "
                                  f"({collection.report.summary_line()})")
        self.index = index
        self.offsets = self.melody_offsets[index[:, 0]] + index[:, 1]

    @classmethod
    def from_folder(cls, midi_dir: str | os.PathLike, slice_bar: int,
                    max_windows: int | None = None, **scan_options) -> WindowDataset:
        """Scan ``midi_dir`` (see :meth:`MelodyCollection.from_folder`) and index its windows."""
        return cls(MelodyCollection.from_folder(midi_dir, **scan_options), slice_bar, max_windows)

    def __len__(self) -> int:
        return len(self.index)

    def window(self, i: int, shift: int = 0) -> np.ndarray:
        """Window ``i`` as ``[T]`` tokens, cut as training cuts windows (a melody's note-offs
        before its first onset cleared), its pitches moved ``shift`` semitones (kept in range;
        drums never move)."""
        window = self.representation.cut_window(self.tokens, self.offsets[i], self.length)
        return self.representation.transpose(window, shift) if shift else window

    def __getitem__(self, key) -> torch.Tensor:
        i, shift = key if isinstance(key, tuple) else (key, 0)
        window = self.window(int(i), int(shift))
        return torch.from_numpy(window.astype(self.representation.window_dtype, copy=False))

    def shift_bounds(self) -> np.ndarray:
        """The lowest and highest semitone shift that keeps each window's notes in range:
        ``int64 [N, 2]`` (what :class:`ResumableSampler` draws between)."""
        bounds = np.empty((len(self), 2), dtype=np.int64)
        steps = np.arange(self.length)
        for first in range(0, len(self), 65_536):  # a few MB of windows at a time
            rows = self.tokens[self.offsets[first:first + 65_536, None] + steps]
            pitches = self.representation.pitch_bounds(rows)
            bounds[first:first + 65_536] = np.column_stack(
                self.representation.shift_bounds(pitches[:, 0], pitches[:, 1]))
        return bounds


def _as_dataset(data, slice_bar: int | None, max_windows: int | None = None) -> Dataset:
    if isinstance(data, WindowDataset):
        if max_windows is not None and len(data) > max_windows:
            keep = np.linspace(0, len(data) - 1, max_windows).round().astype(np.int64)
            return Subset(data, np.unique(keep).tolist())
        return data
    if slice_bar is None:
        raise ValueError("slice_bar is needed to cut a MelodyCollection into windows")
    return WindowDataset(data, slice_bar, max_windows)


def make_train_loader(data: MelodyCollection | WindowDataset, batch_size: int,
                      num_workers: int = 0, seed: int = 0, transpose: int = 0, rank: int = 0,
                      world_size: int = 1, slice_bar: int | None = None) -> DataLoader:
    """Endless shuffled training batches ``LongTensor [batch_size, slice_bar * 16]``.

    ``loader.sampler`` is the :class:`ResumableSampler` (never-ending; ``len`` = one epoch
    of this rank): resume with ``loader.sampler.set_position(epoch, index)``. ``transpose``
    moves each window by a random shift in ``-transpose..transpose`` that keeps its pitches
    in range (:meth:`WindowDataset.shift_bounds`). ``rank``/``world_size`` give each DDP
    process a disjoint shard.
    """
    dataset = _as_dataset(data, slice_bar)
    sampler = ResumableSampler(len(dataset), seed, shuffle=True, transpose=transpose, rank=rank,
                               world_size=world_size,
                               shift_bounds=dataset.shift_bounds() if transpose else None)
    # A generator of its own: otherwise each new iterator draws its worker seed from the global
    # torch RNG, and a resumed run would draw it at another point of that stream than the
    # uninterrupted one.
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                      persistent_workers=num_workers > 0,
                      generator=torch.Generator().manual_seed(seed))


def make_eval_loader(data: MelodyCollection | WindowDataset, batch_size: int,
                     num_workers: int = 0, slice_bar: int | None = None,
                     max_windows: int | None = None) -> DataLoader:
    """Evaluation batches in a fixed order: every distinct window in file order, or an
    evenly spaced subset of ``max_windows``. The last batch may be smaller."""
    dataset = _as_dataset(data, slice_bar, max_windows)
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                      generator=torch.Generator().manual_seed(0))  # leaves the global RNG alone
