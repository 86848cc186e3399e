"""The Groove MIDI Dataset, shipped: drum performances unpacked by their official split.

The Groove MIDI Dataset (Jon Gillick, Adam Roberts, Jesse Engel, Mark Sandler and Michael
Kubovy, "Learning to Groove with Inverse Sequence Transformations", ICML 2019; Magenta,
Google) is 1,150 MIDI files, 13.6 hours of ten drummers on an electronic kit, under the
Creative Commons Attribution 4.0 licence: it is shipped, unchanged, in ``groove_corpus.tar.xz``
beside this module, with its licence and this attribution. The archive holds, in this order:

* ``LICENSE`` (the dataset's own), ``ATTRIBUTION.md`` (who made it, where it comes from);
* ``info.csv``: the dataset's file list (drummer, style, bpm, beat or fill, meter, split);
* ``index.json``: each MIDI file's split and the SHA-256 of its bytes;
* the MIDI files under their own names (``drummer1/session1/1_funk_80_beat_4-4.mid``), sorted.

:func:`unpack_groove` writes each file to ``OUT/<split>/<its name>`` (``train``,
``validation``, ``test``: the dataset's official split) and the licence, attribution and
``info.csv`` to ``OUT``; every file's bytes are checked against the index, and a file already
there with the right bytes is left alone. Reading is bounded as the folk archive's is
(:mod:`symusic.data.corpus_archive`). Maintainers re-make the archive from a copy of the
dataset with :func:`pack_groove` (reproducible bytes).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from collections import Counter
from pathlib import Path

from symusic import progress
from symusic.data.corpus_archive import (
    ArchiveError,
    ArchiveRules,
    _write_file,
    checked_members,
    remove_stale_temporaries_under,
    write_members,
)

ARCHIVE = Path(__file__).with_name("groove_corpus.tar.xz")
FORMAT = 1
SPLITS = ("train", "validation", "test")
META_MEMBERS = ("LICENSE", "ATTRIBUTION.md", "info.csv", "index.json")
MIDI_NAME = re.compile(r"drummer[0-9]+/[A-Za-z0-9_]+/[A-Za-z0-9_.+-]+\.mid")
# at most 2,000 MIDI files of 1 MiB; the real tar is about a sixth of 64 MiB
GROOVE_RULES = ArchiveRules(META_MEMBERS, MIDI_NAME, max_members=2_000, max_meta_bytes=4 << 20)
ATTRIBUTION = """\
# The Groove MIDI Dataset

1,150 MIDI files (13.6 hours) of drum performances by ten professional drummers on a Roland
TD-11 electronic kit, recorded by Magenta (Google). Shipped unchanged with symusic (the
"midi only" release); `info.csv` is the dataset's own file list with its official
train/validation/test split.

- Authors: Jon Gillick, Adam Roberts, Jesse Engel, Mark Sandler and Michael Kubovy,
  "Learning to Groove with Inverse Sequence Transformations", International Conference on
  Machine Learning (ICML), 2019.
- Source: https://magenta.tensorflow.org/datasets/groove
- Licence: Creative Commons Attribution 4.0 International (CC BY 4.0), see `LICENSE`;
  https://creativecommons.org/licenses/by/4.0/
"""


class GrooveError(ValueError):
    """A copy of the dataset that cannot be packed (a missing or unlisted file)."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_split(info_csv: bytes) -> dict[str, str]:
    """``{midi file name: split}`` from the dataset's ``info.csv``; ``GrooveError`` when a
    row's name or split is not one the archive may hold."""
    rows = csv.DictReader(io.StringIO(info_csv.decode("utf-8")))
    split = {}
    for row in rows:
        name, part = row.get("midi_filename", ""), row.get("split", "")
        if not MIDI_NAME.fullmatch(name or "") or part not in SPLITS:
            raise GrooveError(f"info.csv: row {name!r} (split {part!r}) is not a dataset file")
        split[name] = part
    return split


def pack_groove(source: str | os.PathLike, archive: str | os.PathLike = ARCHIVE) -> Path:
    """Write ``archive`` from a copy of the dataset at ``source`` (its ``LICENSE``,
    ``info.csv`` and every MIDI file ``info.csv`` lists). Returns the archive's path."""
    source = Path(source)
    for name in ("LICENSE", "info.csv"):
        if not (source / name).is_file():
            raise GrooveError(f"{source}: no {name}: not a copy of the Groove MIDI Dataset")
    info = (source / "info.csv").read_bytes()
    split = read_split(info)
    files = {}
    for name in sorted(split):
        if not (source / name).is_file():
            raise GrooveError(f"{source}: {name} is missing")
        files[name] = (source / name).read_bytes()
    index = {"format": FORMAT,
             "files": {name: [split[name], _sha256(data)] for name, data in files.items()}}
    members = [("LICENSE", (source / "LICENSE").read_bytes()),
               ("ATTRIBUTION.md", ATTRIBUTION.encode()), ("info.csv", info),
               ("index.json", json.dumps(index, separators=(",", ":")).encode()),
               *files.items()]
    write_members(archive, members)
    return Path(archive)


def _parse_index(data: bytes) -> dict[str, tuple[str, str]]:
    try:
        index = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ArchiveError(f"index.json: {type(err).__name__}: {err}") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT \
            or not isinstance(index.get("files"), dict):
        raise ArchiveError(f"index.json is not format {FORMAT}")
    files = {}
    for name, entry in index["files"].items():
        if not (MIDI_NAME.fullmatch(str(name)) and isinstance(entry, list) and len(entry) == 2
                and entry[0] in SPLITS):
            raise ArchiveError(f"index.json: bad entry {str(name)[:80]!r}")
        files[str(name)] = (str(entry[0]), str(entry[1]))
    return files


def unpack_groove(out_dir: str | os.PathLike, archive: str | os.PathLike = ARCHIVE,
                  limit: int | None = None, show_progress: bool = True) -> dict[str, int]:
    """Unpack the dataset into ``out_dir/{train,validation,test}/`` by its official split,
    with ``LICENSE``, ``ATTRIBUTION.md`` and ``info.csv`` in ``out_dir``; ``limit`` keeps the
    first files of each split (in name order). Returns the file count of each split.

    Raises :class:`ArchiveError` when the archive is damaged, breaks a rule above or a
    file's bytes differ from its index entry."""
    out = Path(out_dir)
    remove_stale_temporaries_under(out)  # what a killed unpack left half-written
    index: dict[str, tuple[str, str]] = {}
    counts: Counter[str] = Counter()
    bar = progress.bar(total=1150, desc="unpacking groove", unit="file", enabled=show_progress)
    try:
        for name, data in checked_members(archive, GROOVE_RULES):
            if name in META_MEMBERS:
                if name == "index.json":
                    index = _parse_index(data)
                else:
                    _write_if_changed(out / name, data)
                continue
            if name not in index:
                raise ArchiveError(f"{name!r} is not in index.json")
            part, digest = index[name]
            if _sha256(data) != digest:
                raise ArchiveError(f"{name!r} does not match its SHA-256 in index.json")
            if limit is not None and counts[part] >= limit:
                continue
            _write_if_changed(out / part / name, data)
            counts[part] += 1
            bar.update()
    finally:
        bar.close()
    if not index:
        raise ArchiveError("it holds no index.json")
    return {part: counts[part] for part in SPLITS}


def _write_if_changed(target: Path, data: bytes) -> None:
    """Write ``data`` unless ``target`` already holds exactly these bytes."""
    try:
        if target.stat().st_size == len(data) and target.read_bytes() == data:
            return
    except OSError:
        pass
    _write_file(target, data)


def groove_file(name: str, archive: str | os.PathLike = ARCHIVE) -> bytes:
    """The bytes of one shipped MIDI file (``drummer1/session1/...mid``); ``KeyError`` when
    the archive does not hold it."""
    for member, data in checked_members(archive, GROOVE_RULES):
        if member == name:
            return data
    raise KeyError(name)
