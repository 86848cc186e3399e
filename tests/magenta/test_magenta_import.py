"""magenta.js checkpoint folders through symusic's one loading door, without Node.

The layouts (tfjs float32 and quantized, deeplearn.js float32 and quantized) give the same
model; the dataConverter becomes the recorded data settings; every command, the evaluation,
the studio and fine-tuning open a folder; a bad or unsupported folder is one line, exit 1.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from magenta_layout import (
    FLAT_DRUMS,
    FLAT_MELODY,
    FLAT_TRIO,
    HIER_MELODY,
    magenta_spec,
    magenta_variables,
)

from symusic.data.settings import DataSettings
from symusic.magenta.folder import write_tfjs_folder
from symusic.musicvae.model.vae import CheckpointError, MusicVAE
from symusic.musicvae.tools.generate import main as symusic


def write(folder, sizes=FLAT_MELODY, seed=0, quantization=None, spec=None, variables=None):
    return write_tfjs_folder(folder, spec or magenta_spec(sizes),
                             variables or magenta_variables(sizes, seed), quantization)


def same_weights(a: MusicVAE, b: MusicVAE) -> bool:
    return all(torch.equal(a.state_dict()[k], v) for k, v in b.state_dict().items())


def write_deeplearnjs(folder, variables, quantize_bytes=None):
    """The older layout: manifest.json and one raw file per variable."""
    folder.mkdir(parents=True)
    manifest, values = {}, {}
    for i, (name, value) in enumerate(variables.items()):
        entry = {"filename": f"var{i}", "shape": list(value.shape)}
        if quantize_bytes:
            levels = 2 ** (8 * quantize_bytes) - 1
            low, high = float(value.min()), float(value.max())
            q = np.round((value.astype(np.float64) - low) / (high - low) * levels)
            q.astype("<u1" if quantize_bytes == 1 else "<u2").tofile(folder / f"var{i}")
            entry["quantization"] = {"bytes": quantize_bytes, "min": low, "max": high}
            values[name] = (q * ((high - low) / levels) + low).astype(np.float32)
        else:
            value.astype("<f4").tofile(folder / f"var{i}")
            values[name] = value
        manifest[name] = entry
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "config.json").write_text(json.dumps(magenta_spec(FLAT_MELODY)))
    return values


@pytest.mark.parametrize("quantize_bytes", [None, 1, 2])
def test_the_deeplearnjs_layout_gives_the_model_of_its_values(tmp_path, quantize_bytes):
    values = write_deeplearnjs(tmp_path / "old", magenta_variables(FLAT_MELODY, 4),
                               quantize_bytes)
    old = MusicVAE.load(tmp_path / "old")
    assert same_weights(old, MusicVAE.load(write(tmp_path / "new", variables=values)))


def test_tfjs_quantization_is_read_as_tfjs_reads_it(tmp_path):
    variables = magenta_variables(FLAT_MELODY, 5)
    folder = write(tmp_path / "q", variables=variables, quantization="uint8")
    manifest = json.loads((folder / "weights_manifest.json").read_text())[0]
    stream = b"".join((folder / p).read_bytes() for p in manifest["paths"])
    offset, dequantized = 0, {}
    for entry in manifest["weights"]:  # tfjs io_utils.decodeWeights: q * scale + min
        count = math.prod(entry["shape"])
        q = np.frombuffer(stream, np.uint8, count, offset).astype(np.float64)
        offset += count
        scale, low = entry["quantization"]["scale"], entry["quantization"]["min"]
        dequantized[entry["name"]] = (q * scale + low).astype(np.float32).reshape(entry["shape"])
        assert np.abs(dequantized[entry["name"]] - variables[entry["name"]]).max() <= scale
    assert same_weights(MusicVAE.load(folder), MusicVAE.load(write(tmp_path / "f",
                                                                   variables=dequantized)))


@pytest.mark.parametrize(("sizes", "representation", "decoder"), [
    (FLAT_MELODY, "melody", "greedy"), (HIER_MELODY, "melody", "hier"),
    (FLAT_DRUMS, "drums", "greedy"),
])
def test_the_data_converter_becomes_the_recorded_data_settings(tmp_path, sizes,
                                                               representation, decoder):
    model = MusicVAE.load(write(tmp_path / "m", sizes))
    assert model.data_settings == DataSettings(representation=representation,
                                               extraction="magenta")
    assert model.config.seq_len == sizes.steps
    assert model.config.seq_decoder_args.key == decoder
    if sizes.segments:
        assert model.config.seq_decoder_args.params.n_subsequences == sizes.segments
        assert model.config.encoder_params.segment_length == sizes.steps // sizes.segments
    model.save(tmp_path / "m.pt")  # an ordinary checkpoint from then on
    assert same_weights(MusicVAE.load(tmp_path / "m.pt"), model)


def test_a_copy_without_sigma_gets_sigma_one(tmp_path):
    model = MusicVAE.load(write(tmp_path / "d", FLAT_DRUMS))
    _, sigma = model.encode(torch.zeros(2, 32, dtype=torch.long))
    torch.testing.assert_close(sigma, torch.ones_like(sigma))


def one_line(capsys, code: int, expected: str) -> None:
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert expected in err, err


def sample(folder, tmp_path) -> int:
    return symusic(["sample", "--checkpoint", str(folder), "--num", "2", "--out",
                    str(tmp_path / "out"), "--device", "cpu"])


def _edit_manifest(folder, change):
    path = folder / "weights_manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest[0])
    path.write_text(json.dumps(manifest))


def _spec(converter):
    return {"type": "MusicVAE", "dataConverter": converter}


BAD_FOLDERS = {
    "a missing shard": (lambda f: (f / "group1-shard1of1").unlink(),
                        "names a missing file 'group1-shard1of1'"),
    "a shard of the wrong size": (
        lambda f: (f / "group1-shard1of1").write_bytes(b"\0" * 12), "hold 12 bytes"),
    "a path outside the folder": (
        lambda f: _edit_manifest(f, lambda g: g.update(paths=["../x"])),
        "not a plain file name"),
    "an unexpected shape": (  # the same values, the kernel's shape transposed
        lambda f: _edit_manifest(f, lambda g: g["weights"][0].update(
            shape=g["weights"][0]["shape"][::-1])), "has shape [96, 114], expected [114x96]"),
    "an unknown quantization": (
        lambda f: _edit_manifest(f, lambda g: g["weights"][0].update(
            quantization={"dtype": "int4"})), "quantization must name a dtype"),
    "NaN in the config": (
        lambda f: (f / "config.json").write_text('{"type": NaN}'), "not JSON"),
    "an unknown dataConverter": (
        lambda f: (f / "config.json").write_text(json.dumps(_spec(
            {"type": "PianoConverter", "args": {"numSteps": 32}}))),
        "unknown dataConverter 'PianoConverter'"),
    "a trio with rhythm controls": (
        lambda f: (f / "config.json").write_text(json.dumps(_spec(
            {"type": "TrioRhythmConverter", "args": {"numSteps": 32}}))),
        "a TrioRhythmConverter model (trio with rhythm controls): symusic does not have it"),
    "a trio converter over melody weights": (
        lambda f: (f / "config.json").write_text(json.dumps(magenta_spec(FLAT_TRIO))),
        "expected [716x96]"),
    "a trio without its parts' converters": (
        lambda f: (f / "config.json").write_text(json.dumps(_spec(
            {"type": "TrioConverter", "args": {"numSteps": 32}}))),
        "TrioConverter.melArgs must be an object"),
    "a trio's lead on other pitches": (
        lambda f: (f / "config.json").write_text(json.dumps(_spec({
            "type": "TrioConverter", "args": {**magenta_spec(FLAT_TRIO)["dataConverter"]["args"],
                                              "melArgs": {"minPitch": 48, "maxPitch": 84}}}))),
        "TrioConverter.melArgs pitches 48-84"),
    "a groove model of one step per drum": (
        lambda f: (f / "config.json").write_text(json.dumps(_spec(
            {"type": "GrooveConverter", "args": {"numSteps": 32, "splitInstruments": True}}))),
        "GrooveConverter with splitInstruments (one step per drum): symusic does not have it"),
    "a hierarchical groove model": (
        lambda f: (f / "config.json").write_text(json.dumps(_spec(
            {"type": "GrooveConverter", "args": {"numSteps": 32, "numSegments": 2}}))),
        "a hierarchical GrooVAE (numSegments): symusic's groove models are flat"),
    "a groove converter over melody weights": (
        lambda f: (f / "config.json").write_text(json.dumps(_spec(
            {"type": "GrooveConverter", "args": {"numSteps": 32}}))), "expected [51x96]"),
    "chord conditioning": (
        lambda f: (f / "config.json").write_text(json.dumps({
            **magenta_spec(FLAT_MELODY), "chordEncoder": "PitchChordEncoder"})),
        "chord conditioning"),
    "other pitches": (
        lambda f: (f / "config.json").write_text(json.dumps(_spec(
            {"type": "MelodyConverter", "args": {"numSteps": 32, "minPitch": 48,
                                                 "maxPitch": 84}}))), "pitches 48-84"),
}


@pytest.mark.parametrize("case", BAD_FOLDERS)
def test_a_bad_or_unsupported_folder_is_one_line(tmp_path, capsys, case):
    damage, expected = BAD_FOLDERS[case]
    folder = write(tmp_path / "m")
    damage(folder)
    one_line(capsys, sample(folder, tmp_path), expected)
    with pytest.raises(CheckpointError, match="^" + str(folder)):
        MusicVAE.load(folder)


def test_magenta_features_symusic_lacks_are_named(tmp_path, capsys):
    variables = magenta_variables(FLAT_MELODY, 0)
    nade = {**variables, "decoder/nade/w_enc": np.zeros((90, 1, 8), np.float32)}
    one_line(capsys, sample(write(tmp_path / "n", variables=nade), tmp_path),
             "a NADE decoder")
    extra = {**variables, "decoder/extra/kernel": np.zeros((2, 2), np.float32)}
    one_line(capsys, sample(write(tmp_path / "x", variables=extra), tmp_path),
             "unexpected variable 'decoder/extra/kernel'")
    del variables["decoder/output_projection/bias"]
    one_line(capsys, sample(write(tmp_path / "m", variables=variables), tmp_path),
             "variable 'decoder/output_projection/bias' is missing")


def test_every_command_opens_a_magentajs_folder(tmp_path, folk_dirs):
    from symusic.musicvae.tools.evaluate import main as evaluate
    from symusic.studio.state import Studio

    folder = write(tmp_path / "mel_2bar")
    assert sample(folder, tmp_path) == 0
    assert len(list((tmp_path / "out").glob("sample_*.mid"))) == 2
    assert symusic(["encode", "--checkpoint", str(folder), "--input", str(folk_dirs.eval),
                    "--out", str(tmp_path / "z.npy"), "--device", "cpu"]) == 0
    assert np.load(tmp_path / "z.npy").shape[1] == FLAT_MELODY.z
    assert evaluate(["--checkpoint", str(folder), "--data", str(folk_dirs.eval),
                     "--num-samples", "8", "--interp-pairs", "1", "--max-windows", "16",
                     "--json", str(tmp_path / "r.json"), "--device", "cpu"]) == 0
    studio = Studio.open(folder, folk_dirs.eval, max_windows=16)
    studio.close()


def test_import_magenta_writes_a_checkpoint_and_its_config(tmp_path, capsys):
    folder = write(tmp_path / "hier", HIER_MELODY)
    assert symusic(["import-magenta", str(folder), "--out", str(tmp_path / "h.pt"),
                    "--config-out", str(tmp_path / "h.json")]) == 0
    assert "melody, hier, 4 bars, z 16" in capsys.readouterr().out
    assert same_weights(MusicVAE.load(tmp_path / "h.pt"), MusicVAE.load(folder))
    part = json.loads((tmp_path / "h.json").read_text())
    assert part["slice_bar"] == 4 and part["seq_decoder_args"]["key"] == "hier"
    assert symusic(["import-magenta", str(folder), "--out", str(tmp_path / "half.pt"),
                    "--half"]) == 0
    half = torch.load(tmp_path / "half.pt", weights_only=True)["state_dict"]
    assert half["encoder.mu.weight"].dtype == torch.float16
    one_line(capsys, symusic(["import-magenta", str(tmp_path), "--out", str(tmp_path / "x.pt")]),
             "not a magenta.js checkpoint folder")


def test_an_imported_model_fine_tunes_with_ckpt_path(tmp_path, folk_dirs):
    from train.test_train_cli import run_train, tiny_config, write_config

    folder = write(tmp_path / "mel_2bar")
    assert symusic(["import-magenta", str(folder), "--out", str(tmp_path / "m.pt"),
                    "--config-out", str(tmp_path / "part.json")]) == 0
    part = json.loads((tmp_path / "part.json").read_text())
    config = tiny_config(folk_dirs.train, folk_dirs.eval, **part, ckpt_path=str(folder),
                         num_steps=6, evaluate_interval=6, advanced_interval=6)
    result = run_train(write_config(tmp_path, "fine.json", config), tmp_path / "runs")
    assert result.returncode == 0, result.stderr[-2000:]
    tuned = MusicVAE.load(tmp_path / "runs/1/checkpoints/last.pt")
    assert tuned.config == MusicVAE.load(folder).config
    assert not same_weights(tuned, MusicVAE.load(folder))
    # the start input stays Magenta's zeros through training: it still exports exactly
    assert not tuned.decoder.decoder.embed.weight[-1].any()
