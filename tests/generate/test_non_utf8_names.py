"""A MIDI file whose name is not UTF-8 (Python holds its bytes as surrogate escapes): the
scan's skip list, the encode index, and the studio's file list and map show it as ``\\xff``
instead of failing to write it."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest
from midi_files import instrument, scale_walk, write_midi

from symusic.data.dataset import MelodyCollection
from symusic.musicvae.tools import generate

BAD_NAME = os.fsdecode(b"caf\xe9-\xff.mid")  # Latin-1 bytes, as an old archive may hold


@pytest.fixture()
def folder(tmp_path, midi_dir) -> Path:
    """The test tunes, one more under a non-UTF-8 name, and an unreadable file also under
    such a name (so that it is skipped and listed)."""
    root = tmp_path / "tunes"
    shutil.copytree(midi_dir, root)
    try:
        write_midi(root / BAD_NAME, instrument(scale_walk(5, 4)))
        (root / os.fsdecode(b"broken-\xff.mid")).write_bytes(b"not midi at all")
    except (UnicodeEncodeError, OSError):
        pytest.skip("this file system refuses names that are not UTF-8")
    return root


def test_the_scan_writes_the_skip_list_with_such_a_name(folder):
    collection = MelodyCollection.from_folder(folder, num_processes=1, progress=False)
    listed = collection.report.skipped_path.read_text(encoding="utf-8")
    assert "broken-\\xff.mid\t" in listed


def test_encode_writes_the_index_with_such_a_name(folder, tiny_model_path, tmp_path, capsys):
    out = tmp_path / "z.npy"
    code = generate.main(["encode", "--checkpoint", str(tiny_model_path), "--input",
                          str(folder), "--out", str(out), "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    with (tmp_path / "z.index.csv").open(encoding="utf-8") as handle:
        files = {row["file"] for row in csv.DictReader(handle)}
    assert any(name.endswith("caf\\xe9-\\xff.mid") for name in files), files


def test_the_studio_lists_and_maps_such_a_name(folder, tiny_model_path):
    from fastapi.testclient import TestClient

    from symusic.studio.app import create_app
    from symusic.studio.state import Studio

    app = create_app(Studio.open(tiny_model_path, folder), "127.0.0.1")
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        answer = client.get("/api/files")
        assert answer.status_code == 200, answer.text[:200]
        names = [f["name"] for f in answer.json()["files"]]
        assert "caf\\xe9-\\xff.mid" in names
        mapped = client.get("/api/map")
        assert mapped.status_code == 200, mapped.text[:200]
