"""The studio with a GrooVAE model: the Groove and Drumify pages' API (uploads of a beat and of
taps, the model's performance, the MIDI download), their refusals, and the pages' own groove
code (run with node, when it is installed) against the converter's."""

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

from symusic.data import groove_windows as G
from symusic.data.groove import groove_file
from symusic.data.settings import DataSettings
from symusic.musicvae.model import ModelConfig, MusicVAE
from symusic.studio.app import STATIC_DIR
from symusic.studio.state import Studio

BEAT = "drummer1/eval_session/10_soul-groove10_102_beat_4-4.mid"


def groove_model(settings: DataSettings) -> MusicVAE:
    config = tiny_model_config()
    config["encoder_params"]["embed_size"] = 27
    config["seq_decoder_args"]["params"]["decoder_args"]["params"]["embed_size"] = 27
    return MusicVAE(ModelConfig.from_dict(config, seq_len=32), settings)


@pytest.fixture(scope="module")
def groove_client(tmp_path_factory):
    folder = tmp_path_factory.mktemp("studio-groove")
    groove_model(DataSettings("groove", humanize=True)).save(folder / "humanize.pt")
    (folder / "beat.mid").write_bytes(groove_file(BEAT))
    with studio_client(Studio.open(folder / "humanize.pt")) as client:
        yield client, folder


def ok(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def test_info_says_groove(groove_client):
    client, _ = groove_client
    info = ok(client.get("/api/info"))
    assert info["representation"] == "groove" and info["vocab"]["item_size"] == 27


def test_upload_perform_and_download(groove_client):
    client, folder = groove_client
    beat = ok(client.post("/api/groove/upload?name=beat.mid",
                          content=(folder / "beat.mid").read_bytes()))
    assert beat["qpm"] == pytest.approx(102, abs=0.5) and beat["bars"] == 17
    groove = np.array(beat["groove"])
    assert groove.shape == (17 * 16, 27) and G.hits(groove).sum() > 200
    assert (groove[..., G.OFFSETS] != 0).any()  # the drummer's own timing, read as played
    played = ok(client.post("/api/groove/perform", json={"groove": beat["groove"][:64],
                                                         "seed": 1}))
    assert np.array(played["groove"]).shape == (64, 27) and played["hits_in"] > 0
    response = client.post("/api/groove/midi", json={"groove": beat["groove"][:32],
                                                     "tempo": 102, "filename": "b.mid"})
    assert response.status_code == 200
    midi = pretty_midi.PrettyMIDI(io.BytesIO(response.content))
    notes = midi.instruments[0].notes
    assert midi.instruments[0].is_drum and len({n.velocity for n in notes}) > 3


def test_taps_of_a_melody_track(groove_client):
    client, _ = groove_client
    midi = pretty_midi.PrettyMIDI(initial_tempo=90)
    piano = pretty_midi.Instrument(0, name="piano")
    piano.notes = [pretty_midi.Note(90, 60, k * 60 / 90 / 2, k * 60 / 90 / 2 + 0.1)
                   for k in range(12)]
    midi.instruments.append(piano)
    buffer = io.BytesIO()
    midi.write(buffer)
    taps = ok(client.post("/api/groove/upload?name=t.mid&taps=1", content=buffer.getvalue()))
    groove = np.array(taps["groove"])
    assert taps["track"] == "track 0 (piano)" and G.hits(groove)[:, G.TAP_CLASS].sum() == 12
    refused = client.post("/api/groove/upload?name=t.mid", content=buffer.getvalue())
    assert refused.status_code == 422
    assert "t.mid: no track on the drum channel" in refused.json()["error"]
    assert "upload.mid" not in refused.json()["error"]


def test_bad_grooves_are_refused(groove_client):
    client, _ = groove_client
    step = [0.0] * 27
    assert client.post("/api/groove/perform", json={"groove": [step] * 20}).status_code == 422
    assert client.post("/api/groove/perform",
                       json={"groove": [step[:26]] * 16}).status_code == 422
    assert client.post("/api/groove/perform",
                       json={"groove": [[2.0] * 27] * 16}).status_code == 422
    assert client.post("/api/groove/perform",
                       json={"groove": [step] * (65 * 16)}).status_code == 422
    assert client.post("/api/groove/upload", content=b"not midi").status_code == 422


def test_a_token_model_has_no_groove_pages(tmp_path):
    model = MusicVAE(ModelConfig.from_dict(tiny_model_config(), seq_len=32))
    model.save(tmp_path / "melody.pt")
    with studio_client(Studio.open(tmp_path / "melody.pt")) as client:
        response = client.post("/api/groove/perform", json={"groove": [[0.0] * 27] * 16})
        assert response.status_code == 409 and "GrooVAE" in response.json()["error"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_pages_taps_and_hits_are_the_converters(tmp_path):
    """Taps recorded on the page become the groove the converter makes of the same times."""
    times = [0.0, 0.13, 0.26, 0.49, 0.77, 1.01, 1.24, 1.5]
    step_s = 60 / 120 / 4
    script = tmp_path / "check.mjs"
    js = Path(STATIC_DIR) / "js"
    script.write_text(
        "import { tapsToGroove, hitsOf, toggleHit, emptyGroove } from "
        f'"{(js / "groove.js").as_uri()}";\n'
        f"const g = tapsToGroove({json.dumps(times)}, 2, {step_s}, 0.5);\n"
        "const t = toggleHit(toggleHit(emptyGroove(1), 4, 1), 4, 1);\n"
        "console.log(JSON.stringify({groove: g, hits: hitsOf(g), cleared: hitsOf(t).length}));\n")
    done = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    piece = G.magenta_grid.Piece(0.0, float("inf"), 4, 4, 120.0)
    theirs, _ = G.groove_of_piece(piece, np.array(times), np.full(len(times), 64),
                                  np.full(len(times), G.TAP_CLASS))
    ours = np.array(out["groove"])
    np.testing.assert_array_equal(ours[:len(theirs), :9], theirs[:, :9])
    np.testing.assert_allclose(ours[:len(theirs), 18:], theirs[:, 18:], atol=1e-9)
    assert [h["row"] for h in out["hits"]] == [G.TAP_CLASS] * len(times)
    assert out["cleared"] == 0
