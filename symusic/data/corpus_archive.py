"""The built-in folk corpus, shipped built: one xz-compressed tar of its MIDI files.

Building the corpus from music21's ABC files takes minutes; unpacking this archive takes
seconds. ``folk_corpus.tar.xz`` (beside this module) holds, in this order:

* ``LICENCE.txt``: the licence note (the Essen songs are for non-commercial use);
* ``manifest.json``: the manifest of the build it was packed from;
* ``index.json``: each tune's file and the hash of its ABC music (``Tune.music_key``, 16 hex
  digits), and the tunes that failed to build with the reason, so that an unpack writes a file
  only where the installed music21 holds the very same tune;
* ``train/<collection>/<abc stem>-<position>.mid`` and ``eval/...``: the MIDI files, sorted.

Reading is bounded and safe (:func:`checked_members`, which the groove archive shares under
rules of its own, :class:`ArchiveRules`): the archive is read as a stream of at most
``max_tar_bytes``; only regular files with the names above are accepted (no links, devices,
absolute paths or ``..``), each MIDI file at most ``max_midi_bytes``, at most ``max_members``
of them. Anything else stops the unpack with an :class:`ArchiveError` naming the member.

Re-made by maintainers with ``python -m symusic.data.corpus --out data/folk --rebuild --pack
symusic/data/folk_corpus.tar.xz``; the bytes are reproducible (sorted members, fixed owner,
mode and time).
"""

from __future__ import annotations

import io
import itertools
import json
import lzma
import os
import re
import secrets
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from symusic import progress
from symusic.atomic import atomic_write, remove_stale_temporaries

ARCHIVE = Path(__file__).with_name("folk_corpus.tar.xz")
FORMAT = 1
KEY_DIGITS = 16
META_MEMBERS = ("LICENCE.txt", "manifest.json", "index.json")
MIDI_NAME = re.compile(r"(train|eval)/[a-z0-9]+/[A-Za-z0-9_+-][A-Za-z0-9_.+-]*\.mid")
MTIME = 1_700_000_000  # a fixed time, so that packing twice gives the same bytes


class ArchiveError(ValueError):
    """The corpus archive is damaged or holds something it must not."""


@dataclass
class Unpacked:
    """What an unpack did: the files it wrote and the tunes it knows cannot be built."""

    written: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)
    source: str = ""  # the music21 corpus the archive was built from

    def answered(self) -> set[str]:
        """The wanted tunes the archive took care of (written or known to fail)."""
        return self.written | set(self.failed)


def short_key(music_key: str) -> str:
    """The part of a tune's music hash that the index stores."""
    return music_key[:KEY_DIGITS]


class _BoundedReader(io.RawIOBase):
    """A read-only stream that refuses to deliver more than ``limit`` bytes."""

    def __init__(self, stream, limit: int) -> None:
        self._stream, self._left, self._limit = stream, limit, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read(min(len(buffer), self._left + 1))
        if len(data) > self._left:
            raise ArchiveError(f"it unpacks to more than {self._limit:,} bytes")
        self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)


def _read_member(tar: tarfile.TarFile, member: tarfile.TarInfo, limit: int) -> bytes:
    if not member.isreg():
        raise ArchiveError(f"{member.name!r} is not a regular file")
    if member.size > limit:
        raise ArchiveError(f"{member.name!r} is {member.size:,} bytes (at most {limit:,})")
    handle = tar.extractfile(member)
    data = handle.read() if handle is not None else b""
    if len(data) != member.size:
        raise ArchiveError(f"{member.name!r} is truncated")
    return data


@dataclass(frozen=True)
class ArchiveRules:
    """What an archive may hold: its metadata members first, in this order, then MIDI files
    whose names match ``midi_name``, within these bounds (an untrusted archive cannot write
    outside its folder or exhaust memory)."""
    meta_members: tuple[str, ...]
    midi_name: re.Pattern
    max_members: int
    max_meta_bytes: int
    max_midi_bytes: int = 1 << 20
    max_tar_bytes: int = 64 << 20


def checked_members(archive: str | os.PathLike, rules: ArchiveRules):
    """``(name, bytes)`` of each member in order, checked against ``rules`` as it is read;
    :class:`ArchiveError` on the first that breaks one, or on a damaged archive."""
    try:
        with lzma.open(archive, "rb") as xz, tarfile.open(
                fileobj=io.BufferedReader(_BoundedReader(xz, rules.max_tar_bytes)),
                mode="r|") as tar:
            for count, member in enumerate(tar):
                if count >= rules.max_members:
                    raise ArchiveError(f"it holds more than {rules.max_members:,} members")
                if count < len(rules.meta_members):
                    if member.name != rules.meta_members[count]:
                        raise ArchiveError(f"member {count + 1} is {member.name!r}, "
                                           f"not {rules.meta_members[count]!r}")
                    yield member.name, _read_member(tar, member, rules.max_meta_bytes)
                elif rules.midi_name.fullmatch(member.name):
                    yield member.name, _read_member(tar, member, rules.max_midi_bytes)
                else:
                    raise ArchiveError(f"unexpected member {member.name!r}")
    except (tarfile.TarError, lzma.LZMAError, EOFError) as err:
        raise ArchiveError(f"{type(err).__name__}: {err}") from None


# the folk archive: at most 100,000 MIDI files of 1 MiB; the real tar is about a fifth of 64 MiB
FOLK_RULES = ArchiveRules(META_MEMBERS, MIDI_NAME, max_members=100_000,
                          max_meta_bytes=16 << 20)


def _write_file(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temporary name (a kill leaves no half file).

    No fsync per file: thousands of small files would take minutes on some disks, and a
    file lost to a power cut is simply unpacked again by the next run."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # named as atomic_write names its temporaries, so remove_stale_temporaries knows them
    temporary = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, "wb") as handle:  # honours the umask
            handle.write(data)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def remove_stale_temporaries_under(folder: str | os.PathLike) -> int:
    """Remove what killed writers left under ``folder`` (half-written files under temporary
    names, see :func:`symusic.atomic.remove_stale_temporaries`); returns how many."""
    return sum(len(remove_stale_temporaries(dirpath)) for dirpath, _, _ in os.walk(folder))


def unpack(archive: str | os.PathLike, out_dir: str | os.PathLike, wanted: Mapping[str, str],
           show_progress: bool = True) -> Unpacked:
    """Write the ``wanted`` tunes (relative path -> ``Tune.music_key``) that the archive holds
    for the same music under ``out_dir``.

    Returns what was written and which wanted tunes the archive lists as failing to build.
    Raises :class:`ArchiveError` when the archive is damaged or breaks a rule above.
    """
    out = Path(out_dir)
    result = Unpacked()
    index: dict | None = None
    pending: set[str] = set()  # wanted files the archive holds, not yet written
    bar = progress.bar(total=len(wanted), desc="unpacking", unit="tune", enabled=show_progress)
    try:
        for name, data in checked_members(archive, FOLK_RULES):
            if name == "manifest.json":
                result.source = str(json.loads(data).get("source", ""))
            elif name == "index.json":
                index = _parse_index(data)
                for failed, (key, reason) in index["failed"].items():
                    if short_key(wanted.get(failed, "")) == key:
                        result.failed[failed] = reason
                        bar.update()
                pending = {wanted_name for wanted_name, key in wanted.items()
                           if index["files"].get(wanted_name) == short_key(key)}
                if not pending:
                    break
            elif name in pending:  # wanted, and the installed music21 has the same music
                _write_file(out / name, data)
                result.written.add(name)
                bar.update()
                pending.discard(name)
                if not pending:
                    break  # the rest of the stream holds nothing wanted
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ArchiveError(f"{type(err).__name__}: {err}") from None
    finally:
        bar.close()
    if index is None:
        raise ArchiveError("it holds no index.json")
    return result


def read_metadata(archive: str | os.PathLike) -> tuple[str, dict, dict]:
    """The archive's licence note, manifest and index (``files``: path -> short key,
    ``failed``: path -> (short key, reason)), read from its first members only."""
    found = dict(itertools.islice(checked_members(archive, FOLK_RULES), len(META_MEMBERS)))
    if len(found) < len(META_MEMBERS):
        raise ArchiveError("it does not start with " + ", ".join(META_MEMBERS))
    try:
        return (found["LICENCE.txt"].decode(), json.loads(found["manifest.json"]),
                _parse_index(found["index.json"]))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ArchiveError(f"{type(err).__name__}: {err}") from None


def _parse_index(data: bytes) -> dict:
    index = json.loads(data)
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise ArchiveError(f"index.json is not format {FORMAT}")
    files, failed = index.get("files"), index.get("failed")
    if not isinstance(files, dict) or not isinstance(failed, dict):
        raise ArchiveError("index.json has no 'files' and 'failed' tables")
    return {"files": {str(k): str(v) for k, v in files.items()},
            "failed": {str(k): (str(v[0]), str(v[1])) for k, v in failed.items()}}


def pack(corpus_dir: str | os.PathLike, archive: str | os.PathLike, files: Mapping[str, str],
         failed: Mapping[str, tuple[str, str]], manifest: dict, licence: str) -> Path:
    """Write ``archive`` from the built corpus under ``corpus_dir``.

    ``files``: relative path -> music key of every file to ship; ``failed``: relative path ->
    (music key, reason) of the tunes that could not be built. Returns the archive's path.
    """
    corpus = Path(corpus_dir)
    index = {"format": FORMAT,
             "files": {name: short_key(key) for name, key in sorted(files.items())},
             "failed": {name: [short_key(key), reason]
                        for name, (key, reason) in sorted(failed.items())}}
    members = [("LICENCE.txt", licence.encode() + b"\n"),
               ("manifest.json", (json.dumps(manifest, indent=2) + "\n").encode()),
               ("index.json", json.dumps(index, separators=(",", ":")).encode())]
    for name in sorted(files):
        if not MIDI_NAME.fullmatch(name):
            raise ValueError(f"cannot pack {name!r}: not a corpus file name")
    write_members(archive, [*members, *((n, (corpus / n).read_bytes()) for n in sorted(files))])
    return Path(archive)


def write_members(archive: str | os.PathLike, members) -> None:
    """Write ``(name, bytes)`` members in order as a reproducible ``.tar.xz`` (fixed owner,
    mode and time), atomically: a kill leaves the previous archive whole."""
    with atomic_write(archive) as raw, \
            lzma.open(raw, "wb", preset=9 | lzma.PRESET_EXTREME) as xz, \
            tarfile.open(fileobj=xz, mode="w|", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), MTIME, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
