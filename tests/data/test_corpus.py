"""The built-in folk corpus: real tunes, a clean train/eval split, idempotent builds."""

import contextlib
import dataclasses
import hashlib
import io
import json
import lzma
import os
import re
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pretty_midi
import pytest

from symusic.data import corpus, corpus_archive, corpus_cli
from symusic.data.dataset import MelodyCollection, WindowDataset


def test_folk_dirs_hold_real_tunes_in_both_splits(folk_dirs):
    manifest = json.loads((folk_dirs.root / "manifest.json").read_text())
    train = sorted(folk_dirs.train.rglob("*.mid"))
    evaluation = sorted(folk_dirs.eval.rglob("*.mid"))
    assert (len(train), len(evaluation)) == (36, 4)
    assert manifest["files"] == {"train": 36, "eval": 4}
    assert set(manifest["collections"]) == {"essen", "oneills", "ryans"}
    assert manifest["collections"]["essen"]["abc_files"] == 31
    assert "public domain" in manifest["licence"]
    # no tune in both splits, by name or by content
    assert not {p.name for p in train} & {p.name for p in evaluation}
    digest = {p: hashlib.sha1(p.read_bytes()).hexdigest() for p in train + evaluation}
    assert not {digest[p] for p in train} & {digest[p] for p in evaluation}
    midi = pretty_midi.PrettyMIDI(str(train[0]))
    assert len(midi.instruments) == 1 and len(midi.instruments[0].notes) > 10
    assert midi.get_tempo_changes()[1].tolist() == [120.0]


@pytest.mark.parametrize(("split", "bars", "at_least"),
                         [("train", 2, 200), ("train", 8, 100), ("eval", 2, 20), ("eval", 8, 10)])
def test_folk_dirs_give_enough_windows(folk_dirs, split, bars, at_least):
    # the folk tunes are mostly in 3/4 and 6/8: the folk configs read them with any_meter
    collection = MelodyCollection.from_folder(getattr(folk_dirs, split), num_processes=1,
                                              progress=False, extraction="any_meter")
    assert collection.report.used == collection.report.files
    assert len(WindowDataset(collection, bars)) >= at_least


def test_second_build_writes_nothing(folk_dirs):
    before = {p: p.stat().st_mtime_ns for p in folk_dirs.root.rglob("*.mid")}
    manifest = corpus.build_corpus(folk_dirs.root, limit=40, workers=1, progress=False)
    assert {p: p.stat().st_mtime_ns for p in folk_dirs.root.rglob("*.mid")} == before
    assert manifest["files"] == {"train": 36, "eval": 4} and manifest["failed"] == {}


def test_abc_tunes_are_split_at_their_reference_lines():
    text = "% header\nX:1\nT:One\nK:C\nCDEF|\n\nX: 2\nT:Two\nK:G\nGABc|\n"
    assert corpus.split_abc_tunes(text) == ["X:1\nT:One\nK:C\nCDEF|\n", "X: 2\nT:Two\nK:G\nGABc|"]


def test_split_hashes_the_music_not_the_title():
    a = corpus.Tune("essen", "essenFolksong/a.abc", 1, "X:1\nT:First\nK:C\nCDEF|GABc|\n")
    b = corpus.Tune("ryans", "ryansMammoth/b.abc", 7, "X:9\nT:Other name\nK:C\nCDEF|GABc|\n")
    c = corpus.Tune("ryans", "ryansMammoth/b.abc", 7, "X:9\nT:Other name\nK:D\nCDEF|GABc|\n")
    assert a.music_key == b.music_key and a.split == b.split
    assert a.music_key != c.music_key
    assert str(b.relative_path()) == f"{b.split}/ryans/b-0007.mid"


def test_about_a_tenth_of_all_tunes_go_to_eval():
    tunes = corpus.select_tunes(corpus.list_tunes(), limit=None)
    share = sum(t.split == "eval" for t in tunes) / len(tunes)
    assert len(tunes) > 11_000 and 0.08 < share < 0.12


def test_score_to_midi_keeps_one_line_from_chords_grace_notes_ties_and_pickups():
    from music21 import converter

    abc = "X:1\nM:4/4\nL:1/4\nK:C\nG | {A}c2 [ce]d | e2- e2 |]\n"
    midi = corpus.score_to_midi(converter.parse(abc, format="abc"))
    step = 60.0 / corpus.TEMPO / 4
    notes = [(n.pitch, round(n.start / step), round(n.end / step)) for n in
             midi.instruments[0].notes]
    # the pickup is moved to the end of bar 0, the grace note is gone, the chord keeps its
    # top note and the tied e lasts a whole bar
    assert notes == [(67, 12, 16), (72, 16, 24), (76, 24, 28), (74, 28, 32), (76, 32, 48)]
    assert [(s.numerator, s.denominator) for s in midi.time_signature_changes] == [(4, 4)]


# --- the shipped archive ----------------------------------------------------------------------


def sample_of_all_tunes(per_collection: int = 3) -> list:
    """A few tunes of each collection, spread evenly over it (both splits)."""
    tunes = corpus.select_tunes(corpus.list_tunes(), limit=None)
    sample = []
    for name in corpus.COLLECTIONS:
        mine = [t for t in tunes if t.collection == name]
        sample += mine[:: len(mine) // per_collection][:per_collection]
    return sample


def test_shipped_archive_equals_a_rebuild_byte_for_byte(tmp_path):
    sample = sample_of_all_tunes()
    assert {t.collection for t in sample} == set(corpus.COLLECTIONS)
    for tune in sample:
        assert corpus.write_tune_midi(tune, str(tmp_path / "rebuilt"))[1] is None
    wanted = {t.relative_path().as_posix(): t.music_key for t in sample}
    unpacked = corpus_archive.unpack(corpus_archive.ARCHIVE, tmp_path / "shipped", wanted,
                                     show_progress=False)
    assert unpacked.written == set(wanted) and not unpacked.failed
    for name in wanted:
        rebuilt = (tmp_path / "rebuilt" / name).read_bytes()
        assert (tmp_path / "shipped" / name).read_bytes() == rebuilt, name
    # a tune whose music differs from the one packed is not taken from the archive
    other = {name: "0" * 40 for name in wanted}
    assert not corpus_archive.unpack(corpus_archive.ARCHIVE, tmp_path / "other", other,
                                     show_progress=False).written


def test_shipped_archive_holds_every_tune_with_manifest_and_licence():
    licence, manifest, index = corpus_archive.read_metadata(corpus_archive.ARCHIVE)
    tunes = corpus.select_tunes(corpus.list_tunes(), limit=None)
    keys = {t.relative_path().as_posix(): corpus_archive.short_key(t.music_key) for t in tunes}
    assert {**index["files"], **{k: v[0] for k, v in index["failed"].items()}} == keys
    assert len(index["failed"]) <= 5  # one Essen tune that music21 cannot parse, today
    assert manifest["files"] == {
        split: sum(name.startswith(f"{split}/") for name in index["files"]) for split in
        corpus.SPLITS}
    assert "non-commercial" in licence and "Essen" in licence
    assert corpus_archive.ARCHIVE.stat().st_size < 8 << 20


def test_unpacking_gives_the_files_a_build_gives(folk_dirs, tmp_path):
    archive = tmp_path / "small.tar.xz"
    corpus_cli.pack_corpus(folk_dirs.root, archive, limit=40)
    first = archive.read_bytes()
    corpus_cli.pack_corpus(folk_dirs.root, archive, limit=40)
    assert archive.read_bytes() == first  # reproducible
    manifest = corpus.build_corpus(tmp_path / "folk", limit=40, progress=False, archive=archive)
    assert manifest["files"] == {"train": 36, "eval": 4} and manifest["failed"] == {}
    built = {p.relative_to(folk_dirs.root): p.read_bytes() for p in folk_dirs.root.rglob("*.mid")}
    unpacked = {p.relative_to(tmp_path / "folk"): p.read_bytes()
                for p in (tmp_path / "folk").rglob("*.mid")}
    assert unpacked == built
    mode = (tmp_path / "folk" / next(iter(unpacked))).stat().st_mode & 0o777
    assert mode == 0o666 & ~current_umask()


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


KEY = "k" * 40  # the music key the crafted archives' index gives every member


def write_archive(path, members, meta: bool = True):
    """An xz tar of ``members`` (``(TarInfo, bytes)``), after valid metadata (an index that
    lists every member, so an unpack wants them all) when ``meta``."""
    index = {"format": 1, "failed": {},
             "files": {info.name: corpus_archive.short_key(KEY) for info, _ in members}}
    head = [("LICENCE.txt", b"note"), ("manifest.json", b"{}"),
            ("index.json", json.dumps(index).encode())] if meta else []
    with lzma.open(path, "wb") as xz, tarfile.open(fileobj=xz, mode="w|") as tar:
        for name, data in head:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data else None)
    return path


def member(name: str, data: bytes = b"MThd", kind: bytes = tarfile.REGTYPE, link: str = ""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, data if kind == tarfile.REGTYPE else b""


@pytest.mark.parametrize(("bad", "message"), [
    (member("../evil.mid"), "unexpected member '../evil.mid'"),
    (member("train/essen/../../evil.mid"), "unexpected member"),
    (member("/tmp/evil.mid"), "unexpected member"),
    (member("train/essen/a-0001.mid", kind=tarfile.SYMTYPE, link="/etc/passwd"),
     "not a regular file"),
    (member("train/essen/a-0001.mid", kind=tarfile.LNKTYPE, link="LICENCE.txt"),
     "not a regular file"),
    (member("train/essen", kind=tarfile.DIRTYPE), "unexpected member"),
    (member("train/essen/big-0001.mid", b"x" * (corpus_archive.FOLK_RULES.max_midi_bytes + 1)),
     "at most"),
])
def test_unpack_refuses_what_a_corpus_archive_cannot_hold(tmp_path, bad, message):
    archive = write_archive(tmp_path / "bad.tar.xz", [bad])
    out = tmp_path / "deep" / "out"
    with pytest.raises(corpus_archive.ArchiveError, match=re.escape(message)):
        corpus_archive.unpack(archive, out, {bad[0].name: KEY}, False)
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != archive]
    assert written == [] and not Path("/tmp/evil.mid").exists()


def test_unpack_is_bounded_and_needs_its_metadata_first(tmp_path, monkeypatch):
    archive = write_archive(tmp_path / "a.tar.xz", [member("train/essen/a-0001.mid")],
                            meta=False)
    with pytest.raises(corpus_archive.ArchiveError, match="member 1 is 'train/essen/a-0001"):
        corpus_archive.unpack(archive, tmp_path / "out", {}, False)
    many = [member(f"train/essen/t-{i:04d}.mid", b"\0" * 4000) for i in range(40)]
    archive = write_archive(tmp_path / "b.tar.xz", many)
    monkeypatch.setattr(corpus_archive, "FOLK_RULES", dataclasses.replace(
        corpus_archive.FOLK_RULES, max_tar_bytes=100_000))
    with pytest.raises(corpus_archive.ArchiveError, match="more than"):
        corpus_archive.unpack(archive, tmp_path / "out", {m.name: KEY for m, _ in many}, False)
    (tmp_path / "c.tar.xz").write_bytes(b"\xfd7zXZ\0 not really")
    with pytest.raises(corpus_archive.ArchiveError):
        corpus_archive.unpack(tmp_path / "c.tar.xz", tmp_path / "out", {}, False)


# --- the command line: one line, before any work ----------------------------------------------


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if the corpus work starts."""
    def refuse(*_args, **_kwargs):
        raise AssertionError("the corpus work started")

    monkeypatch.setattr(corpus, "list_tunes", refuse)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("args", [["--workers", "-2"], ["--workers", "0"], ["--limit", "0"],
                                  ["--limit", "-5"]])
def test_cli_refuses_counts_below_one(tmp_path, capsys, no_work, args):
    assert corpus_cli.main(["--out", str(tmp_path / "folk"), *args]) == 2
    assert f"{args[0]} must be 1 or more, got {args[1]}" in one_line_error(capsys)


def test_cli_refuses_an_output_path_that_is_a_file(tmp_path, capsys, no_work):
    (tmp_path / "folk").write_text("a file")
    assert corpus_cli.main(["--out", str(tmp_path / "folk")]) == 2
    assert "is a file, not a folder" in one_line_error(capsys)
    assert corpus_cli.main(["--out", str(tmp_path / "folk" / "sub")]) == 2
    assert "is not a writable folder: Not a directory" in one_line_error(capsys)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_cli_refuses_an_output_folder_it_cannot_write(tmp_path, capsys, no_work):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert corpus_cli.main(["--out", str(locked / "folk")]) == 2
    assert "is not a writable folder: Permission denied" in one_line_error(capsys)


def test_cli_says_when_the_archive_is_damaged(tmp_path, capsys, monkeypatch):
    damaged = tmp_path / "bad.tar.xz"
    damaged.write_bytes(b"\xfd7zXZ\0 cut short")
    monkeypatch.setattr(corpus, "ARCHIVE", damaged)
    monkeypatch.setattr(corpus, "select_tunes", lambda tunes, limit: tunes[:2])
    assert corpus_cli.main(["--out", str(tmp_path / "folk"), "--limit", "2"]) == 1
    assert "archive is damaged" in one_line_error(capsys)


# --- kill -9 ----------------------------------------------------------------------------------


def children_of(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found.update(int(c) for c in (task / "children").read_text().split())
    return found


def is_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc (Linux)")
def test_build_workers_die_with_their_killed_parent(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "symusic.data.corpus", "--out", str(tmp_path / "folk"),
         "--rebuild", "--limit", "400", "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while len(workers) < 2 and proc.poll() is None and time.monotonic() < deadline:
            workers = children_of(proc.pid)
            time.sleep(0.1)
        assert len(workers) == 2, "the pool's workers did not start"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while any(map(is_running, workers)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in workers if is_running(pid)]
    finally:
        proc.kill()
        for pid in workers:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
