"""Atomic file writes: a crash or a kill never leaves half a file where a whole one was.

The temporary file beside the target is named ``.<name>.<pid>-<random>.tmp``: a process killed
while writing (SIGKILL, a power cut) leaves it behind, and :func:`remove_stale_temporaries`
later removes those whose writer is no longer running.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

_TEMPORARY = re.compile(r"^\..+\.(?:(?P<pid>\d+)-)?[a-z0-9_]{8}\.tmp$")


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success, flush, fsync and rename it to ``path``.

    The file gets the permissions an ordinary ``open`` would give (0666 less the umask). On an
    exception the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}-",
                                     suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp makes 0600
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def folder_problem(folder: Path, option: str = "--out") -> str | None:
    """Why nothing can be written in ``folder`` (one line), or None. Creates the folder."""
    if folder.exists() and not folder.is_dir():
        return f"{option} {folder} is a file, not a folder"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        return f"{option} {folder} is not a writable folder: {err.strerror or err}"
    return None


def current_umask() -> int:
    """This process's umask (read from /proc where it can be, so it is never changed)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files that killed writers left in ``folder``; return them.

    A temporary file whose writer (the pid in its name) still runs is kept: it is being
    written. Names without a pid come from older versions and are always stale.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:  # no such folder, or unreadable: nothing to clean
        return removed
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if not match or not entry.is_file(follow_symlinks=False):
            continue
        pid = match.group("pid")
        if pid is not None and _running(int(pid)):
            continue
        try:
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OverflowError:  # no process has such a pid
        return False
    except PermissionError:  # another user's process
        return True
    return True
