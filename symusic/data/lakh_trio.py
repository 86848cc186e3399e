"""A trio training folder from a user's own multi-track MIDI collection (the Lakh MIDI Dataset).

``python -m symusic.data.corpus --name lakh-trio --from LMD_FOLDER --out data/lakh_trio`` reads
every MIDI file under the source folder as the trio representation reads it (in worker
processes, the folder scan's :func:`symusic.data.scan.extract_files`) and copies each file that
holds a trio of ``min_bars`` bars or more (a melody, a bass and a drum track playing together,
:mod:`symusic.data.trio_tracks`) into ``out/train`` or ``out/eval``: one file in ten goes to
eval, chosen by a hash of its path, so a second run (or a larger copy of the collection) puts
each file in the same split. ``out/manifest.json`` counts the files kept and why the others
were left out. The files are copied unchanged (the user's licence terms travel with them: the
Lakh MIDI Dataset is CC BY 4.0, https://colinraffel.com/projects/lmd/).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from pathlib import Path

from symusic.atomic import atomic_write
from symusic.data.scan import (
    NO_MELODY,
    USED,
    ExtractionSettings,
    UnreadableFolderError,
    extract_files,
    find_midi_files,
)
from symusic.data.tokens import STEPS_PER_BAR

EVAL_ONE_IN = 10
SHORT = "no trio of {bars} bars"  # the reason a file with only shorter trios is left out


class LakhTrioError(ValueError):
    """The source folder cannot be used (missing, unreadable, or no MIDI file in it)."""


def split_of(relative_path: str) -> str:
    """``"eval"`` for one path in :data:`EVAL_ONE_IN` (by a hash of it), else ``"train"``."""
    digest = hashlib.sha1(relative_path.encode()).digest()
    return "eval" if int.from_bytes(digest[:4], "big") % EVAL_ONE_IN == 0 else "train"


def out_name(relative_path: str) -> str:
    """The file's name in its split: its path with ``/`` as ``__`` (names stay unique)."""
    return relative_path.replace("/", "__")


def prepare_lakh_trio(source: str | Path, out: str | Path, min_bars: int = 16,
                      limit: int | None = None, workers: int | None = None,
                      progress: bool = True) -> dict:
    """Copy the files of ``source`` (the first ``limit``, in path order) with a trio of
    ``min_bars`` bars into ``out/train`` and ``out/eval``; write and return the manifest
    (``files`` per split, ``left_out`` reasons with counts)."""
    source, out = Path(source), Path(out)
    if not source.is_dir():
        raise LakhTrioError(f"{source}: no such folder")
    try:
        paths = [p for p, _, _ in find_midi_files(source)][:limit]
    except UnreadableFolderError as error:
        raise LakhTrioError(f"{source}: cannot read the folder ({error.strerror})") from None
    if not paths:
        raise LakhTrioError(f"{source}: no .mid or .midi files in it")
    outcomes = extract_files(str(source), paths, ExtractionSettings(representation="trio"),
                             workers, progress)
    manifest: dict = {"source": str(source), "min_bars": min_bars,
                      "files": {"train": 0, "eval": 0}, "left_out": {}}
    reasons: Counter = Counter()
    for path in paths:
        outcome = outcomes[path]
        longest = max((len(run) for run in outcome.melodies), default=0)
        if outcome.status != USED or longest < min_bars * STEPS_PER_BAR:
            reason = (SHORT.format(bars=min_bars) if outcome.status == USED
                      else outcome.reason if outcome.status == NO_MELODY
                      else f"{outcome.status}: {outcome.reason}")
            reasons[reason] += 1
            continue
        split = split_of(path)
        with atomic_write(out / split / out_name(path)) as handle, \
                open(source / path, "rb") as original:
            shutil.copyfileobj(original, handle)
        manifest["files"][split] += 1
    manifest["left_out"] = dict(reasons.most_common())
    with atomic_write(out / "manifest.json", "w") as handle:
        json.dump(manifest, handle, indent=1)
    return manifest
