"""The built-in folk corpus: real tunes, a clean train/eval split, idempotent builds."""

import hashlib
import json

import pretty_midi
import pytest

from symusic.data import corpus
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
