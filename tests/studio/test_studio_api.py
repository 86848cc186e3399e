"""The studio's JSON API, endpoint by endpoint, on a tiny checkpoint and a folder of melodies."""

from __future__ import annotations

import io
import re

import numpy as np
import pretty_midi
import pytest
import torch
from midi_files import instrument, scale_walk, write_midi
from studio_helpers import studio_client

from symusic.data import tokens as vocab
from symusic.data.midi_io import melody_notes
from symusic.data.midi_windows import read_tracks
from symusic.errors import InputError
from symusic.studio.app import STATIC_DIR
from symusic.studio.state import Studio

SEQ_LEN, Z_SIZE = 32, 16


@pytest.fixture(scope="module")
def client_without_data(checkpoint):
    with studio_client(Studio.open(checkpoint)) as c:
        yield c


@pytest.fixture(scope="module")
def model(studio):
    return studio.service.model


def ok(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def error(response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]
    return body["error"]


def check_melodies(melodies: list[dict], n: int) -> np.ndarray:
    assert len(melodies) == n
    tokens = np.array([m["tokens"] for m in melodies])
    assert tokens.shape == (n, SEQ_LEN)
    assert tokens.min() >= 0 and tokens.max() < vocab.NUM_CLASSES
    for m in melodies:
        assert set(m["attributes"]) == {"note_density", "pitch_range", "syncopation",
                                        "mean_interval"}
    return tokens


def data_window(data_dir, name: str, track: int, bar: int) -> np.ndarray:
    """The pipeline's window of ``track`` starting at the file's ``bar``."""
    chosen = next(t for t in read_tracks(data_dir / name) if t.index == track)
    window = next(w for w, _, start in chosen.windows(SEQ_LEN, 16) if start == bar)
    return np.asarray(window, dtype=np.int64)


# --- the page ----------------------------------------------------------------------------------


def test_index_and_assets_are_served_from_the_package(client):
    page = client.get("/")
    assert page.status_code == 200 and 'src="js/main.js"' in page.text
    for asset in ["style.css", "js/main.js", "js/synth.js", "js/pianoroll.js",
                  "js/pages/walk.js"]:
        response = client.get(f"/{asset}")
        assert response.status_code == 200, asset
    assert client.get("/docs").status_code == 404  # FastAPI's docs would load a CDN


def test_no_asset_loads_anything_from_another_host():
    for path in STATIC_DIR.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert not re.search(r"https?://|//cdn|@import", text), path
            for ref in re.findall(r'from "([^"]+)"|src="([^"]+)"|href="([^"]+)"', text):
                target = next(r for r in ref if r)
                if not target.startswith("data:"):
                    assert (path.parent / target).resolve().is_file(), (path, target)


def test_info(client):
    info = ok(client.get("/api/info"))
    assert (info["seq_len"], info["bars"], info["z_size"]) == (SEQ_LEN, 2, Z_SIZE)
    assert info["data"]["files"] == 7
    assert info["representation"] == "melody"
    assert info["vocab"] == {"vocab_size": 90, "no_event": vocab.NO_EVENT,
                             "note_off": vocab.NOTE_OFF,
                             "first_pitch_token": vocab.FIRST_PITCH_TOKEN,
                             "min_pitch": vocab.MIN_PITCH, "steps_per_quarter": 4,
                             "steps_per_bar": 16}
    assert "pca" in info["map_methods"]


# --- sample, decode, encode, reconstruct, interpolate -----------------------------------------


def test_sample_is_reproducible_with_a_seed_and_decodes_its_z(client):
    a = ok(client.post("/api/sample", json={"count": 3, "temperature": 0, "seed": 7}))
    b = ok(client.post("/api/sample", json={"count": 3, "temperature": 0, "seed": 7}))
    tokens = check_melodies(a["melodies"], 3)
    assert a == b
    z = [m["z"] for m in a["melodies"]]
    assert np.array(z).shape == (3, Z_SIZE)
    again = ok(client.post("/api/decode", json={"z": z, "temperature": 0}))
    np.testing.assert_array_equal(check_melodies(again["melodies"], 3), tokens)
    other = ok(client.post("/api/sample", json={"count": 3, "temperature": 0, "seed": 8}))
    assert other["melodies"][0]["z"] != z[0]


def test_sample_and_decode_reject_bad_requests(client):
    assert "count" in error(client.post("/api/sample", json={"count": 0}), 422)
    assert "count" in error(client.post("/api/sample", json={"count": 1000}), 422)
    assert "16 numbers" in error(client.post("/api/decode", json={"z": [[0.0] * 3]}), 422)
    assert "temperature" in error(client.post("/api/decode",
                                              json={"z": [[0.0] * 16], "temperature": -1}), 422)
    assert error(client.post("/api/sample", content=b"not json",
                             headers={"content-type": "application/json"}), 422)


def test_tiny_temperatures_sample_and_huge_codes_are_refused(client, studio, data_dir):
    """A temperature at the bottom of float range draws the argmax (it was a 500: NaN
    probabilities); a code beyond the decoder's range is a 422 (3e38 was a 500)."""
    tiny = ok(client.post("/api/sample", json={"count": 2, "temperature": 1e-45, "seed": 1}))
    argmax = ok(client.post("/api/decode", json={"z": [m["z"] for m in tiny["melodies"]],
                                                 "temperature": 0}))
    assert [m["tokens"] for m in tiny["melodies"]] == [m["tokens"] for m in argmax["melodies"]]
    window = data_window(data_dir, "tune0.mid", 0, 1).tolist()
    for path, body in [("/api/reconstruct", {"melodies": [window]}),
                       ("/api/interpolate", {"start": window, "end": window, "steps": 3})]:
        assert ok(client.post(path, json={**body, "temperature": 1e-45}))
    assert "less than or equal to 10000" in error(
        client.post("/api/decode", json={"z": [[3e38] * Z_SIZE]}), 422)
    with pytest.raises(InputError, match="within"):
        studio.service.decode(np.full((1, Z_SIZE), 1e5, dtype=np.float32))


def test_encode_and_reconstruct_match_the_model(client, model, data_dir):
    window = data_window(data_dir, "tune0.mid", 0, 1)
    encoded = ok(client.post("/api/encode", json={"melodies": [window.tolist()]}))["melodies"]
    mu, _ = model.encode(torch.as_tensor(window[None]))
    np.testing.assert_allclose(encoded[0]["z"], mu[0].detach().numpy(), atol=1e-4)
    recon = ok(client.post("/api/reconstruct", json={"melodies": [window.tolist()]}))
    expected = model.reconstruct(torch.as_tensor(window[None]), temperature=0.0)
    np.testing.assert_array_equal(check_melodies(recon["melodies"], 1), expected.numpy())
    assert "32 steps" in error(client.post("/api/encode", json={"melodies": [[2, 0, 0]]}), 422)
    assert "tokens must lie in 0..89" in error(
        client.post("/api/encode", json={"melodies": [[95] * 32]}), 422)
    assert "less than or equal to 32767" in error(
        client.post("/api/encode", json={"melodies": [[2**40] * 32]}), 422)


def test_interpolate_walks_from_one_code_to_the_other(client, model, data_dir):
    start = data_window(data_dir, "tune0.mid", 0, 0)
    end = data_window(data_dir, "tune3.mid", 0, 2)
    walk = ok(client.post("/api/interpolate", json={"start": start.tolist(),
                                                    "end": end.tolist(), "steps": 5}))
    check_melodies(walk["melodies"], 5)
    mu, _ = model.encode(torch.as_tensor(np.stack([start, end])))
    z = np.array([m["z"] for m in walk["melodies"]])
    np.testing.assert_allclose(z[0], mu[0].detach().numpy(), atol=1e-4)
    np.testing.assert_allclose(z[-1], mu[1].detach().numpy(), atol=1e-4)
    assert not np.allclose(z[2], z[0])
    body = {"start": start.tolist(), "end": end.tolist(), "steps": 1}
    assert "steps" in error(client.post("/api/interpolate", json=body), 422)


# --- files, windows and uploads ----------------------------------------------------------------


def test_files_list_names_then_tracks_and_start_bars_on_demand(client):
    listing = ok(client.get("/api/files"))["files"]
    assert [f["name"] for f in listing] == ["duet.mid"] + [f"tune{i}.mid" for i in range(6)]
    assert [f["id"] for f in listing] == [f"d{i}" for i in range(7)]
    duet = ok(client.get("/api/files/d0"))
    assert duet["name"] == "duet.mid"
    assert [t["name"] for t in duet["tracks"]] == ["Piano", "Guitar"]
    assert [t["program"] for t in duet["tracks"]] == [0, 24]
    assert all(t["start_bars"] == [0, 1, 2] for t in duet["tracks"])
    assert error(client.get("/api/files/d7"), 404)
    assert error(client.get("/api/files/x"), 404)


def test_unreadable_and_melody_less_data_files_answer_422(checkpoint, tmp_path):
    (tmp_path / "a_broken.mid").write_bytes(b"MThd garbage")
    write_midi(tmp_path / "b_short.mid", instrument(scale_walk(3, 1)))
    write_midi(tmp_path / "c_good.mid", instrument(scale_walk(5, 3)))
    studio = Studio.open(checkpoint, tmp_path)
    with studio_client(studio) as c:
        assert "a_broken.mid cannot be read as MIDI" in error(c.get("/api/files/d0"), 422)
        assert "b_short.mid has no melody of 2 bars" in error(c.get("/api/files/d1"), 422)
        assert ok(c.get("/api/files/d2"))["tracks"][0]["start_bars"] == [0, 1]
        assert list(studio.library.skipped) == [str(tmp_path / "a_broken.mid")]
        assert ok(c.get("/api/dimensions"))["basis"] == "prior"  # 2 windows are too few


def test_window_picks_by_file_track_and_bar(client, data_dir):
    files = {f["name"]: f["id"] for f in ok(client.get("/api/files"))["files"]}
    picked = ok(client.post("/api/window", json={"file": files["duet.mid"], "track": 1,
                                                 "bar": 2}))
    np.testing.assert_array_equal(picked["tokens"], data_window(data_dir, "duet.mid", 1, 2))
    assert picked["label"] == "duet.mid, track 1, bar 2" and len(picked["z"]) == Z_SIZE
    message = error(client.post("/api/window", json={"file": files["duet.mid"], "track": 1,
                                                     "bar": 3}), 422)
    assert "0, 1, 2" in message
    assert "no file" in error(client.post("/api/window", json={"file": "d99"}), 404)


def test_upload_then_pick_from_it(client, midi_bytes, data_dir):
    entry = ok(client.post("/api/upload?name=my%20tune.mid", content=midi_bytes))
    assert entry["name"] == "my tune.mid" and entry["id"].startswith("u")
    assert entry["tracks"][0]["start_bars"] == [0, 1, 2]
    picked = ok(client.post("/api/window", json={"file": entry["id"], "track": 0, "bar": 1}))
    np.testing.assert_array_equal(picked["tokens"], data_window(data_dir, "tune1.mid", 0, 1))
    message = error(client.post("/api/window", json={"file": entry["id"], "bar": 9}), 422)
    assert "my tune.mid" in message and "/tmp" not in message  # the user's name, not ours


def test_bad_uploads_get_a_message_and_the_server_stays_up(client, tmp_path):
    message = error(client.post("/api/upload?name=notes.txt", content=b"hello, not MIDI"), 422)
    assert "notes.txt is not a readable MIDI file" in message
    assert "empty" in error(client.post("/api/upload?name=x.mid", content=b""), 422)
    # a real MIDI file whose only melody is one bar: too short for a 2-bar model
    short = write_midi(tmp_path / "short.mid", instrument(scale_walk(3, 1)))
    message = error(client.post("/api/upload?name=short.mid", content=short.read_bytes()), 422)
    assert "no usable melody" in message
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    drums.notes = instrument(scale_walk(4, 4)).notes
    drum_file = write_midi(tmp_path / "drums.mid", drums)
    message = error(client.post("/api/upload?name=drums.mid", content=drum_file.read_bytes()),
                    422)
    assert "drums.mid" in message
    big = b"MThd" + b"\0" * (5 * 2**20)
    assert "larger" in error(client.post("/api/upload", content=big), 413)
    assert ok(client.get("/api/info"))["z_size"] == Z_SIZE


# --- latent space: dimensions, map, attribute vectors ------------------------------------------


def test_dimensions_are_the_most_varied_of_the_data_codes(client, studio):
    dims = ok(client.get("/api/dimensions?count=5"))
    assert dims["basis"] == "data" and dims["count"] == 24
    ref = studio.latent.reference()
    std = ref.mu.std(axis=0)
    assert [d["index"] for d in dims["dims"]] == list(np.argsort(-std, kind="stable")[:5])
    np.testing.assert_allclose([d["std"] for d in dims["dims"]], np.sort(std)[::-1][:5],
                               atol=1e-4)
    assert error(client.get("/api/dimensions?count=0"), 422)


def test_dimensions_without_data_come_from_prior_samples(client_without_data):
    dims = ok(client_without_data.get("/api/dimensions?count=3"))
    assert dims["basis"] == "prior" and dims["count"] == 256 and len(dims["dims"]) == 3
    message = error(client_without_data.get("/api/map"), 409)
    assert "--data" in message
    assert ok(client_without_data.get("/api/attributes"))["basis"] == "prior"


def test_map_places_every_window_and_a_point_gives_original_and_reconstruction(client, studio,
                                                                               model):
    plane = ok(client.get("/api/map?method=pca"))
    n = len(plane["labels"])
    assert n == 24 and len(plane["x"]) == len(plane["y"]) == n
    xy = np.array([plane["x"], plane["y"]])
    assert np.abs(xy).max() <= 1.0 + 1e-6 and xy.std(axis=1).min() > 0
    assert len(plane["attributes"]["note_density"]) == n
    point = ok(client.get("/api/map/5"))
    ref = studio.latent.reference()
    assert point["label"] == plane["labels"][5]
    np.testing.assert_array_equal(point["original"]["tokens"], ref.melodies[5])
    expected = model.decode(torch.as_tensor(ref.mu[5:6]), temperature=0.0)
    np.testing.assert_array_equal(point["reconstruction"]["tokens"], expected[0].numpy())
    assert error(client.get(f"/api/map/{n}"), 404)
    assert "unknown map method" in error(client.get("/api/map?method=umap"), 422)


def test_tsne_asks_for_scikit_learn_when_it_is_missing(client, monkeypatch):
    import symusic.studio.projection as projection

    monkeypatch.setattr(projection, "tsne_available", lambda: False)
    assert "scikit-learn" in error(client.get("/api/map?method=tsne"), 422)


def test_attribute_vectors_and_applying_them(client, studio):
    listed = ok(client.get("/api/attributes"))
    by_name = {a["name"]: a for a in listed["attributes"]}
    assert listed["basis"] == "data" and set(by_name) == {"note_density", "pitch_range",
                                                          "syncopation", "mean_interval"}
    density = by_name["note_density"]
    assert density["usable"] and density["high_mean"] > density["low_mean"] + 1
    assert density["group_size"] == 6 and density["norm"] > 0
    z = ok(client.post("/api/sample", json={"count": 1, "seed": 1}))["melodies"][0]["z"]
    moved = ok(client.post("/api/attributes/apply", json={
        "z": z, "attribute": "note_density", "amounts": [0.0, 2.0]}))
    check_melodies(moved["melodies"], 2)
    vector = studio.latent.vectors()["note_density"].vector
    step = np.array(moved["melodies"][1]["z"]) - np.array(moved["melodies"][0]["z"])
    np.testing.assert_allclose(step, 2 * vector, atol=1e-4)
    same = ok(client.post("/api/decode", json={"z": [z], "temperature": 0}))["melodies"][0]
    assert moved["melodies"][0]["tokens"] == same["tokens"]
    body = {"z": z, "attribute": "loudness", "amounts": [1.0]}
    assert "note_density" in error(client.post("/api/attributes/apply", json=body), 404)


# --- MIDI download ---------------------------------------------------------------------------


def test_midi_download_parses_and_holds_the_melodies(client, data_dir):
    a = data_window(data_dir, "tune0.mid", 0, 0)
    b = data_window(data_dir, "tune1.mid", 0, 0)
    response = client.post("/api/midi", json={"melodies": [a.tolist(), b.tolist()],
                                              "filename": "my walk!.mid", "tempo": 120})
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/midi"
    assert 'filename="my_walk_.mid"' in response.headers["content-disposition"]
    midi = pretty_midi.PrettyMIDI(io.BytesIO(response.content))
    notes = [(n.pitch, round(n.start / 0.125), round(n.end / 0.125))
             for n in midi.instruments[0].notes]
    expected = melody_notes(a) + [(p, s + SEQ_LEN, e + SEQ_LEN) for p, s, e in melody_notes(b)]
    assert notes == expected
    assert "greater than or equal to 0" in error(
        client.post("/api/midi", json={"melodies": [[-1] * 32]}), 422)
