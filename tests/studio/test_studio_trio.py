"""The studio with a trio model (the multi-track fixtures, linked, as its data): its vocabulary
names the parts, samples and uploads are ``[T, 3]`` windows, the MIDI download is three
tracks, a window of the wrong shape is a 422 in one line, and the page's own code reads the
three lanes (run with node, when installed)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
from midi_files import tiny_model_config
from studio_helpers import studio_client
from trio_files import MULTITRACK, linked_multitrack, trio_file

from symusic.data import drum_tracks
from symusic.data.representation import get_representation
from symusic.data.settings import DataSettings
from symusic.musicvae.model import ModelConfig, MusicVAE
from symusic.studio.app import STATIC_DIR
from symusic.studio.state import Studio

pytestmark = pytest.mark.skipif(not MULTITRACK.is_dir(),
                                reason="../shared/data/multitrack is not here")


@pytest.fixture(scope="module")
def trio_client(tmp_path_factory):
    folder = tmp_path_factory.mktemp("studio-trio")
    linked_multitrack(folder / "data")
    trio_file(folder / "whole.mid", bars=12)
    trio_file(folder / "no_bass.mid", bass_bars=[])
    model = MusicVAE(ModelConfig.from_dict(tiny_model_config(), seq_len=32),
                     DataSettings(representation="trio"))
    model.save(folder / "trio.pt")
    with studio_client(Studio.open(folder / "trio.pt", folder / "data")) as client:
        yield client, folder


def ok(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def test_info_names_the_parts(trio_client):
    client, _ = trio_client
    vocab = ok(client.get("/api/info"))["vocab"]
    assert vocab["part_names"] == ["melody", "bass", "drums"]
    assert vocab["part_sizes"] == [90, 90, 512] and vocab["vocab_size"] == 692


def test_samples_uploads_and_downloads_are_trios(trio_client):
    client, folder = trio_client
    melodies = ok(client.post("/api/sample", json={"count": 2, "temperature": 1.0,
                                                   "seed": 2}))["melodies"]
    tokens = np.array([m["tokens"] for m in melodies])
    assert tokens.shape == (2, 32, 3) and (tokens.max(axis=(0, 1)) < [90, 90, 512]).all()
    entry = ok(client.post("/api/upload?name=trio.mid",
                           content=(folder / "whole.mid").read_bytes()))
    picked = ok(client.post("/api/window", json={"file": entry["id"], "track": 0, "bar": 0}))
    window = np.array(picked["tokens"])
    assert window.shape == (32, 3) and (window[:, 0] >= 2).any() and (window[:, 2] > 0).any()
    again = ok(client.post("/api/reconstruct", json={"melodies": [picked["tokens"]]}))
    assert np.array(again["melodies"][0]["tokens"]).shape == (32, 3)
    walk = ok(client.post("/api/interpolate", json={"start": picked["tokens"],
                                                    "end": melodies[0]["tokens"],
                                                    "steps": 3}))
    assert len(walk["melodies"]) == 3
    response = client.post("/api/midi", json={"melodies": [picked["tokens"]], "tempo": 100,
                                              "filename": "trio.mid"})
    assert response.status_code == 200
    midi = pretty_midi.PrettyMIDI(io.BytesIO(response.content))
    assert [(i.name, i.program, i.is_drum) for i in midi.instruments] == [
        ("lead", 0, False), ("bass", 33, False), ("drums", 0, True)]
    assert all(i.notes for i in midi.instruments)
    assert len(ok(client.get("/api/map"))["x"]) > 100  # the fixtures' windows


def test_bad_windows_are_one_line(trio_client):
    client, folder = trio_client
    flat = client.post("/api/encode", json={"melodies": [[0] * 32]})
    assert flat.status_code == 422
    assert flat.json()["error"] == ("a step of this model is 3 tokens (melody, bass, drums), "
                                    "got [32]")
    wide = client.post("/api/encode", json={"melodies": [[[0, 0]] * 32]})
    assert wide.status_code == 422
    assert wide.json()["error"] == ("a step of this model is 3 tokens (melody, bass, drums), "
                                     "got [2]")
    big = client.post("/api/encode", json={"melodies": [[[0, 0, 600]] * 32]})
    assert big.status_code == 422 and big.json()["error"] == "drums tokens must lie in 0..511"
    missing = client.post("/api/upload?name=no_bass.mid",
                          content=(folder / "no_bass.mid").read_bytes())
    assert missing.status_code == 422
    assert missing.json()["error"] == ("no_bass.mid has no usable trio: "
                                       "no bass (programs 32-39)")


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_page_reads_three_lanes(tmp_path):
    script = tmp_path / "check.mjs"
    js = Path(STATIC_DIR) / "js"
    vocab = {**get_representation("trio").vocabulary()}
    script.write_text(
        f'import {{ store }} from "{(js / "store.js").as_uri()}";\n'
        f'import {{ isDrums, isTrio, notesOf, pitchRange }} from '
        f'"{(js / "pianoroll.js").as_uri()}";\n'
        f"store.info = {{ vocab: {json.dumps(vocab)} }};\n"
        "const trio = [[62, 14, 5], [0, 0, 0], [1, 1, 2], [0, 0, 0]];\n"
        "console.log(JSON.stringify({trio: isTrio(), drums: isDrums(), notes: notesOf(trio),"
        " range: pitchRange([trio])}));\n")
    done = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["trio"] and not out["drums"]
    assert [(n["lane"], n["pitch"], n["start"], n["end"]) for n in out["notes"]] == [
        (0, 81, 0, 2), (1, 33, 0, 2), (2, 36, 0, 1), (2, 42, 0, 1), (2, 38, 2, 3)]
    assert out["range"][2] == [0, len(drum_tracks.CLASS_NAMES) - 1]
    assert out["range"][0][0] <= 81 <= out["range"][0][1]
