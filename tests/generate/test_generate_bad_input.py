"""Bad input gives a one-line error on stderr and a non-zero exit code, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from symusic.musicvae.tools import evaluate, generate

REPO = Path(__file__).resolve().parents[2]


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 1, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "error:" in lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def run_module(module: str, *argv) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", module, *map(str, argv), "--device", "cpu"],
                          capture_output=True, text=True, cwd=REPO, timeout=120, env=env)


def test_too_short_melody_in_a_subprocess(tiny_model_path, bad_inputs, tmp_path):
    script = Path(sys.executable).with_name("symusic")  # the console script, when installed
    argv = ["reconstruct", "--checkpoint", tiny_model_path, "--input", bad_inputs["short"],
            "--out", tmp_path]
    if script.is_file():
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        done = subprocess.run([str(script), *map(str, argv), "--device", "cpu"],
                              capture_output=True, text=True, cwd=REPO, timeout=120, env=env)
    else:
        done = run_module("symusic.musicvae.generate", *argv)
    assert_one_line_error(done.returncode, done.stderr, "short.mid",
                          "no melody of 2 bars or more")


def test_damaged_checkpoint_in_a_subprocess(bad_checkpoints, midi_dir):
    done = run_module("symusic.musicvae.evaluate", "--checkpoint", bad_checkpoints["damaged"],
                      "--data", midi_dir)
    assert_one_line_error(done.returncode, done.stderr, "damaged.pt")


@pytest.mark.parametrize(
    "case",
    ["unreadable midi", "other kind", "damaged", "missing checkpoint", "unreadable start"],
)
def test_generate_bad_input(case, tiny_model_path, bad_inputs, bad_checkpoints, midi_dir,
                            tmp_path, capsys):
    good, out = str(tiny_model_path), str(tmp_path / "out")
    argv, needle = {
        "unreadable midi": (["reconstruct", "--checkpoint", good, "--input",
                             str(bad_inputs["garbage"])], "garbage.mid"),
        "other kind": (["sample", "--checkpoint", str(bad_checkpoints["other"])], "someone.else"),
        "damaged": (["sample", "--checkpoint", str(bad_checkpoints["damaged"])], "damaged.pt"),
        "missing checkpoint": (["sample", "--checkpoint", str(tmp_path / "nope.pt")], "nope.pt"),
        "unreadable start": (["interpolate", "--checkpoint", good, "--start",
                              str(bad_inputs["garbage"]), "--end",
                              str(midi_dir / "tune0.mid")], "garbage.mid"),
    }[case]
    code = generate.main([*argv, "--out", out, "--device", "cpu"])
    assert_one_line_error(code, capsys.readouterr().err, needle)


def test_encode_and_evaluate_without_windows(tiny_model_path, bad_inputs, tmp_path, capsys):
    folder = str(bad_inputs["no_windows"])
    code = generate.main(["encode", "--checkpoint", str(tiny_model_path), "--input", folder,
                          "--out", str(tmp_path / "z.npy"), "--device", "cpu"])
    assert_one_line_error(code, capsys.readouterr().err, "no melody of 2 bars")
    assert not (tmp_path / "z.npy").exists()
    code = evaluate.main(["--checkpoint", str(tiny_model_path), "--data", folder,
                          "--device", "cpu"])
    assert_one_line_error(code, capsys.readouterr().err, "no melody of 2 bars")
    code = evaluate.main(["--checkpoint", str(tiny_model_path), "--data",
                          str(tmp_path / "absent"), "--device", "cpu"])
    assert_one_line_error(code, capsys.readouterr().err, "no such folder")


def test_evaluate_reads_the_programs_it_is_told(tiny_model_path, midi_dir, tmp_path, capsys):
    args = ["--checkpoint", str(tiny_model_path), "--data", str(midi_dir), "--device", "cpu",
            "--num-samples", "4", "--interp-pairs", "1", "--interp-steps", "2"]
    code = evaluate.main([*args, "--programs", "x"])
    assert_one_line_error(code, capsys.readouterr().err, "--programs: 'x' is not a program")
    code = evaluate.main([*args, "--programs", "100-110"])  # the test tunes are pianos
    assert_one_line_error(code, capsys.readouterr().err,
                          "outside the melodic programs 100-110")
    out = tmp_path / "r.json"
    assert evaluate.main([*args, "--programs", "0,100-110", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["programs"] == "0, 100-110" and report["num_windows"] > 0


def test_checkpoint_load_errors_are_one_line_and_never_advise_unsafe_loading(tmp_path):
    """A checkpoint carrying a pickled call, and a plain pickle: one line each, the payload
    never runs, and torch's advice to set weights_only=False is not passed on."""
    import pickle

    import torch

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "evil.pt"
    torch.save({"model_config": {}, "state_dict": {}, "x": Payload()}, evil)
    plain = tmp_path / "plain.pt"
    plain.write_bytes(pickle.dumps({"a": Payload()}, protocol=4))
    for path, needle in ((evil, "GLOBAL posix.system"), (plain, "plain.pt")):
        done = run_module("symusic.musicvae.generate", "sample", "--checkpoint", path,
                          "--out", tmp_path / "out")
        assert_one_line_error(done.returncode, done.stderr, str(path), needle,
                              "safe (weights-only) load refuses")
        assert "weights_only" not in done.stderr
    assert not marker.exists()
