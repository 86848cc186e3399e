"""Where a TensorFlow checkpoint lies: a folder, one of its ``.index`` files, or a ``.tar``
(Magenta's downloads, e.g. ``cat-mel_2bar_big.tar``; gzip, bzip2 and xz tars too).

A tar is read in place, never unpacked: its members are listed (at most
:data:`MAX_TAR_MEMBERS`; a link, a device, an absolute path or one with ``..`` is refused, as
is a name given twice) and the index and tensors are read as byte ranges of the members. A
folder's files are plain names in it; a symbolic link is refused. Several checkpoints in one
place (a training folder keeps the last five) are told apart by TensorFlow's ``checkpoint``
state file (``model_checkpoint_path: "model.ckpt-N"``), else refused, naming them.
"""

from __future__ import annotations

import re
import tarfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from symusic.magenta.tf_bundle import TensorBundle, TFCheckpointError

MAX_TAR_MEMBERS = 256
MAX_FOLDER_ENTRIES = 10_000
MAX_STATE_BYTES = 1 << 16
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
STATE_FILE = "checkpoint"


class FolderFiles:
    """A folder's plain files by name."""

    def __init__(self, folder: Path):
        self.folder, self.where = folder, str(folder)
        try:
            entries = [p for _, p in zip(range(MAX_FOLDER_ENTRIES + 1), folder.iterdir(),
                                         strict=False)]
        except OSError as e:
            raise TFCheckpointError(f"{folder}: cannot list ({e.strerror})") from None
        if len(entries) > MAX_FOLDER_ENTRIES:
            raise TFCheckpointError(f"{folder}: more than {MAX_FOLDER_ENTRIES} entries")
        self.names = sorted(p.name for p in entries if p.is_file() and not p.is_symlink())

    def size(self, name: str) -> int | None:
        """The size of the file ``name``; None when the folder has no such plain file."""
        path = self.folder / name
        if path.is_symlink():
            raise TFCheckpointError(f"{path}: a symbolic link (refused: a checkpoint's files "
                                    "are plain files in its folder)")
        return path.stat().st_size if "/" not in name and path.is_file() else None

    def read(self, name: str, offset: int, length: int) -> bytearray:
        """Bytes ``offset`` to ``offset + length`` of ``name``."""
        buffer = bytearray(length)
        with open(self.folder / name, "rb") as handle:
            handle.seek(offset)
            if handle.readinto(buffer) != length:
                raise TFCheckpointError(f"{self.folder / name}: shorter than it was (changed "
                                        "while read?)")
        return buffer

    def close(self) -> None:
        """Nothing to close."""


class TarFiles:
    """A tar file's regular members by name, read in place."""

    def __init__(self, path: Path):
        self.where = str(path)
        try:
            self.tar = tarfile.open(path, "r:*")
        except (tarfile.TarError, OSError, EOFError) as e:
            raise TFCheckpointError(f"{path}: not a readable tar file ({str(e)[:100]})") from None
        self.members: dict[str, tarfile.TarInfo] = {}
        try:
            for count, member in enumerate(self.tar, 1):
                if count > MAX_TAR_MEMBERS:
                    raise TFCheckpointError(f"{path}: more than {MAX_TAR_MEMBERS} members")
                self._add(member)
        except (tarfile.TarError, OSError, EOFError) as e:
            self.tar.close()
            raise TFCheckpointError(f"{path}: a damaged tar file ({str(e)[:100]})") from None
        except TFCheckpointError:
            self.tar.close()
            raise
        self.names = sorted(self.members)

    def _add(self, member: tarfile.TarInfo) -> None:
        name = PurePosixPath(member.name)
        if name.is_absolute() or ".." in name.parts or "\\" in member.name:
            raise TFCheckpointError(f"{self.where}: member {member.name[:100]!r} has a path "
                                    "leading outside the archive (refused)")
        if member.issym() or member.islnk():
            raise TFCheckpointError(f"{self.where}: member {member.name[:100]!r} is a link "
                                    "(refused)")
        if member.isdir():
            return
        if not member.isfile():
            raise TFCheckpointError(f"{self.where}: member {member.name[:100]!r} is not a "
                                    "regular file (refused)")
        key = str(name)
        if key in self.members:
            raise TFCheckpointError(f"{self.where}: member {key[:100]!r} appears twice")
        self.members[key] = member

    def size(self, name: str) -> int | None:
        """The size of member ``name``; None when there is none."""
        member = self.members.get(name)
        return None if member is None else member.size

    def read(self, name: str, offset: int, length: int) -> bytearray:
        """Bytes ``offset`` to ``offset + length`` of member ``name``."""
        try:
            handle = self.tar.extractfile(self.members[name])
            handle.seek(offset)
            buffer = bytearray(length)
            if handle.readinto(buffer) != length:
                raise TFCheckpointError(f"{self.where}: member {name!r} is truncated")
        except (tarfile.TarError, OSError, EOFError) as e:
            raise TFCheckpointError(f"{self.where}: member {name!r} cannot be read "
                                    f"({str(e)[:100]})") from None
        return buffer

    def close(self) -> None:
        """Close the tar file."""
        self.tar.close()


def is_tf_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` looks like a TensorFlow checkpoint: an ``.index`` file, a tar file, or
    a folder holding an ``.index`` file (and no magenta.js manifest)."""
    path = Path(path)
    if path.is_file():
        if path.name.endswith(".index"):
            return True
        # torch checkpoints are zip files, sometimes named .pth.tar
        return (path.name.endswith(TAR_SUFFIXES) and not zipfile.is_zipfile(path)
                and _is_tar(path))
    if not path.is_dir():
        return False
    try:
        entries = zip(range(MAX_FOLDER_ENTRIES), path.iterdir(), strict=False)
        return any(p.name.endswith(".index") for _, p in entries)
    except OSError:
        return False


def _is_tar(path: Path) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except (OSError, tarfile.TarError, EOFError):
        return False


def _chosen_prefix(files: FolderFiles | TarFiles, wanted: str | None) -> str:
    """The checkpoint prefix among ``files`` (``wanted`` if given: the ``.index`` named)."""
    indexes = [n[:-len(".index")] for n in files.names if n.endswith(".index")]
    if wanted is not None:
        return wanted
    if not indexes:
        raise TFCheckpointError(f"{files.where}: no TensorFlow checkpoint (no .index file)")
    if len(indexes) == 1:
        return indexes[0]
    folders = {str(PurePosixPath(n).parent) for n in indexes}
    for folder in sorted(folders):
        state = STATE_FILE if folder == "." else f"{folder}/{STATE_FILE}"
        size = files.size(state)
        if size is None or size > MAX_STATE_BYTES:
            continue
        text = files.read(state, 0, size).decode("utf-8", "replace")
        found = re.search(r'^model_checkpoint_path:\s*"([^"\n]+)"', text, re.MULTILINE)
        if found:
            name = PurePosixPath(found.group(1)).name
            prefix = name if folder == "." else f"{folder}/{name}"
            if prefix in indexes:
                return prefix
    raise TFCheckpointError(f"{files.where}: holds several checkpoints "
                            f"({', '.join(indexes[:4])[:160]}) and no checkpoint file naming "
                            "one; give one's .index file")


@contextmanager
def open_tf_checkpoint(path: str | Path) -> Iterator[TensorBundle]:
    """The :class:`TensorBundle` at ``path`` (a folder, an ``.index`` file or a tar file),
    its files open until the block ends; :class:`TFCheckpointError` in one line."""
    path = Path(path)
    wanted = None
    if path.is_dir():
        files: FolderFiles | TarFiles = FolderFiles(path)
    elif path.name.endswith(".index"):
        files, wanted = FolderFiles(path.parent), path.name[:-len(".index")]
    elif path.is_file():
        files = TarFiles(path)
    else:
        raise TFCheckpointError(f"{path}: no such file or folder")
    try:
        yield TensorBundle(files, _chosen_prefix(files, wanted))
    finally:
        files.close()
