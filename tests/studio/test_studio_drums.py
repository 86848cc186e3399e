"""The studio with a drum model: its vocabulary names the classes, samples and uploads are drum
windows, the MIDI download is drums, the map and the attributes work on hits, and the page's
own code draws and plays hits (run with node, when it is installed)."""

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

from symusic.data import drum_tracks
from symusic.data.groove import unpack_groove
from symusic.data.settings import DataSettings
from symusic.musicvae.model import ModelConfig, MusicVAE
from symusic.studio.app import STATIC_DIR
from symusic.studio.state import Studio


@pytest.fixture(scope="module")
def drums_client(tmp_path_factory):
    folder = tmp_path_factory.mktemp("studio-drums")
    unpack_groove(folder / "groove", limit=1, show_progress=False)
    model = MusicVAE(ModelConfig.from_dict(tiny_model_config(), seq_len=32),
                     DataSettings(representation="drums"))
    model.save(folder / "drums.pt")
    with studio_client(Studio.open(folder / "drums.pt", folder / "groove" / "test")) as client:
        yield client, folder / "groove"


def ok(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def test_info_names_the_drum_classes(drums_client):
    client, _ = drums_client
    vocab = ok(client.get("/api/info"))["vocab"]
    assert vocab["vocab_size"] == 512
    assert vocab["class_names"][:3] == ["kick", "snare", "closed hi-hat"]
    assert vocab["class_pitches"] == list(drum_tracks.OUTPUT_PITCHES)


def test_samples_uploads_and_downloads_are_drums(drums_client):
    client, groove = drums_client
    melodies = ok(client.post("/api/sample", json={"count": 3, "temperature": 1.0,
                                                   "seed": 2}))["melodies"]
    tokens = np.array([m["tokens"] for m in melodies])
    assert tokens.shape == (3, 32) and tokens.max() < 512
    path = sorted((groove / "train").rglob("*.mid"))[0]
    entry = ok(client.post("/api/upload?name=groove.mid", content=path.read_bytes()))
    picked = ok(client.post("/api/window", json={"file": entry["id"], "track": 0, "bar": 0}))
    assert max(picked["tokens"]) < 512 and any(picked["tokens"])
    response = client.post("/api/midi", json={"melodies": [picked["tokens"]], "tempo": 100,
                                              "filename": "beat.mid"})
    assert response.status_code == 200
    midi = pretty_midi.PrettyMIDI(io.BytesIO(response.content))
    assert midi.instruments[0].is_drum
    assert {n.pitch for n in midi.instruments[0].notes} <= set(drum_tracks.OUTPUT_PITCHES)
    assert len(ok(client.get("/api/map"))["x"]) > 10


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_page_draws_and_plays_hits_by_class(tmp_path):
    script = tmp_path / "check.mjs"
    js = Path(STATIC_DIR) / "js"
    vocab = {"vocab_size": 512, "no_event": 0, "steps_per_quarter": 4, "steps_per_bar": 16,
             "class_names": list(drum_tracks.CLASS_NAMES),
             "class_pitches": list(drum_tracks.OUTPUT_PITCHES)}
    script.write_text(
        f'import {{ store }} from "{(js / "store.js").as_uri()}";\n'
        f'import {{ isDrums, notesOf, pitchRange }} from "{(js / "pianoroll.js").as_uri()}";\n'
        f"store.info = {{ vocab: {json.dumps(vocab)} }};\n"
        "console.log(JSON.stringify({drums: isDrums(), notes: notesOf([5, 0, 2, 256]),"
        " range: pitchRange([[5]])}));\n")
    done = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["drums"] and out["range"] == [0, 8]
    assert [(n["row"], n["start"], n["pitch"]) for n in out["notes"]] == [
        (0, 0, 36), (2, 0, 42), (1, 2, 38), (8, 3, 51)]
