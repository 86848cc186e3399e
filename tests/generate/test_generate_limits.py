"""Bounds and early checks of ``symusic`` and ``evaluate``: output paths, sizes, temperatures,
tempi, seeds and diverged checkpoints are one line on stderr, before any model work."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from midi_files import instrument, scale_walk, write_midi

from symusic.musicvae import inference
from symusic.musicvae.tools import cli, evaluate, generate


def one_line_error(capsys, code: int, *needles: str) -> str:
    err = capsys.readouterr().err
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "error:" in lines[0] and "Traceback" not in err, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture
def no_model_work(monkeypatch):
    """Fail the test if a command gets as far as loading its model."""
    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded before the arguments were checked")

    monkeypatch.setattr(inference, "load_model", refuse)  # TrainedModel.load's
    monkeypatch.setattr(evaluate, "load_model", refuse)


def gen(*argv) -> int:
    return generate.main([*map(str, argv), "--device", "cpu"])


def ev(checkpoint, data, *argv) -> int:
    return evaluate.main(["--checkpoint", str(checkpoint), "--data", str(data),
                          *map(str, argv), "--device", "cpu"])


@pytest.mark.parametrize("case", ["out is a file", "out under a file", "npy is a folder",
                                  "npy under a file", "index is a folder", "json is a folder",
                                  "json under a file", "folder not writable"])
def test_output_paths_are_checked_before_model_work(case, tiny_model_path, midi_dir, tmp_path,
                                                    monkeypatch, capsys, no_model_work):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    (tmp_path / "z.npy").mkdir()
    (tmp_path / "y.index.csv").mkdir()
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(cli.os, "access", lambda p, mode: Path(p) != locked
                        and real_access(p, mode))  # root may write anywhere: pretend
    ckpt = tiny_model_path
    sample = ("sample", "--checkpoint", ckpt, "--out")
    encode = ("encode", "--checkpoint", ckpt, "--input", midi_dir, "--out")
    command, needle = {
        "out is a file": (lambda: gen(*sample, a_file), "is a file; it must be a folder"),
        "out under a file": (lambda: gen(*sample, a_file / "sub"), "is a file, not a folder"),
        "npy is a folder": (lambda: gen(*encode, tmp_path / "z.npy"), "is a folder"),
        "npy under a file": (lambda: gen(*encode, a_file / "z.npy"), "is a file, not a folder"),
        "index is a folder": (lambda: gen(*encode, tmp_path / "y"), "y.index.csv is a folder"),
        "json is a folder": (lambda: ev(ckpt, midi_dir, "--json", tmp_path / "z.npy"),
                             "is a folder; it must be a file name"),
        "json under a file": (lambda: ev(ckpt, midi_dir, "--json", a_file / "r.json"),
                              "is a file, not a folder"),
        "folder not writable": (lambda: gen(*sample, locked / "new"), "cannot write in"),
    }[case]
    one_line_error(capsys, command(), needle)


def test_an_os_error_while_writing_is_one_line(tiny_model_path, tmp_path, monkeypatch, capsys):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "s" / "sample_1.mid"))

    monkeypatch.setattr(generate, "write_melodies_with_roll", full)
    code = gen("sample", "--checkpoint", tiny_model_path, "--num", 1, "--out", tmp_path / "s")
    one_line_error(capsys, code, "No space left on device", "sample_1.mid")


@pytest.mark.parametrize("argv, needle", [
    (["sample", "--temperature", "nan"], "--temperature must be 0"),
    (["sample", "--temperature", "inf"], "--temperature must be 0"),
    (["sample", "--tempo", "inf"], "--tempo must be 4 to 1000 BPM"),
    (["sample", "--tempo", "1e-300"], "--tempo must be 4 to 1000 BPM"),
    (["sample", "--seed", str(2**64)], "--seed must be 0 to 2**64 - 1"),
    (["sample", "--num", str(10**9)], "--num must be 1 to 1000"),
    (["interpolate", "--start", "a.mid", "--end", "b.mid", "--steps", str(10**6)],
     "--steps must be 2 to 1000"),
])
def test_generate_refuses_before_model_work(argv, needle, tiny_model_path, tmp_path, capsys,
                                             no_model_work):
    code = gen(argv[0], "--checkpoint", tiny_model_path, "--out", tmp_path / "o", *argv[1:])
    one_line_error(capsys, code, needle)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("argv, needle", [
    (["--temperature", "nan"], "--temperature must be 0"),
    (["--temperature", "-1"], "--temperature must be 0"),
    (["--max-windows", "1"], "--max-windows must be 2 or more"),
    (["--num-samples", str(10**9)], "--num-samples must be 1 to 100000"),
    (["--seed", "-1"], "--seed must be 0"),
])
def test_evaluate_refuses_before_model_work(argv, needle, tiny_model_path, midi_dir, capsys,
                                            no_model_work):
    one_line_error(capsys, ev(tiny_model_path, midi_dir, *argv), needle)


def test_the_limits_are_in_the_help():
    parser = generate.build_parser()
    sub = parser._subparsers._group_actions[0].choices  # noqa: SLF001 (argparse has no API)
    assert "at most 1000" in sub["sample"].format_help()
    assert "at most 1000" in sub["interpolate"].format_help()
    assert "4 to 1000" in sub["sample"].format_help()
    assert "2 or more" in evaluate.build_parser().format_help()


def test_evaluate_needs_two_windows(tiny_model_path, tmp_path, capsys):
    write_midi(tmp_path / "one" / "two_bars.mid", instrument(scale_walk(0, 2)))
    code = ev(tiny_model_path, tmp_path / "one", "--num-samples", 2)
    one_line_error(capsys, code, "only one window of 2 bars")


def test_a_diverged_checkpoint_is_one_line(tiny_model, tmp_path, midi_dir, capsys):
    from symusic.musicvae.model import MusicVAE

    state = tiny_model.to_state()
    weights = state["state_dict"]
    name = next(k for k, v in weights.items() if v.is_floating_point())
    weights[name] = torch.full_like(weights[name], float("nan"))
    path = tmp_path / "diverged.pt"
    torch.save(state, path)
    assert MusicVAE.load(path) is not None  # the file itself reads
    code = gen("sample", "--checkpoint", path, "--out", tmp_path / "s")
    one_line_error(capsys, code, "diverged.pt", "1 of", "NaN or infinity")
    one_line_error(capsys, ev(path, midi_dir), "diverged.pt", "NaN or infinity")
    assert not (tmp_path / "s").exists()


def test_interpolate_without_bar_takes_the_first_window(tiny_model_path, midi_dir, tmp_path,
                                                        capsys):
    """A file whose melody starts after two bars of rest has no window at bar 0."""
    late = [(p, s + 32, e + 32) for p, s, e in scale_walk(7, 3)]
    rest_first = write_midi(tmp_path / "rest_first.mid", instrument(late))
    out = tmp_path / "i"
    assert gen("interpolate", "--checkpoint", tiny_model_path, "--start", midi_dir / "tune0.mid",
               "--end", rest_first, "--steps", 3, "--out", out) == 0
    printed = capsys.readouterr().out
    assert "start: " in printed and "bar 0 (its first window" in printed
    assert "bar 2 (its first window; --bar picks another)" in printed
    assert (out / "interpolation.mid").is_file()
    code = gen("interpolate", "--checkpoint", tiny_model_path, "--start", midi_dir / "tune0.mid",
               "--end", rest_first, "--bar", 0, "--out", tmp_path / "j")
    assert code == 1 and "possible --bar values: 2, 3" in capsys.readouterr().err


def test_a_tiny_positive_temperature_samples_as_argmax(tiny_model_path, midi_dir, tmp_path):
    """--temperature 1e-40 was a traceback (NaN probabilities); now it is nearly argmax."""
    for argv in (["sample", "--num", "2"],
                 ["reconstruct", "--input", midi_dir / "tune0.mid"]):
        code = generate.main([*map(str, argv), "--checkpoint", str(tiny_model_path),
                              "--temperature", "1e-40", "--out", str(tmp_path / argv[0]),
                              "--device", "cpu"])
        assert code == 0
    assert evaluate.main(["--checkpoint", str(tiny_model_path), "--data", str(midi_dir),
                          "--temperature", "1e-40", "--num-samples", "4", "--interp-pairs", "1",
                          "--interp-steps", "2", "--device", "cpu"]) == 0
