"""The atomic-write helper: files get the umask's permissions; killed writers' leftovers go."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from symusic.atomic import atomic_write, remove_stale_temporaries


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_atomic_write_honours_the_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        with atomic_write(tmp_path / "out.bin") as handle:
            handle.write(b"data")
        with open(tmp_path / "plain.bin", "wb") as handle:  # what an ordinary open gives
            handle.write(b"data")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "out.bin").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "plain.bin").stat().st_mode) == mode


def test_a_failed_write_leaves_neither_the_target_nor_a_temporary(tmp_path):
    with pytest.raises(RuntimeError), atomic_write(tmp_path / "out.bin") as handle:
        handle.write(b"half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_stale_temporaries_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    dead = tmp_path / f".last.pt.{dead_pid()}-ab12cd34.tmp"
    legacy = tmp_path / ".best.pt.x9y8z7w6.tmp"  # before the pid was in the name
    live = tmp_path / f".last.pt.{os.getpid()}-ef56gh78.tmp"
    kept = [tmp_path / "last.pt", tmp_path / "notes.tmp", tmp_path / ".hidden"]
    for path in (dead, legacy, live, *kept):
        path.write_bytes(b"")
    removed = remove_stale_temporaries(tmp_path)
    assert sorted(removed) == sorted([dead, legacy])
    assert sorted(tmp_path.iterdir()) == sorted([live, *kept])
    assert remove_stale_temporaries(tmp_path / "missing") == []


def test_the_temporary_name_carries_the_writers_pid(tmp_path):
    with atomic_write(tmp_path / "last.pt") as handle:
        names = [p.name for p in tmp_path.iterdir()]
        handle.write(b"x")
    assert len(names) == 1 and names[0].startswith(f".last.pt.{os.getpid()}-")
    assert names[0].endswith(".tmp")
