"""Fault injection for writes: a folder on which every write fails, and a disk that fills up.

The tests run as root, and root ignores file permissions (``chmod 555`` stops nothing), and
no read-only or tiny filesystem can be mounted here. So these helpers make the write calls
themselves fail, as a read-only or full filesystem makes them fail:

* :func:`writes_fail_under` patches the calls that create or change files (``open`` and
  ``os.open`` for writing, ``os.mkdir``, ``os.replace``, ``os.rename``, ``os.unlink``) to
  raise ``OSError(EROFS)`` for paths under a folder; reading still works.
* :func:`disk_full_after` lets :func:`symusic.atomic.atomic_write`'s handle take ``n`` bytes,
  then raises ``OSError(ENOSPC)`` from ``write``, as a full disk does midway through a file.

``WRITES_FAIL_SCRIPT`` does the first in a subprocess: ``python -c WRITES_FAIL_SCRIPT FOLDER
MODULE ARGS...`` runs ``python -m MODULE ARGS...`` with writes under ``FOLDER`` failing.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import symusic.atomic

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _under(path, folder: Path) -> bool:
    try:
        resolved = Path(os.path.abspath(os.fspath(path)))
    except TypeError:  # a file descriptor
        return False
    return resolved == folder or folder in resolved.parents


@contextmanager
def writes_fail_under(folder: str | os.PathLike, code: int = errno.EROFS) -> Iterator[None]:
    """While open, every call that would create or change a file under ``folder`` raises
    ``OSError(code)`` (a read-only filesystem by default)."""
    folder = Path(os.path.abspath(folder))
    real = {"open": builtins.open, "os.open": os.open, "mkdir": os.mkdir,
            "replace": os.replace, "rename": os.rename, "unlink": os.unlink}

    def refuse(path):
        raise OSError(code, os.strerror(code), os.fspath(path))

    def guarded_open(file, mode="r", *args, **kwargs):
        if _under(file, folder) and any(c in mode for c in "wax+"):
            refuse(file)
        return real["open"](file, mode, *args, **kwargs)

    def guarded_os_open(path, flags, *args, **kwargs):
        if _under(path, folder) and flags & WRITE_FLAGS:
            refuse(path)
        return real["os.open"](path, flags, *args, **kwargs)

    def guarded(name):
        def call(path, *args, **kwargs):
            if _under(path, folder) or (args and _under(args[0], folder)):
                refuse(path)
            return real[name](path, *args, **kwargs)
        return call

    builtins.open = io.open = guarded_open
    os.open = guarded_os_open
    os.mkdir, os.replace = guarded("mkdir"), guarded("replace")
    os.rename, os.unlink = guarded("rename"), guarded("unlink")
    try:
        yield
    finally:
        builtins.open = io.open = real["open"]
        os.open, os.mkdir, os.replace = real["os.open"], real["mkdir"], real["replace"]
        os.rename, os.unlink = real["rename"], real["unlink"]


class _FillingHandle:
    """A file handle that takes ``room`` bytes, then fails as a full disk does."""

    def __init__(self, handle, room: int) -> None:
        self._handle, self._room = handle, room

    def write(self, data) -> int:
        data = memoryview(data).cast("B") if not isinstance(data, str) else data
        if len(data) > self._room:
            self._handle.write(data[:self._room])
            self._room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= len(data)
        return self._handle.write(data)

    def __getattr__(self, name):
        return getattr(self._handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return self._handle.__exit__(*exc_info)


@contextmanager
def disk_full_after(room: int) -> Iterator[list[int]]:
    """While open, each :func:`symusic.atomic.atomic_write` handle fails with ``ENOSPC`` once
    ``room`` bytes are in it. Yields a list that gets one entry per handle that failed."""
    real_fdopen = os.fdopen
    failed: list[int] = []

    def fdopen(fd, *args, **kwargs):
        handle = real_fdopen(fd, *args, **kwargs)
        filling = _FillingHandle(handle, room)
        real_write = filling.write

        def write(data):
            try:
                return real_write(data)
            except OSError:
                failed.append(fd)
                raise
        filling.write = write
        return filling

    symusic.atomic.os.fdopen = fdopen
    try:
        yield failed
    finally:
        symusic.atomic.os.fdopen = real_fdopen


TESTS = str(Path(__file__).resolve().parent)
WRITES_FAIL_SCRIPT = f"""
import runpy, sys
sys.path.insert(0, {TESTS!r})
from write_faults import writes_fail_under
folder, module = sys.argv[1], sys.argv[2]
sys.argv = [module, *sys.argv[3:]]
with writes_fail_under(folder):
    runpy.run_module(module, run_name="__main__", alter_sys=True)
"""
