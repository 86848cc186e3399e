"""Trio models end to end on the real multi-track fixtures (linked, never copied into the repo):
a tiny flat model (Magenta's MultiOutCategoricalLstmDecoder) and a tiny hierarchical one
(SplitMultiOutLstmDecoder: one core decoder per part under one conductor) train a few steps
through the spec's command, evaluate per part, checkpoint and resume; every command writes
three-track MIDI with a three-lane picture; bad input is one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import torch
from trio_files import MULTITRACK, linked_multitrack, trio_file

from symusic.musicvae.inference import TrainedModel
from symusic.musicvae.model import MusicVAE
from symusic.musicvae.tools.generate import main as symusic

from .test_train_cli import run_train, tiny_config, write_config

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not MULTITRACK.is_dir(),
                                reason="../shared/data/multitrack is not here")

TINY_SPLIT = {"key": "split", "params": {"embed_size": 4, "hidden_size": 16, "n_layers": 1}}


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> Path:
    """``train/``: the 12 fixtures; ``eval/``: two generated trios; ``none/``: files without
    a bass or without drums."""
    root = tmp_path_factory.mktemp("trio")
    linked_multitrack(root / "train")
    (root / "eval").mkdir()
    trio_file(root / "eval" / "whole.mid", bars=20)
    trio_file(root / "eval" / "tempo_change.mid", bars=36, tempo_change_bar=18)
    (root / "none").mkdir()
    trio_file(root / "none" / "no_bass.mid", bass_bars=[])
    trio_file(root / "none" / "no_drums.mid", drum_bars=[])
    trio_file(root / "none" / "lead_on_violin.mid", melody_program=40)
    return root


def trio_config(folders: Path, **overrides) -> dict:
    """A tiny flat 4-bar trio model."""
    settings = {"representation": "trio", "slice_bar": 4, "num_steps": 8,
                "evaluate_interval": 4, "advanced_interval": 8, "eval_max_windows": 16}
    return tiny_config(folders / "train", folders / "eval", **{**settings, **overrides})


def hier_config(folders: Path, **overrides) -> dict:
    """``config_trio_16bar_small.json`` made tiny: 16 bars, a conductor, a split decoder."""
    config = json.loads((REPO / "symusic/musicvae/config_trio_16bar_small.json").read_text())
    tiny = trio_config(folders, slice_bar=16, batch_size=4, num_steps=6, evaluate_interval=3,
                       advanced_interval=6, eval_max_windows=8, **overrides)
    hier = config["seq_decoder_args"]
    hier["params"].update(z_size=tiny["z_size"])
    hier["params"]["conductor_args"]["params"].update(hidden_size=16, c_size=8)
    hier["params"]["seq_decoder_args"]["params"].update(z_size=8, decoder_args=TINY_SPLIT)
    return {**tiny, "seq_decoder_args": hier}


@pytest.fixture(scope="module")
def flat_run(folders, tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("trio-flat")
    result = run_train(write_config(tmp, "flat.json", trio_config(folders)), tmp / "runs")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "3 without trio" in result.stdout + result.stderr
    return tmp / "runs" / "1"


@pytest.fixture(scope="module")
def hier_run(folders, tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("trio-hier")
    result = run_train(write_config(tmp, "hier.json", hier_config(folders)), tmp / "runs")
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp / "runs" / "1"


def cli(*argv) -> int:
    return symusic([*map(str, argv), "--device", "cpu"])


def assert_trio_midi(path: Path) -> pretty_midi.PrettyMIDI:
    midi = pretty_midi.PrettyMIDI(str(path))
    lead, bass, drums = midi.instruments
    assert (lead.name, lead.program, lead.is_drum) == ("lead", 0, False)
    assert (bass.name, bass.program, bass.is_drum) == ("bass", 33, False)
    assert drums.is_drum and drums.name == "drums"
    return midi


def test_the_checkpoints_are_trio_models(flat_run, hier_run):
    for run, decoder in ((flat_run, "TokenDecoder"), (hier_run, "SplitDecoder")):
        state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
        assert state["representation"] == {"name": "trio", "vocab_size": 692}
        model = MusicVAE.load(run / "checkpoints" / "last.pt")
        assert model.encoder.lstm.input_size == 692  # the parts' one-hots, as Magenta's
        inner = model.decoder.inner if hasattr(model.decoder, "inner") else model.decoder
        assert type(inner.decoder).__name__ == decoder
        tokens = model.sample(2, generator=torch.Generator().manual_seed(0))
        assert tokens.shape == (2, model.config.seq_len, 3)
        assert (tokens.amax(dim=(0, 1)) < torch.tensor([90, 90, 512])).all()
    metrics = json.loads((flat_run / "metrics.json").read_text())
    for part in ("melody", "bass"):
        assert f"eval.teacher_forced_{part}_note_accuracy" in metrics
    assert "eval.sampled_drums_hit_accuracy" in metrics


def test_hier_seeds_each_part_with_its_own_last_token(hier_run):
    """Under teacher forcing, part p's last token of bar 1 is read by part p's core decoder
    alone (as the first input of bar 2): the other parts' outputs do not move."""
    model = MusicVAE.load(hier_run / "checkpoints" / "last.pt")
    model.eval()
    z = torch.randn(1, model.config.z_size, generator=torch.Generator().manual_seed(3))
    targets = torch.zeros(1, 256, 3, dtype=torch.long)
    changed = targets.clone()
    changed[0, 15, 1] = 40  # the bass's last step of bar 1
    with torch.no_grad():
        before, _ = model.decoder(z, targets)
        after, _ = model.decoder(z, changed)
    moved = (before - after).abs().amax(dim=1)[0]  # [692]
    assert moved[90:180].max() > 0  # the bass's logits
    assert moved[:90].max() == 0 and moved[180:].max() == 0
    assert torch.equal(before[:, :16], after[:, :16])  # nothing in bar 1 reads it


def test_training_resumes(hier_run, folders, tmp_path):
    config = write_config(tmp_path, "hier.json", hier_config(folders))
    result = run_train(config, tmp_path / "runs",
                       f"ckpt_path={hier_run / 'checkpoints' / 'last.pt'}", "num_steps=9")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resumed from" in result.stdout and "at step 6" in result.stdout


def test_every_command_writes_three_tracks_and_three_lanes(flat_run, hier_run, folders,
                                                           tmp_path):
    start, end = sorted((folders / "eval").glob("*.mid"))
    for run in (flat_run, hier_run):
        checkpoint = run / "checkpoints" / "last.pt"
        out = tmp_path / run.parent.parent.name
        assert cli("sample", "--checkpoint", checkpoint, "--num", 2, "--seed", 1,
                   "--out", out / "s") == 0
        assert_trio_midi(out / "s" / "sample_1.mid")
        assert (out / "s" / "samples.png").stat().st_size > 1000
        assert cli("interpolate", "--checkpoint", checkpoint, "--start", start, "--end", end,
                   "--steps", 3, "--out", out / "i") == 0
        assert_trio_midi(out / "i" / "interpolation.mid")
        assert cli("reconstruct", "--checkpoint", checkpoint, "--input", start,
                   "--out", out / "r") == 0
        original = assert_trio_midi(out / "r" / "original.mid")
        assert all(instrument.notes for instrument in original.instruments)
        assert cli("encode", "--checkpoint", checkpoint, "--input", folders / "eval",
                   "--out", out / "z.npy") == 0
        assert np.load(out / "z.npy").shape[0] >= 2


def test_audio_renders_the_three_tracks(flat_run, tmp_path):
    from symusic.musicvae.tools.render import audio_problem

    if audio_problem() is not None:
        pytest.skip(audio_problem())
    assert cli("sample", "--checkpoint", flat_run / "checkpoints" / "last.pt", "--num", 1,
               "--temperature", 1.0, "--seed", 3, "--out", tmp_path, "--audio") == 0
    midi = assert_trio_midi(tmp_path / "sample_1.mid")
    assert (tmp_path / "sample_1.wav").stat().st_size > 44_100 * 2 * midi.get_end_time() / 2


def test_the_model_reads_files_as_training_did(flat_run, folders):
    model = TrainedModel.load(flat_run / "checkpoints" / "last.pt")
    windows, sources = model.file_windows(folders / "eval" / "whole.mid")
    assert windows.shape == (5, 64, 3) and {s.track for s in sources} == {0}
    assert (windows[..., 0] >= 2).any() and (windows[..., 2] > 0).any()


def test_a_file_missing_a_part_is_one_line_naming_it(flat_run, folders, tmp_path, capsys):
    checkpoint = flat_run / "checkpoints" / "last.pt"
    for name in ("no_bass.mid", "no_drums.mid", "lead_on_violin.mid"):
        assert cli("reconstruct", "--checkpoint", checkpoint, "--input",
                   folders / "none" / name, "--out", tmp_path / name) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"symusic: error: {folders / 'none' / 'no_bass.mid'}: no trio found "
        "(no bass (programs 32-39))",
        f"symusic: error: {folders / 'none' / 'no_drums.mid'}: no trio found "
        "(no drums (the drum channel))",
        f"symusic: error: {folders / 'none' / 'lead_on_violin.mid'}: no trio found "
        "(no melody (programs 0-31))",
    ]


def test_a_folder_without_a_trio_stops_at_start_up(folders, tmp_path):
    config = tiny_config(folders / "none", folders / "none", representation="trio",
                         slice_bar=4)
    result = run_train(write_config(tmp_path, "none.json", config), tmp_path / "runs")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "no usable trio" in line]
    assert len(errors) == 1
    assert ("1 no bass (programs 32-39), 1 no drums (the drum channel), "
            "1 no melody (programs 0-31)") in errors[0]


def test_the_evaluate_command_reports_every_part(flat_run, folders, tmp_path):
    from symusic.musicvae.tools.evaluate import main as evaluate

    out = tmp_path / "eval.json"
    assert evaluate(["--checkpoint", str(flat_run / "checkpoints" / "last.pt"), "--data",
                     str(folders / "eval"), "--num-samples", "8", "--interp-pairs", "2",
                     "--json", str(out), "--device", "cpu"]) == 0
    report = json.loads(out.read_text())
    for kind in ("teacher_forced", "sampled"):
        for name in ("melody_accuracy", "melody_note_accuracy", "bass_accuracy",
                     "bass_note_accuracy", "drums_accuracy", "drums_hit_accuracy"):
            assert 0.0 <= report["reconstruction"][f"{kind}_{name}"] <= 1.0, (kind, name)
    data = report["trio"]["data"]
    assert data["drums"]["onsets_per_bar"] == 8.0  # the generated drums: a hit every 2 steps
    assert data["bass"]["playing_bars"] == 1.0
