"""Folder scan (bad input, summary, parallel workers), the cache, windows and loaders."""

import os

import numpy as np
import pytest
import torch

from symusic.data import scan
from symusic.data.cache import load_table
from symusic.data.dataset import (
    MelodyCollection,
    NoMelodiesError,
    WindowDataset,
    make_eval_loader,
    make_train_loader,
)
from symusic.data.melody import describe_programs, parse_programs
from symusic.data.tokens import FIRST_PITCH_TOKEN, MAX_PITCH, MIN_PITCH

TUNE = [(60, 0, 4), (62, 4, 8), (64, 8, 12), (65, 12, 16), (67, 16, 24), (65, 24, 32)]


def open_messy(messy, tmp_path, processes=1, cache="cache", extraction="magenta"):
    return MelodyCollection.from_folder(messy.root, num_processes=processes,
                                        max_bytes=messy.max_bytes, max_steps=messy.max_steps,
                                        max_bars=messy.max_steps // 16, extraction=extraction,
                                        cache_dir=tmp_path / cache, progress=False)


def skipped_reasons(report):
    lines = report.skipped_path.read_text().splitlines()
    return {line.split("\t")[0]: line.split("\t")[1].split(": ", 1)[1] for line in lines}


@pytest.mark.parametrize("extraction", ["magenta", "any_meter"])
def test_scan_counts_every_bad_file_by_reason(messy, tmp_path, extraction):
    collection = open_messy(messy, tmp_path, extraction=extraction)
    report = collection.report
    assert (report.files, report.used, report.without_melody, report.unreadable) == (13, 4, 3, 6)
    assert report.cut == 1 and report.extracted == 13
    assert set(collection.paths) == messy.used | set(messy.reasons)
    assert skipped_reasons(report) == messy.reasons_for(extraction)
    assert sum(report.reasons.values()) == 9 and report.reasons["drums only"] == 1
    assert report.summary_line() == (
        f"13 files: 4 used, 3 without melody, 6 unreadable, 1 cut at the length limit "
        f"(reasons in {report.skipped_path})")
    used = {collection.paths[f] for f in collection.melody_files}
    assert used == messy.used
    assert all(len(collection.melody(m)) <= messy.max_steps for m in range(len(collection)))


def test_parallel_scan_survives_a_crashing_worker(messy, tmp_path, monkeypatch):
    serial = open_messy(messy, tmp_path, processes=1, cache="serial")
    (messy.root / "crash.mid").write_bytes((messy.root / "good.mid").read_bytes())
    original = scan.extract_file

    def extract_or_die(path, settings):
        if path.endswith("crash.mid"):
            os._exit(3)  # kills the worker process: BrokenProcessPool in the parent
        return original(path, settings)

    monkeypatch.setattr(scan, "extract_file", extract_or_die)
    parallel = open_messy(messy, tmp_path, processes=2, cache="parallel")
    assert skipped_reasons(parallel.report)["crash.mid"] == scan.WORKER_CRASHED
    assert parallel.report.used == serial.report.used == 4
    assert parallel.report.unreadable == serial.report.unreadable + 1
    np.testing.assert_array_equal(parallel.tokens, serial.tokens)


def test_second_open_comes_from_the_cache(messy, tmp_path, monkeypatch):
    first = open_messy(messy, tmp_path)
    assert first.report.cache_path.is_file()

    def must_not_read(path, settings):
        raise AssertionError(f"{path} was read again")

    monkeypatch.setattr(scan, "extract_file", must_not_read)
    second = open_messy(messy, tmp_path)
    assert second.report.extracted == 0
    assert second.report.summary_line() == first.report.summary_line()
    np.testing.assert_array_equal(second.tokens, first.tokens)
    np.testing.assert_array_equal(second.melody_offsets, first.melody_offsets)


def test_changed_added_and_removed_files_update_the_cache(messy, tmp_path,
                                                          write_melody_midi):
    first = open_messy(messy, tmp_path)
    # a changed file (new size) is read again, and only it
    write_melody_midi(messy.root / "good.mid", TUNE + [(72, 32, 48)])
    changed = open_messy(messy, tmp_path)
    assert changed.report.extracted == 1
    assert len(changed.tokens) == len(first.tokens) + 16
    # same size, new mtime: read again
    stat = os.stat(messy.root / "good.mid")
    os.utime(messy.root / "good.mid", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert open_messy(messy, tmp_path).report.extracted == 1
    # an added file is read; a deleted one drops out without reading anything
    write_melody_midi(messy.root / "added.mid", TUNE)
    added = open_messy(messy, tmp_path)
    assert (added.report.extracted, added.report.files, added.report.used) == (1, 14, 5)
    (messy.root / "good.mid").unlink()
    removed = open_messy(messy, tmp_path)
    assert (removed.report.extracted, removed.report.files, removed.report.used) == (0, 13, 4)
    assert "good.mid" not in load_table(removed.report.cache_path).paths.tolist()


def test_cache_defaults_to_a_hidden_folder_inside_the_midi_folder(tmp_path, write_melody_midi):
    write_melody_midi(tmp_path / "songs" / "a.mid", TUNE)
    collection = MelodyCollection.from_folder(tmp_path / "songs", num_processes=1,
                                              progress=False)
    assert collection.report.cache_path.parent == tmp_path / "songs" / ".symusic-cache"
    assert collection.report.skipped_path.parent == collection.report.cache_path.parent
    assert collection.paths == ["a.mid"]  # the cache folder itself is not scanned


@pytest.mark.parametrize("case", ["missing", "empty", "only_bad"])
def test_folder_without_melodies_raises_an_error_naming_it(tmp_path, case):
    folder = tmp_path / f"{case}-folder"
    if case != "missing":
        folder.mkdir()
    if case == "only_bad":
        (folder / "bad.mid").write_bytes(b"MThd garbage")
        (folder / "readme.txt").write_text("hello")
    with pytest.raises(NoMelodiesError, match=f"{case}-folder"):
        MelodyCollection.from_folder(folder, num_processes=1, cache_dir=tmp_path / "c",
                                     progress=False)
    assert issubclass(NoMelodiesError, ValueError)


def test_other_instruments_are_read_when_their_programs_are_asked_for(tmp_path,
                                                                    write_melody_midi):
    write_melody_midi(tmp_path / "violins" / "a.mid", TUNE, program=40)
    write_melody_midi(tmp_path / "violins" / "b.mid", TUNE[:4], program=73)
    with pytest.raises(NoMelodiesError) as caught:
        MelodyCollection.from_folder(tmp_path / "violins", num_processes=1,
                                     cache_dir=tmp_path / "c", progress=False)
    message = str(caught.value)
    assert "2 files only hold instruments outside the melodic programs 0-31" in message
    assert "set `programs` in the config" in message
    strings = MelodyCollection.from_folder(tmp_path / "violins", programs=range(40, 80),
                                           num_processes=1, cache_dir=tmp_path / "c",
                                           progress=False)
    assert strings.report.used == 2 and len(strings) == 2


def test_programs_read_and_print_as_compact_ranges():
    assert parse_programs("0-31") == list(range(32))
    assert parse_programs(" 40, 73,41-42 ") == [40, 41, 42, 73]
    assert describe_programs([73, 0, 1, 2, 40, 41]) == "0-2, 40-41, 73"
    for bad in ("", "x", "3-1", "0-128", "-1"):
        with pytest.raises(ValueError):
            parse_programs(bad)


def test_no_window_of_the_asked_length_raises(tmp_path, write_melody_midi):
    write_melody_midi(tmp_path / "one-bar" / "a.mid", [(60, 0, 16)])
    collection = MelodyCollection.from_folder(tmp_path / "one-bar", num_processes=1,
                                              progress=False)
    assert len(WindowDataset(collection, 1)) == 1
    with pytest.raises(NoMelodiesError, match="one-bar"):
        WindowDataset(collection, 2)


def test_windows_are_unique_within_a_file_not_across_files(tmp_path, write_melody_midi):
    phrase = [(60, 0, 8), (64, 8, 16), (67, 16, 32)]  # 2 bars, then the same 2 bars again
    twice = phrase + [(p, s + 32, e + 32) for p, s, e in phrase]
    write_melody_midi(tmp_path / "w" / "a.mid", twice)
    write_melody_midi(tmp_path / "w" / "b.mid", twice)
    dataset = WindowDataset.from_folder(tmp_path / "w", 2, num_processes=1, progress=False)
    # per file: windows at bars 0, 1, 2 of which bar 2 repeats bar 0
    assert len(dataset) == 4
    assert dataset.index.tolist() == [[0, 0], [0, 16], [1, 0], [1, 16]]
    first = dataset[0]
    assert first.dtype == torch.long and first.shape == (32,)
    assert first[0].item() == 60 - MIN_PITCH + FIRST_PITCH_TOKEN


def test_train_loader_gives_seeded_batches_of_windows(folk_dirs):
    collection = MelodyCollection.from_folder(folk_dirs.train, num_processes=1, progress=False)
    loader = make_train_loader(collection, batch_size=8, num_workers=0, seed=3, slice_bar=2)
    batches = iter(loader)
    batch = next(batches)
    assert batch.dtype == torch.long and batch.shape == (8, 32)
    assert bool((batch >= FIRST_PITCH_TOKEN).any(dim=1).all())  # every window has an onset
    assert loader.sampler.index == 8 and len(loader.sampler) == len(loader.dataset)
    again = next(iter(make_train_loader(collection, batch_size=8, seed=3, slice_bar=2)))
    assert torch.equal(batch, again)
    other = next(iter(make_train_loader(collection, batch_size=8, seed=4, slice_bar=2)))
    assert not torch.equal(batch, other)
    with_worker = make_train_loader(loader.dataset, batch_size=8, num_workers=1, seed=3)
    assert torch.equal(next(iter(with_worker)), batch)


def test_transposed_batches_stay_in_range(folk_dirs):
    dataset = WindowDataset.from_folder(folk_dirs.train, 2, num_processes=1, progress=False)
    loader = make_train_loader(dataset, batch_size=64, seed=0, transpose=12)
    plain = make_train_loader(dataset, batch_size=64, seed=0)
    batch, original = next(iter(loader)), next(iter(plain))
    onsets = batch >= FIRST_PITCH_TOKEN
    assert torch.equal(onsets, original >= FIRST_PITCH_TOKEN)  # same windows, same order
    assert not torch.equal(batch, original)
    pitches = batch[onsets] - FIRST_PITCH_TOKEN + MIN_PITCH
    assert int(pitches.min()) >= MIN_PITCH and int(pitches.max()) <= MAX_PITCH
    shifts = (batch - original)[onsets]
    assert int(shifts.abs().max()) <= 12
    # a shift that would leave the piano is clipped, never wrapped
    high = dataset.window(0, shift=200)
    assert high[high >= FIRST_PITCH_TOKEN].max() == MAX_PITCH - MIN_PITCH + FIRST_PITCH_TOKEN


def test_eval_loader_is_fixed_and_can_be_capped(folk_dirs):
    collection = MelodyCollection.from_folder(folk_dirs.eval, num_processes=1, progress=False)
    everything = torch.cat(list(make_eval_loader(collection, batch_size=16, slice_bar=2)))
    dataset = WindowDataset(collection, 2)
    assert everything.shape == (len(dataset), 32)
    assert torch.equal(everything[0], dataset[0]) and torch.equal(everything[-1], dataset[-1])
    capped = torch.cat(list(make_eval_loader(collection, batch_size=4, slice_bar=2,
                                             max_windows=10)))
    assert capped.shape == (10, 32)
    assert torch.equal(capped[0], everything[0]) and torch.equal(capped[-1], everything[-1])
    again = torch.cat(list(make_eval_loader(dataset, batch_size=3, max_windows=10)))
    assert torch.equal(capped, again)


def test_cache_falls_back_to_the_home_folder_when_the_midi_folder_is_read_only(
        tmp_path, write_melody_midi, monkeypatch):
    from symusic.data import cache

    write_melody_midi(tmp_path / "ro" / "a.mid", TUNE)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(cache, "_is_writable", lambda folder: False)
    collection = MelodyCollection.from_folder(tmp_path / "ro", num_processes=1, progress=False)
    assert collection.report.cache_path.is_file()
    assert (tmp_path / "home" / ".cache" / "symusic") in collection.report.cache_path.parents
    assert not (tmp_path / "ro" / ".symusic-cache").exists()


def test_a_folder_without_4_4_under_magenta_names_the_setting(tmp_path, write_melody_midi):
    import pretty_midi

    folder = tmp_path / "waltzes"
    for name in ("a.mid", "b.mid"):
        path = write_melody_midi(folder / name, TUNE)
        midi = pretty_midi.PrettyMIDI(str(path))
        midi.time_signature_changes = [pretty_midi.TimeSignature(3, 4, 0.0)]
        midi.write(str(path))
    with pytest.raises(NoMelodiesError, match="2 files hold no 4/4 section.*any_meter"):
        MelodyCollection.from_folder(folder, num_processes=1, cache_dir=tmp_path / "c",
                                     progress=False)
    waltzes = MelodyCollection.from_folder(folder, num_processes=1, cache_dir=tmp_path / "c",
                                           progress=False, extraction="any_meter")
    assert waltzes.report.used == 2 and waltzes.settings.extraction == "any_meter"
