"""The scan's cache when the world moves under it: a MIDI file changed while the scan runs, a
full disk while the cache is written, and a read-only folder and ``HOME``.

Root runs these tests and ignores file permissions, so the read-only folders and the full disk
are fault-injected (``tests/write_faults.py``): the write calls fail with ``EROFS`` or
``ENOSPC`` as they do on a real read-only or full filesystem.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from write_faults import disk_full_after, writes_fail_under

from symusic.data import scan as scan_module
from symusic.data.dataset import MelodyCollection

OLD = [(60, 4 * k, 4 * k + 3) for k in range(16)]  # 4 bars of repeated C
NEW = [(67, 4 * k, 4 * k + 3) for k in range(16)]  # the same rhythm on G: the same size


def scan(folder: Path, **options) -> MelodyCollection:
    return MelodyCollection.from_folder(folder, num_processes=1, progress=False, **options)


def clean_tokens(tmp_path: Path, write_melody_midi, notes) -> np.ndarray:
    """The tokens a fresh scan (no cache) gives for one file of ``notes``."""
    folder = tmp_path / f"clean-{len(list(tmp_path.iterdir()))}"
    write_melody_midi(folder / "tune.mid", notes)
    return scan(folder, cache_dir=folder / "cache").tokens


def songs(tmp_path: Path, write_melody_midi) -> Path:
    folder = tmp_path / "songs"
    write_melody_midi(folder / "other.mid", [(72, 2 * k, 2 * k + 1) for k in range(32)])
    write_melody_midi(folder / "tune.mid", OLD)
    return folder


def tokens_of(collection: MelodyCollection, name: str) -> np.ndarray:
    f = collection.paths.index(name)
    melodies = range(collection.file_offsets[f], collection.file_offsets[f + 1])
    return np.concatenate([collection.melody(m) for m in melodies])


def rewrite_during_the_read(monkeypatch, folder: Path, write_melody_midi, then_restore: bool):
    """While the scan reads ``tune.mid``, another program writes NEW over it (after the scan
    took its size and mtime); with ``then_restore``, OLD is put back afterwards with its old
    mtime (as ``cp -p`` or ``rsync -t`` from a backup does)."""
    target = folder / "tune.mid"
    before = target.stat()
    old_bytes = target.read_bytes()
    real = scan_module.extract_file

    def rewritten_first(path, settings):
        if Path(path) == target:
            write_melody_midi(target, NEW)
        return real(path, settings)

    monkeypatch.setattr(scan_module, "extract_file", rewritten_first)
    scan(folder)
    monkeypatch.setattr(scan_module, "extract_file", real)
    if then_restore:
        target.write_bytes(old_bytes)
        os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert target.stat().st_size == before.st_size


def test_new_content_read_mid_scan_is_not_kept_under_the_old_stamp(tmp_path, monkeypatch,
                                                                   write_melody_midi):
    folder = songs(tmp_path, write_melody_midi)
    rewrite_during_the_read(monkeypatch, folder, write_melody_midi, then_restore=True)
    again = scan(folder)  # the file holds OLD again, under OLD's very stamp
    np.testing.assert_array_equal(tokens_of(again, "tune.mid"),
                                  clean_tokens(tmp_path, write_melody_midi, OLD))
    assert again.report.extracted == 1  # only the file that changed is read again


def test_a_file_changed_mid_scan_is_read_again_in_its_new_state(tmp_path, monkeypatch,
                                                                write_melody_midi):
    folder = songs(tmp_path, write_melody_midi)
    rewrite_during_the_read(monkeypatch, folder, write_melody_midi, then_restore=False)
    again = scan(folder)
    np.testing.assert_array_equal(tokens_of(again, "tune.mid"),
                                  clean_tokens(tmp_path, write_melody_midi, NEW))
    assert scan(folder).report.extracted == 0  # then cached, under its new stamp


def test_a_file_changed_after_its_read_is_not_reused_under_its_new_stamp(tmp_path,
                                                                         monkeypatch,
                                                                         write_melody_midi):
    folder = songs(tmp_path, write_melody_midi)
    real = scan_module.extract_file

    def then_changed(path, settings):  # tune.mid is read first, then changed while
        outcome = real(path, settings)  # other.mid is read
        if Path(path).name == "other.mid":
            write_melody_midi(folder / "tune.mid", NEW)
        return outcome

    monkeypatch.setattr(scan_module, "extract_file", then_changed)
    scan(folder)
    monkeypatch.setattr(scan_module, "extract_file", real)
    np.testing.assert_array_equal(tokens_of(scan(folder), "tune.mid"),
                                  clean_tokens(tmp_path, write_melody_midi, NEW))


def test_a_full_disk_while_the_cache_is_written_warns_once_and_keeps_the_old_cache(
        tmp_path, write_melody_midi, capsys):
    folder = songs(tmp_path, write_melody_midi)
    first = scan(folder)
    cache_bytes = first.report.cache_path.read_bytes()
    write_melody_midi(folder / "third.mid", NEW)
    capsys.readouterr()
    with disk_full_after(64) as failed:
        full = MelodyCollection.from_folder(folder, num_processes=1)
    assert failed
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "No space left on device" in warnings[0], warnings
    assert first.report.cache_path.read_bytes() == cache_bytes  # the old cache, whole
    cache = first.report.cache_path.parent
    assert not [p for p in cache.iterdir() if p.name.endswith(".tmp")]
    after = scan(folder)
    assert after.report.extracted == 1  # the two files of the old cache are still good
    np.testing.assert_array_equal(after.tokens, full.tokens)
    assert sorted(after.paths) == ["other.mid", "third.mid", "tune.mid"]


def test_a_read_only_folder_and_home_scan_without_a_cache(tmp_path, write_melody_midi,
                                                          monkeypatch, capsys):
    """The folder's ``.symusic-cache`` and the ``~/.cache`` fallback both on a read-only
    filesystem (fault-injected): the scan works, warns in one line, and writes nothing."""
    folder = songs(tmp_path, write_melody_midi)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    reference = scan(folder, cache_dir=tmp_path / "writable")
    for _ in range(2):  # and again: nothing was cached, nothing half-written is read
        capsys.readouterr()
        with writes_fail_under(folder), writes_fail_under(home):
            collection = MelodyCollection.from_folder(folder, num_processes=1)
        warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
        assert len(warnings) == 1 and "Read-only file system" in warnings[0], warnings
        assert str(home) in warnings[0]  # it tried the fallback
        assert collection.report.extracted == 2
        np.testing.assert_array_equal(collection.tokens, reference.tokens)
    assert list(home.iterdir()) == []
    assert sorted(p.name for p in folder.iterdir()) == ["other.mid", "tune.mid"]
