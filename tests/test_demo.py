"""``make demo`` (``python -m symusic.demo``): every phase announced with its time, the
melodies written (and heard, when FluidSynth is installed), and a one-line error otherwise."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import wave

import pretty_midi
import pytest
from train.test_train_cli import tiny_config, write_config

from symusic import demo
from symusic.musicvae.tools.render import audio_problem


@pytest.fixture(scope="module")
def demo_run(folk_dirs, tmp_path_factory):
    """The demo on the test corpus with a tiny model: (exit code, stdout, stderr, runs)."""
    tmp = tmp_path_factory.mktemp("demo")
    config = write_config(tmp, "tiny.json", tiny_config(
        folk_dirs.train, folk_dirs.eval, num_steps=20, evaluate_interval=20,
        advanced_interval=1000, print_interval=10))
    result = subprocess.run(
        [sys.executable, "-m", "symusic.demo", "--runs", str(tmp / "runs"),
         "--config", str(config), "--corpus", str(folk_dirs.root), "--limit", "40"],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"})
    return result.returncode, result.stdout, result.stderr, tmp / "runs"


def test_demo_announces_each_phase_with_its_time(demo_run):
    code, out, err, _ = demo_run
    assert code == 0, err[-3000:]
    phases = re.findall(r"^== \[(\d)/(\d)\] (\w+): (.+) \((.+)\) ==$", out, flags=re.M)
    assert [(p[0], p[1], p[2]) for p in phases] == [
        ("1", "3", "corpus"), ("2", "3", "training"), ("3", "3", "samples")]
    assert "for 20 steps" in phases[1][4]  # the estimate follows the config's num_steps
    took = re.findall(r"^   (\w+) took (\d+) s$", out, flags=re.M)
    assert [name for name, _ in took] == ["corpus", "training", "samples"]
    assert "step      20 |" in out  # the training's own lines come through
    assert "it/s" not in out and "step/s" not in out  # no bars in a captured (non-terminal) run


def test_demo_writes_melodies_pictures_and_sound(demo_run):
    code, out, _, runs = demo_run
    folder = runs / "1" / "demo"
    samples = pretty_midi.PrettyMIDI(str(folder / "samples.mid"))
    assert samples.get_end_time() > 8 * 2 * 2 * 0.9  # 8 two-bar melodies at 120 bpm, ~32 s
    interpolation = pretty_midi.PrettyMIDI(str(folder / "interpolation.mid"))
    assert interpolation.get_end_time() > 9 * 2 * 2 * 0.5  # 9 steps, the ends hold notes
    for name in ("samples.png", "interpolation.png"):
        assert (folder / name).stat().st_size > 5000, name
    problem = audio_problem()
    if problem is None:
        for stem in ("samples", "interpolation"):
            with wave.open(str(folder / f"{stem}.wav")) as sound:
                assert sound.getnframes() / sound.getframerate() > 10
            assert f"listen:      {folder / stem}.wav" in out
    else:
        assert "no WAV files:" in out
    assert f"python -m symusic.studio {runs / '1' / 'checkpoints' / 'best.pt'}" in out
    assert "symusic sample --checkpoint folk-mel-2bar" in out


def test_demo_stops_with_one_line_when_training_fails(tmp_path, capfd, folk_dirs):
    config = write_config(tmp_path, "bad.json", tiny_config(tmp_path / "missing", folk_dirs.eval))
    code = demo.main(["--runs", str(tmp_path / "runs"), "--config", str(config),
                      "--corpus", str(folk_dirs.root), "--limit", "40"])
    assert code == 1
    err = capfd.readouterr().err
    assert err.strip().splitlines()[-1].startswith("demo: error: ")
    assert "Traceback" not in err


@pytest.mark.parametrize("args", [["--limit", "0"], ["--num-samples", "-1"]])
def test_demo_refuses_counts_below_one(args, capsys):
    assert demo.main(args) == 2
    assert "must be 1 or more" in capsys.readouterr().err


def test_busy_cores_train_on_one_thread(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    env, note = demo.training_environment()
    assert env["OMP_NUM_THREADS"] == "1" and "busy (load 9.0)" in note
    monkeypatch.setattr(os, "getloadavg", lambda: (0.5, 0.4, 0.3))
    env, note = demo.training_environment()
    assert "OMP_NUM_THREADS" not in env and note is None
    monkeypatch.setattr(os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # the user's choice stands
    assert demo.training_environment() == ({**os.environ}, None)
