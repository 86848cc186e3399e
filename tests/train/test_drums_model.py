"""A drum model end to end on real Groove files: it trains a few steps through the spec's
command, its checkpoint records the drums representation, and every command writes drum MIDI
(channel 10, Magenta's pitches and velocity) with a drum-grid picture; the wrong kind of file
or checkpoint is one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import torch

from symusic.data import drum_tracks
from symusic.data.groove import unpack_groove
from symusic.musicvae.inference import TrainedModel
from symusic.musicvae.model import MusicVAE
from symusic.musicvae.tools.generate import main as symusic

from .test_train_cli import run_train, tiny_config, write_config

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def groove(tmp_path_factory) -> Path:
    """Three real Groove files of each split (``train/``, ``validation/``, ``test/``), and a
    file of two hits (``few/``)."""
    root = tmp_path_factory.mktemp("groove")
    unpack_groove(root, limit=3, show_progress=False)
    midi = pretty_midi.PrettyMIDI()
    kit = pretty_midi.Instrument(0, is_drum=True)
    kit.notes = [pretty_midi.Note(90, 36, 0.0, 0.1), pretty_midi.Note(90, 38, 0.5, 0.6)]
    midi.instruments.append(kit)
    (root / "few").mkdir()
    midi.write(str(root / "few" / "two_hits.mid"))
    return root


@pytest.fixture(scope="module")
def drum_run(groove, tmp_path_factory) -> Path:
    """A tiny drum model trained 12 steps on the train files: its run folder."""
    tmp = tmp_path_factory.mktemp("drum-run")
    config = tiny_config(groove / "train", groove / "validation", representation="drums",
                         num_steps=12, evaluate_interval=6, advanced_interval=12)
    result = run_train(write_config(tmp, "drums.json", config), tmp / "runs")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "without drum track" in result.stderr + result.stdout
    return tmp / "runs" / "1"


def cli(*argv) -> int:
    return symusic([*map(str, argv), "--device", "cpu"])


def assert_drum_midi(path: Path) -> pretty_midi.PrettyMIDI:
    midi = pretty_midi.PrettyMIDI(str(path))
    assert len(midi.instruments) == 1 and midi.instruments[0].is_drum
    notes = midi.instruments[0].notes
    assert notes and {n.pitch for n in notes} <= set(drum_tracks.OUTPUT_PITCHES)
    assert {n.velocity for n in notes} == {drum_tracks.OUTPUT_VELOCITY}
    return midi


def test_the_checkpoint_is_a_drum_model(drum_run):
    state = torch.load(drum_run / "checkpoints" / "last.pt", weights_only=True)
    assert state["representation"] == {"name": "drums", "vocab_size": 512}
    assert state["data_settings"]["representation"] == "drums"
    model = MusicVAE.load(drum_run / "checkpoints" / "last.pt")
    assert model.encoder.lstm.input_size == 10  # Magenta's roll input: 9 hits + no hit
    assert model.decoder.generate(torch.zeros(2, model.config.z_size), 32).max() < 512
    metrics = json.loads((drum_run / "metrics.json").read_text())
    assert "eval.teacher_forced_hit_f1" in metrics


def test_every_command_writes_drum_midi_and_a_grid(drum_run, groove, tmp_path):
    checkpoint = drum_run / "checkpoints" / "best.pt"
    assert cli("sample", "--checkpoint", checkpoint, "--num", 3, "--seed", 1,
               "--out", tmp_path / "s") == 0
    assert_drum_midi(tmp_path / "s" / "sample_1.mid")
    assert (tmp_path / "s" / "samples.png").stat().st_size > 1000
    start, end = sorted((groove / "test").rglob("*.mid"))[:2]
    assert cli("interpolate", "--checkpoint", checkpoint, "--start", start, "--end", end,
               "--steps", 3, "--out", tmp_path / "i") == 0
    assert_drum_midi(tmp_path / "i" / "interpolation.mid")
    assert cli("reconstruct", "--checkpoint", checkpoint, "--input", start,
               "--out", tmp_path / "r") == 0
    assert any(p.suffix == ".png" for p in (tmp_path / "r").iterdir())
    assert cli("encode", "--checkpoint", checkpoint, "--input", groove / "test",
               "--out", tmp_path / "z.npy") == 0
    z = np.load(tmp_path / "z.npy")
    assert z.ndim == 2 and len(z) > 10


def test_the_model_reads_groove_files_as_training_did(drum_run, groove):
    model = TrainedModel.load(drum_run / "checkpoints" / "last.pt")
    path = sorted((groove / "test").rglob("*.mid"))[0]
    windows, _ = model.file_windows(path)
    assert windows.shape[1] == 32 and windows.max() < 512 and (windows != 0).any()


def test_the_wrong_kind_of_file_is_one_line(drum_run, groove, tmp_path, capsys):
    checkpoint = drum_run / "checkpoints" / "last.pt"
    melody = tmp_path / "melody.mid"
    midi = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(0)
    piano.notes = [pretty_midi.Note(80, 60 + k % 7, k * 0.25, k * 0.25 + 0.2) for k in range(64)]
    midi.instruments.append(piano)
    midi.write(str(melody))
    assert cli("reconstruct", "--checkpoint", checkpoint, "--input", melody,
               "--out", tmp_path / "a") == 1
    assert cli("reconstruct", "--checkpoint", checkpoint, "--input",
               groove / "few" / "two_hits.mid", "--out", tmp_path / "b") == 1
    drums = sorted((groove / "test").rglob("*.mid"))[0]
    assert cli("reconstruct", "--checkpoint", "folk-mel-2bar", "--input", drums,
               "--out", tmp_path / "c") == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        f"symusic: error: {melody}: no drum track found (no track on the drum channel)",
        f"symusic: error: {groove / 'few' / 'two_hits.mid'}: no drum track of 2 bars or more "
        "in track 0",
        f"symusic: error: {drums}: no melody found (drums only)",
    ]


def test_a_melody_checkpoint_cannot_continue_as_drums(drum_run, groove, tmp_path):
    config = tiny_config(groove / "train", groove / "validation", representation="drums",
                         ckpt_path=str(REPO / "symusic/musicvae/pretrained/folk-mel-2bar.pt"))
    result = run_train(write_config(tmp_path, "wrong.json", config), tmp_path / "runs")
    assert result.returncode != 0
    assert "is a melody model; this config trains drums" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_evaluate_command_reports_drum_figures(drum_run, groove, tmp_path):
    from symusic.musicvae.tools.evaluate import main as evaluate

    out = tmp_path / "eval.json"
    assert evaluate(["--checkpoint", str(drum_run / "checkpoints" / "last.pt"), "--data",
                     str(groove / "test"), "--num-samples", "16", "--interp-pairs", "2",
                     "--json", str(out), "--device", "cpu"]) == 0
    report = json.loads(out.read_text())
    for name in ("teacher_forced_hit_accuracy", "teacher_forced_hit_f1", "sampled_hit_f1"):
        assert 0.0 <= report["reconstruction"][name] <= 1.0
    drums = report["drums"]
    assert drums["data"]["hits_per_bar"] > 4 and drums["data_halves"]["class_distance"] < 0.3
    assert {"hits_per_bar_ratio", "class_distance"} <= set(drums["prior_samples"])


def test_the_demo_writes_eight_beats_of_a_drum_model(drum_run, tmp_path):
    from types import SimpleNamespace

    from symusic import demo

    model = TrainedModel.load(drum_run / "checkpoints" / "last.pt")
    written = [path for task in demo._drum_tasks(SimpleNamespace(notes=[]), model, tmp_path,
                                                 with_audio=False) for path in task()]
    assert [p.name for p in written] == ["drum_samples.mid", "drum_samples.png"]
    midi = assert_drum_midi(tmp_path / "drum_samples.mid")
    assert midi.get_end_time() > 7 * 4  # eight 2-bar beats at 120 BPM: 32 s, less a last rest


def test_the_config_key_is_checked_at_start_up(tmp_path):
    from symusic.musicvae.model.config import ConfigError
    from symusic.musicvae.training.config import ExperimentConfig

    config = tiny_config(tmp_path, tmp_path, representation="drums")
    assert ExperimentConfig.from_dict(config).training.seq_len == 32
    with pytest.raises(ConfigError, match="representation: value error, the drums "
                                          "representation needs extraction 'magenta', not "
                                          "'any_meter'"):
        ExperimentConfig.from_dict({**config, "extraction": "any_meter"})
    with pytest.raises(ConfigError, match="representation"):
        ExperimentConfig.from_dict({**config, "representation": "piano"})
