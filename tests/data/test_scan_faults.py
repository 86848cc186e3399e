"""Faults around the folder scan: transient read errors, unreadable folders, killed scans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from symusic.data import midi_io
from symusic.data.cache import cache_folder
from symusic.data.dataset import MelodyCollection, NoMelodiesError

TUNE = [(60, 0, 4), (62, 4, 8), (64, 8, 12), (65, 12, 16), (67, 16, 24), (65, 24, 32)]


def scan(folder: Path, tmp_path: Path, **options) -> MelodyCollection:
    return MelodyCollection.from_folder(folder, num_processes=1, progress=False,
                                        cache_dir=tmp_path / "cache", **options)


def test_a_file_that_could_not_be_opened_is_read_again(tmp_path, write_melody_midi,
                                                       monkeypatch):
    folder = tmp_path / "songs"
    write_melody_midi(folder / "a.mid", TUNE)
    write_melody_midi(folder / "b.mid", TUNE)

    def denied(path, *args, **kwargs):  # chmod 000 does not stop root, who runs CI
        if str(path).endswith("b.mid"):
            raise PermissionError(13, "Permission denied", str(path))
        return open(path, *args, **kwargs)

    monkeypatch.setattr(midi_io, "open", denied, raising=False)
    first = scan(folder, tmp_path)
    assert (first.report.used, first.report.reasons) == (1, {"cannot open": 1})
    monkeypatch.delattr(midi_io, "open")  # permissions fixed; the file's mtime is the same
    second = scan(folder, tmp_path)
    assert (second.report.used, second.report.extracted) == (2, 1)  # only b.mid read again
    assert scan(folder, tmp_path).report.extracted == 0  # and cached once it is read


def test_a_folder_that_cannot_be_read_says_so(tmp_path, write_melody_midi, monkeypatch):
    folder = tmp_path / "locked"
    write_melody_midi(folder / "a.mid", TUNE)
    write_melody_midi(folder / "inner" / "b.mid", TUNE)
    real_scandir = os.scandir

    def refuse(path):
        if Path(path) in (folder, folder / "inner"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", refuse)  # chmod does not stop root, who runs CI
    with pytest.raises(NoMelodiesError, match=r"locked: cannot read the folder \(Permission"):
        scan(folder, tmp_path)
    monkeypatch.setattr(os, "scandir", lambda p: refuse(p) if Path(p) != folder
                        else real_scandir(p))
    collection = scan(folder, tmp_path)  # an unreadable subfolder is skipped, with a warning
    assert collection.paths == ["a.mid"]
    (folder / "a.mid").unlink()
    with pytest.raises(NoMelodiesError, match="cannot read 1 folder in it"):
        scan(folder, tmp_path)


def test_stale_cache_temporaries_are_removed_at_the_next_scan(tmp_path, write_melody_midi):
    folder = tmp_path / "songs"
    write_melody_midi(folder / "a.mid", TUNE)
    where = cache_folder(folder, tmp_path / "cache")
    where.mkdir(parents=True)
    stale = where / ".melodies-0123456789ab.npz.k3j2h1.tmp"  # what kill -9 mid-write leaves
    fresh = where / ".melodies-0123456789ab.npz.a1b2c3.tmp"  # another scan writing right now
    other = where / "notes.tmp"
    for path in (stale, fresh, other):
        path.write_bytes(b"\0" * 10)
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    os.utime(other, (time.time() - 3600, time.time() - 3600))
    scan(folder, tmp_path)
    assert not stale.exists() and fresh.exists() and other.exists()


WORKER_SCRIPT = textwrap.dedent("""
    import os, sys, time
    from symusic.data import scan

    def slow(path, settings):
        with open(os.path.join(sys.argv[2], f"{os.getpid()}.pid"), "w"):
            pass
        time.sleep(60)

    scan.extract_file = slow  # the forked workers inherit it
    files = [f"f{i}.mid" for i in range(64)]
    scan.extract_files(sys.argv[1], files, scan.ExtractionSettings(), num_processes=2,
                       progress=False)
""")


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status  # a zombie is dead, whether or not it was reaped


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_scan_workers_die_with_their_parent(tmp_path):
    pids = tmp_path / "pids"
    pids.mkdir()
    parent = subprocess.Popen([sys.executable, "-c", WORKER_SCRIPT, str(tmp_path), str(pids)])
    try:
        deadline = time.time() + 60
        while len(list(pids.iterdir())) < 2 and time.time() < deadline:
            time.sleep(0.1)
        workers = [int(p.stem) for p in pids.iterdir()]
        assert len(workers) == 2 and all(alive(pid) for pid in workers)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.time() + 10
        while any(alive(pid) for pid in workers) and time.time() < deadline:
            time.sleep(0.1)
        assert not any(alive(pid) for pid in workers), "scan workers outlived their parent"
    finally:
        parent.kill()
        for p in pids.iterdir():
            try:
                os.kill(int(p.stem), signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_without_home_the_cache_fallback_is_the_users_home(tmp_path, monkeypatch):
    """``HOME`` unset: ``~/.cache`` is the password database's home, no traceback."""
    import pwd

    monkeypatch.delenv("HOME", raising=False)
    unwritable = Path("/proc/sys")  # a folder no one can make a .symusic-cache in
    folder = cache_folder(unwritable)
    assert folder.parent == Path(pwd.getpwuid(os.getuid()).pw_dir) / ".cache" / "symusic"
