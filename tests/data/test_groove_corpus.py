"""The Groove MIDI Dataset shipped in the package: unpacked by its official split with its
licence and attribution beside it, every file's bytes checked, a damaged archive refused, and
the drum cache beside an unchanged melody cache."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import lzma
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from symusic.data.cache import FORMAT_VERSION, settings_key
from symusic.data.corpus_archive import ArchiveError
from symusic.data.groove import ARCHIVE, GrooveError, pack_groove, unpack_groove
from symusic.data.scan import ExtractionSettings

REPO = Path(__file__).resolve().parents[2]


def index_of(archive: Path) -> dict:
    """The archive's ``index.json`` (the fourth member)."""
    with lzma.open(archive) as xz, tarfile.open(fileobj=xz, mode="r|") as tar:
        for member in tar:
            if member.name == "index.json":
                return json.loads(tar.extractfile(member).read())
    raise AssertionError("no index.json")


def test_the_archive_is_compact_and_holds_the_whole_dataset():
    assert ARCHIVE.stat().st_size < 3 * 2**20
    files = index_of(ARCHIVE)["files"]
    counts = {part: sum(1 for p, _ in files.values() if p == part)
              for part in ("train", "validation", "test")}
    assert counts == {"train": 897, "validation": 124, "test": 129}


def test_unpack_by_split_with_licence_and_attribution(tmp_path):
    counts = unpack_groove(tmp_path, limit=2, show_progress=False)
    assert counts == {"train": 2, "validation": 2, "test": 2}
    assert "Creative Commons Attribution 4.0" in (tmp_path / "LICENSE").read_text()
    attribution = (tmp_path / "ATTRIBUTION.md").read_text()
    assert "Gillick" in attribution and "CC BY 4.0" in attribution
    split = {row["midi_filename"]: row["split"]
             for row in csv.DictReader((tmp_path / "info.csv").open())}
    files = index_of(ARCHIVE)["files"]
    unpacked = sorted(tmp_path.glob("*/drummer*/*/*.mid"))
    assert len(unpacked) == 6
    for path in unpacked:
        part, name = path.relative_to(tmp_path).parts[0], "/".join(path.parts[-3:])
        assert split[name] == part == files[name][0]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == files[name][1]
    before = {p: p.stat().st_mtime_ns for p in unpacked}
    unpack_groove(tmp_path, limit=2, show_progress=False)  # the same bytes: left alone
    assert {p: p.stat().st_mtime_ns for p in unpacked} == before


def fake_dataset(folder: Path) -> Path:
    """A three-file copy of the dataset's layout (not real performances)."""
    rows = [("drummer1/session1/1_funk_80_beat_4-4.mid", "train"),
            ("drummer1/session1/2_rock_90_fill_4-4.mid", "validation"),
            ("drummer2/eval_session/3_jazz_100_beat_3-4.mid", "test")]
    for i, (name, _) in enumerate(rows):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"MThd" + bytes([i]) * 40)
    (folder / "LICENSE").write_text("Creative Commons Attribution 4.0\n")
    (folder / "info.csv").write_text("midi_filename,split\n"
                                     + "".join(f"{n},{s}\n" for n, s in rows))
    return folder


def test_pack_is_reproducible_and_a_changed_file_is_refused(tmp_path):
    source = fake_dataset(tmp_path / "source")
    first, second = pack_groove(source, tmp_path / "a.tar.xz"), pack_groove(source,
                                                                         tmp_path / "b.tar.xz")
    assert first.read_bytes() == second.read_bytes()
    assert unpack_groove(tmp_path / "out", first, show_progress=False) == {
        "train": 1, "validation": 1, "test": 1}
    # the same archive with one file's bytes changed after indexing
    members = []
    with lzma.open(first) as xz, tarfile.open(fileobj=xz, mode="r|") as tar:
        for member in tar:
            data = tar.extractfile(member).read()
            members.append((member, data.replace(b"MThd\x01", b"MThd\x09")))
    damaged = tmp_path / "damaged.tar.xz"
    with lzma.open(damaged, "wb") as xz, tarfile.open(fileobj=xz, mode="w|") as tar:
        for member, data in members:
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    with pytest.raises(ArchiveError, match="does not match its SHA-256"):
        unpack_groove(tmp_path / "out2", damaged, show_progress=False)
    (source / "drummer1/session1/2_rock_90_fill_4-4.mid").unlink()
    with pytest.raises(GrooveError, match="is missing"):
        pack_groove(source, tmp_path / "c.tar.xz")


def test_the_corpus_command(tmp_path):
    def run(*args):
        return subprocess.run([sys.executable, "-m", "symusic.data.corpus", *args],
                              cwd=REPO, capture_output=True, text=True, timeout=120)

    done = run("--name", "groove", "--out", str(tmp_path / "g"), "--limit", "1")
    assert done.returncode == 0, done.stderr
    assert "train 1, validation 1, test 1 files" in done.stdout
    assert (tmp_path / "g" / "validation").is_dir()
    wrong = run("--name", "groove", "--from", str(tmp_path), "--out", str(tmp_path / "h"))
    assert wrong.returncode == 2 and len(wrong.stderr.strip().splitlines()) == 1


def test_the_melody_cache_keeps_its_name_and_drums_get_their_own():
    melody = ExtractionSettings()
    fields = dataclasses.asdict(melody)
    del fields["representation"]  # the key as it was before representations were recorded
    before = hashlib.sha1(json.dumps({"version": FORMAT_VERSION, **fields},
                                     sort_keys=True).encode()).hexdigest()[:12]
    assert settings_key(melody) == before
    assert settings_key(dataclasses.replace(melody, representation="drums")) != before
