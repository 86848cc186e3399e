"""The command that prepares a trio folder from a multi-track collection (the Lakh MIDI
Dataset's layout: files in nested folders)."""

from __future__ import annotations

import json

from trio_files import trio_file

from symusic.data.corpus_cli import main
from symusic.data.lakh_trio import out_name, split_of


def test_files_with_a_16_bar_trio_are_copied_into_a_stable_split(tmp_path, capsys):
    source = tmp_path / "lmd_full"
    for folder in "0123456789ab":
        (source / folder).mkdir(parents=True)
        trio_file(source / folder / f"{folder}song.mid", bars=20)
    trio_file(source / "0" / "short.mid", bars=10)
    trio_file(source / "1" / "no_drums.mid", drum_bars=[])
    (source / "1" / "broken.mid").write_bytes(b"not midi")
    out = tmp_path / "trio"
    assert main(["--name", "lakh-trio", "--from", str(source), "--out", str(out),
                 "--workers", "1"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["left_out"] == {"no trio of 16 bars": 1, "no drums (the drum channel)": 1,
                                    "unreadable: not a MIDI file": 1}
    kept = {p.name: p.parent.name for p in out.rglob("*.mid")}
    assert len(kept) == 12 == sum(manifest["files"].values())
    for folder in "0123456789ab":
        relative = f"{folder}/{folder}song.mid"
        assert kept[out_name(relative)] == split_of(relative)
    assert (source / "0" / "0song.mid").read_bytes() == (out / split_of("0/0song.mid") /
                                                         "0__0song.mid").read_bytes()
    files = manifest["files"]
    assert capsys.readouterr().out.startswith(
        f"{out}: {files['train']} train and {files['eval']} eval files with a 16-bar trio, "
        "3 left out (reasons in manifest.json)")


def test_a_missing_source_is_one_line(tmp_path, capsys):
    assert main(["--name", "lakh-trio", "--out", str(tmp_path / "o")]) == 2
    assert main(["--name", "lakh-trio", "--from", str(tmp_path / "nothing"),
                 "--out", str(tmp_path / "o")]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and lines[1].endswith("nothing: no such folder")
