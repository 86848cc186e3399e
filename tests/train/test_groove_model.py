"""A GrooVAE model end to end on real Groove files: it trains a few steps through the spec's
command (humanize and tapify, flat and hierarchical), its checkpoint records the groove
representation and the input transformation, it saves, loads and humanizes a file; both
commands write MIDI with the learned timing and velocities, the picture and keep the input's
tempo; bad input is one line, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import torch

from symusic.data import groove_windows as G
from symusic.data.groove import unpack_groove
from symusic.musicvae.groove_performance import perform, read_beat
from symusic.musicvae.inference import TrainedModel
from symusic.musicvae.model import MusicVAE
from symusic.musicvae.tools.generate import main as symusic

from .test_train_cli import run_train, tiny_config, write_config


def groove_model(**decoder) -> dict:
    """Tiny GrooVAE model keys (flat, or ``hier`` with bars of its own)."""
    inner = {"key": "another", "params": {"z_size": 16, "embed_size": 27, "hidden_size": 24,
                                          "n_layers": 2, **decoder}}
    return {"z_size": 16, "encoder_params": {"embed_size": 27, "hidden_size": 24, "n_layers": 1},
            "seq_decoder_args": {"key": "greedy", "params": {"z_size": 16,
                                                             "decoder_args": inner}}}


@pytest.fixture(scope="module")
def groove(tmp_path_factory) -> Path:
    """Three real Groove files of each split."""
    root = tmp_path_factory.mktemp("groove")
    unpack_groove(root, limit=3, show_progress=False)
    return root


@pytest.fixture(scope="module")
def humanize_run(groove, tmp_path_factory) -> Path:
    """A tiny humanize model trained 10 steps with decoder dropout: its run folder."""
    tmp = tmp_path_factory.mktemp("groove-run")
    config = tiny_config(groove / "train", groove / "validation", representation="groove",
                         humanize=True, num_steps=10, evaluate_interval=5,
                         advanced_interval=10, **groove_model(dropout=0.7))
    result = run_train(write_config(tmp, "groove.json", config), tmp / "runs")
    assert result.returncode == 0, result.stderr[-2000:]
    return tmp / "runs" / "1"


def beat_file(path: Path, tempo: float = 100.0, bars: int = 3) -> Path:
    """A mechanical rock beat: kick, snare and eighth hats, all velocity 100, on the grid."""
    midi = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    kit = pretty_midi.Instrument(0, is_drum=True)
    step = 60 / tempo / 4
    for s in range(16 * bars):
        hits = [42] if s % 2 == 0 else []
        hits += [36] if s % 8 == 0 else [38] if s % 8 == 4 else []
        kit.notes += [pretty_midi.Note(100, p, s * step, s * step + step / 2) for p in hits]
    midi.instruments.append(kit)
    midi.write(str(path))
    return path


def cli(*argv) -> int:
    return symusic([*map(str, argv), "--device", "cpu"])


def test_the_checkpoint_is_a_groove_model(humanize_run):
    state = torch.load(humanize_run / "checkpoints" / "last.pt", weights_only=True)
    assert state["representation"]["name"] == "groove"
    assert state["data_settings"]["humanize"] is True
    model = MusicVAE.load(humanize_run / "checkpoints" / "last.pt")
    assert model.data_settings.humanize and model.encoder.lstm.input_size == 27
    out = model.decode(torch.zeros(2, 16), 32, temperature=0.0)
    assert out.shape == (2, 32, 27) and out.dtype == torch.float32
    metrics = json.loads((humanize_run / "metrics.json").read_text())
    assert "eval.teacher_forced_timing_mae_ms" in metrics


def test_it_saves_loads_and_humanizes_a_file(humanize_run, tmp_path):
    model = TrainedModel.load(humanize_run / "checkpoints" / "best.pt")
    beat = read_beat(beat_file(tmp_path / "beat.mid", bars=5))
    assert beat.bars == 5 and beat.qpm == pytest.approx(100.0)
    played = perform(model, beat.groove, 0.0)
    assert played.shape == beat.groove.shape
    hits = G.hits(played)
    assert (played[..., G.VELOCITIES][~hits] == 0).all()  # zeroed where no hit
    again = perform(model, beat.groove, 0.0)
    np.testing.assert_array_equal(played, again)  # temperature 0 is deterministic


def test_humanize_writes_midi_picture_and_keeps_the_tempo(humanize_run, tmp_path, capsys):
    beat = beat_file(tmp_path / "beat.mid", tempo=87.0, bars=3)
    assert cli("humanize", "--checkpoint", humanize_run / "checkpoints" / "best.pt",
               "--input", beat, "--out", tmp_path / "out") == 0
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["beat_humanized.mid", "beat_humanized.png", "beat_input.mid"]
    out = pretty_midi.PrettyMIDI(str(tmp_path / "out" / "beat_humanized.mid"))
    assert out.get_tempo_changes()[1][0] == pytest.approx(87.0, abs=0.01)
    assert out.instruments[0].is_drum
    back = pretty_midi.PrettyMIDI(str(tmp_path / "out" / "beat_input.mid")).instruments[0].notes
    assert len(back) == 3 * (8 + 2 + 2)  # what was read, written back
    assert "3 bars at 87 bpm" in capsys.readouterr().out


def test_drumify_reads_the_taps_of_any_track(humanize_run, tmp_path):
    midi = pretty_midi.PrettyMIDI(initial_tempo=120)
    piano = pretty_midi.Instrument(0, name="taps")
    piano.notes = [pretty_midi.Note(70 + k % 3, 60, k * 0.25 + 0.01 * (k % 2), k * 0.25 + 0.1)
                   for k in range(16)]
    midi.instruments.append(piano)
    midi.write(str(tmp_path / "taps.mid"))
    beat = read_beat(tmp_path / "taps.mid", taps=True)
    assert beat.track == "track 0 (taps)" and beat.hits == 16
    assert G.hits(beat.groove)[:, G.TAP_CLASS].sum() == 16
    assert cli("drumify", "--checkpoint", humanize_run / "checkpoints" / "best.pt",
               "--input", tmp_path / "taps.mid", "--out", tmp_path / "d", "--seed", 3) == 0
    assert (tmp_path / "d" / "taps_drumified.mid").exists()


def test_bad_input_is_one_line_and_writes_nothing(humanize_run, tmp_path, capsys):
    checkpoint = humanize_run / "checkpoints" / "best.pt"
    empty = pretty_midi.PrettyMIDI()
    empty.instruments.append(pretty_midi.Instrument(0, is_drum=True))
    empty.write(str(tmp_path / "empty.mid"))
    melody = pretty_midi.PrettyMIDI()
    piano = pretty_midi.Instrument(0, name="lead")
    piano.notes = [pretty_midi.Note(80, 60 + k, k * 0.5, k * 0.5 + 0.4) for k in range(8)]
    melody.instruments.append(piano)
    melody.write(str(tmp_path / "melody.mid"))
    changing = pretty_midi.PrettyMIDI(str(beat_file(tmp_path / "c.mid", bars=4)))
    changing._tick_scales.append((changing.time_to_tick(2.0), 60 / (140 * changing.resolution)))
    changing._update_tick_to_time(changing._tick_scales[-1][0] + 1)
    changing.write(str(tmp_path / "changing.mid"))
    waltz = pretty_midi.PrettyMIDI(str(beat_file(tmp_path / "w.mid")))
    waltz.time_signature_changes = [pretty_midi.TimeSignature(3, 4, 0.0)]
    waltz.write(str(tmp_path / "waltz.mid"))
    for name in ("empty", "melody", "changing", "waltz"):
        assert cli("humanize", "--checkpoint", checkpoint, "--input", tmp_path / f"{name}.mid",
                   "--out", tmp_path / f"out-{name}") == 1
        assert not (tmp_path / f"out-{name}").exists()
    assert cli("humanize", "--checkpoint", "folk-mel-2bar", "--input", tmp_path / "w.mid",
               "--out", tmp_path / "out-folk") == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 5, lines
    assert lines[0].endswith("empty.mid: no notes")
    assert "melody.mid: no track on the drum channel" in lines[1] and "0 (lead)" in lines[1]
    assert "the tempo changes at 2.00 s (100 -> 140 bpm)" in lines[2]
    assert "a 3/4 beat" in lines[3]
    assert "a melody model; humanize needs a GrooVAE model" in lines[4]


def test_a_hierarchical_tap_model_trains(groove, tmp_path):
    inner = groove_model()["seq_decoder_args"]["params"]
    config = tiny_config(groove / "train", groove / "validation", representation="groove",
                         tapify=True, fixed_velocities=True, num_steps=4, evaluate_interval=4,
                         advanced_interval=4, slice_bar=2, z_size=16,
                         encoder_params={"embed_size": 27, "hidden_size": 24, "n_layers": 1},
                         seq_decoder_args={"key": "hier", "params": {
                             "z_size": 16, "n_subsequences": 2,
                             "conductor_args": {"key": "conductor", "params": {
                                 "hidden_size": 24, "c_size": 16, "n_layers": 1}},
                             "seq_decoder_args": {"key": "greedy", "params": inner}}})
    result = run_train(write_config(tmp_path, "hier.json", config), tmp_path / "runs")
    assert result.returncode == 0, result.stderr[-2000:]
    model = MusicVAE.load(tmp_path / "runs" / "1" / "checkpoints" / "last.pt")
    assert model.data_settings.tapify and model.data_settings.fixed_velocities
    assert model.decode(torch.zeros(3, 16), 32, temperature=1.0).shape == (3, 32, 27)
