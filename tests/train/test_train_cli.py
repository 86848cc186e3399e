"""The spec's command, run for real in a subprocess on a tiny config and a slice of the corpus."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pretty_midi
import pytest
import torch
from midi_files import tiny_model_config

from symusic.musicvae.model import MusicVAE

REPO = Path(__file__).resolve().parents[2]


def tiny_config(train_dir: Path, eval_dir: Path, **overrides) -> dict:
    """A flat 2-bar model small enough to train a few dozen steps in seconds."""
    config = {
        "batch_size": 8, "num_workers": 0,
        "train_dir": str(train_dir), "eval_dir": str(eval_dir),
        "slice_bar": 2, "ckpt_path": None, **tiny_model_config(),
        "num_steps": 20, "learning_rate": 3e-3, "lr_scheduler_factor": 0.5,
        "lr_scheduler_patience": 2,
        "sampling_settings": {"schedule": "inverse_sigmoid", "rate": 10},
        "beta_settings": {"start_beta": 0.0, "end_beta": 0.2, "duration": 20},
        "free_bits": 4, "evaluate_interval": 10, "advanced_interval": 10, "print_interval": 5,
        "eval_max_windows": 32, "num_advanced_samples": 2, "seed": 1234,
        "precision": "fp32",  # the same figures on every CPU (auto picks bf16 on some)
    }
    config.update(overrides)
    return config


def write_config(tmp_path: Path, name: str, config: dict) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(config))
    return path


def run_train(config_path: Path, runs: Path, *extra: str, timeout: int = 300):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    return subprocess.run(
        [sys.executable, "-m", "symusic.musicvae.train", "with", str(config_path), *extra,
         "-F", str(runs)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
    )


def metric(run_dir: Path, name: str) -> dict[int, float]:
    entry = json.loads((run_dir / "metrics.json").read_text())[name]
    return dict(zip(entry["steps"], entry["values"], strict=True))


@pytest.fixture(scope="module")
def trained_run(folk_dirs, tmp_path_factory):
    """One uninterrupted 20-step run, shared by the tests that read its run folder."""
    tmp = tmp_path_factory.mktemp("train")
    train_dir, eval_dir = folk_dirs.train, folk_dirs.eval
    config_path = write_config(tmp, "tiny.json", tiny_config(train_dir, eval_dir))
    result = run_train(config_path, tmp / "runs")
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp / "runs" / "1", result, tmp


def test_cli_writes_a_complete_run_folder(trained_run):
    run_dir, result, _ = trained_run
    for name in ("config.json", "run.json", "metrics.json", "cout.txt"):
        assert (run_dir / name).is_file(), name
    assert json.loads((run_dir / "run.json").read_text())["status"] == "COMPLETED"
    assert sorted(metric(run_dir, "train.loss")) == [5, 10, 15, 20]
    assert sorted(metric(run_dir, "eval.teacher_forced_accuracy")) == [10, 20]
    assert 0.0 <= metric(run_dir, "eval.sampled_accuracy")[20] <= 1.0
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    # The start-up line says what the run trains on.
    assert "train:" in result.stdout and "windows of 2 bars" in result.stdout


def test_checkpoints_rebuild_the_model(trained_run):
    run_dir, _, _ = trained_run
    for name in ("last.pt", "best.pt"):
        model = MusicVAE.load(run_dir / "checkpoints" / name)
        assert model.config.seq_len == 32
    state = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
    assert state["training"]["step"] == 20


def test_samples_are_artifacts_that_parse_as_midi(trained_run):
    run_dir, _, _ = trained_run
    artifacts = json.loads((run_dir / "run.json").read_text())["artifacts"]
    midis = [name for name in artifacts if name.endswith(".mid")]
    assert {"step0000010_prior.mid", "step0000020_interpolation.mid"} <= set(midis)
    assert any(name.endswith(".png") for name in artifacts)
    for name in midis:  # every one is a valid MIDI file
        pretty_midi.PrettyMIDI(str(run_dir / name))
    # The reconstruction file starts with the original eval windows, which hold notes.
    midi = pretty_midi.PrettyMIDI(str(run_dir / "step0000020_reconstruction.mid"))
    assert midi.instruments and midi.instruments[0].notes


def test_resume_continues_the_same_loss_curve(trained_run, folk_dirs):
    run_dir, _, tmp = trained_run
    train_dir, eval_dir = folk_dirs.train, folk_dirs.eval
    first_half = write_config(tmp, "half.json", tiny_config(train_dir, eval_dir, num_steps=10))
    assert run_train(first_half, tmp / "resume").returncode == 0
    checkpoint = tmp / "resume" / "1" / "checkpoints" / "last.pt"
    resumed = run_train(first_half, tmp / "resume", f"ckpt_path={checkpoint}", "num_steps=20")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from" in resumed.stdout and "at step 10" in resumed.stdout
    continued = metric(tmp / "resume" / "2", "train.loss")
    assert sorted(continued) == [15, 20]  # it continues at the next step, not from 0
    uninterrupted = metric(run_dir, "train.loss")
    for step in (15, 20):
        assert continued[step] == uninterrupted[step]  # exactly: same data, RNG and state


def test_a_wrong_config_key_stops_at_start_with_its_name(folk_dirs, tmp_path):
    config = tiny_config(folk_dirs.train, folk_dirs.eval)
    config["batch_szie"] = config.pop("batch_size")
    result = run_train(write_config(tmp_path, "bad.json", config), tmp_path / "runs")
    assert result.returncode != 0
    assert "batch_szie: unknown key; allowed keys are" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "runs" / "1" / "checkpoints").exists()


def test_a_runs_folder_under_a_file_is_one_line_before_any_work(folk_dirs, tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    config = write_config(tmp_path, "ok.json", tiny_config(folk_dirs.train, folk_dirs.eval))
    result = run_train(config, tmp_path / "a_file" / "runs")
    assert result.returncode != 0
    assert "-F " in result.stderr and "is not a writable folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_empty_train_folder_is_a_clear_error(folk_dirs, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    config = tiny_config(empty, folk_dirs.eval)
    result = run_train(write_config(tmp_path, "empty.json", config), tmp_path / "runs")
    assert result.returncode != 0
    assert str(empty) in result.stderr
    assert "Traceback" not in result.stderr


def start_train(config_path: Path, runs: Path) -> subprocess.Popen:
    """The command line in a process group of its own (as a terminal runs it), its stderr in
    its stdout."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    return subprocess.Popen(
        [sys.executable, "-m", "symusic.musicvae.train", "with", str(config_path), "-F",
         str(runs)], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )


def read_until(process: subprocess.Popen, prefix: str) -> str:
    seen = []
    for line in process.stdout:
        seen.append(line)
        if line.startswith(prefix):
            return "".join(seen)
    raise AssertionError("".join(seen)[-3000:])


@pytest.mark.slow
def test_sigterm_twice_saves_a_checkpoint_and_marks_the_run_interrupted(folk_dirs, tmp_path):
    config = tiny_config(folk_dirs.train, folk_dirs.eval, num_steps=100000,
                         evaluate_interval=100000, advanced_interval=100000, print_interval=1)
    process = start_train(write_config(tmp_path, "long.json", config), tmp_path / "runs")
    read_until(process, "step")  # it trains
    process.send_signal(signal.SIGTERM)
    time.sleep(0.1)
    process.send_signal(signal.SIGTERM)  # a second one a moment later: the same request
    output = process.communicate(timeout=120)[0]
    assert process.returncode == 128 + signal.SIGTERM, output[-3000:]
    assert "stopped by signal 15 at step" in output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output
    run_dir = tmp_path / "runs" / "1"
    assert json.loads((run_dir / "run.json").read_text())["status"] == "INTERRUPTED"
    state = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
    assert state["training"]["step"] >= 1
    info = json.loads((run_dir / "info.json").read_text())
    assert info["checkpoint"] == str(run_dir / "checkpoints" / "last.pt")  # no best.pt yet


def children(pid: int) -> dict[int, str]:
    """The processes whose parent is ``pid``: pid -> command name."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if int(text[text.rindex(")") + 2:].split()[1]) == pid:
            found[int(stat.parent.name)] = text[text.index("(") + 1:text.rindex(")")]
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_sigterm_to_the_process_group_during_evaluation_stops_cleanly(folk_dirs, tmp_path):
    """What Ctrl-C or ``kill -- -PGID`` does: every process of the group gets the signal, the
    DataLoader workers included."""
    config = tiny_config(folk_dirs.train, folk_dirs.eval, num_workers=2, num_steps=100000,
                         evaluate_interval=4, eval_max_windows=256, advanced_interval=100000,
                         print_interval=4)
    process = start_train(write_config(tmp_path, "group.json", config), tmp_path / "runs")
    read_until(process, "step       4")  # the evaluation of step 4 starts now
    os.killpg(process.pid, signal.SIGTERM)
    output = process.communicate(timeout=120)[0]
    assert process.returncode == 128 + signal.SIGTERM, output[-3000:]
    assert "Traceback" not in output and "killed by signal" not in output, output[-3000:]
    # On a quiet machine the short evaluation may end before the signal lands: then the run
    # stops after the next step. Either way it stops cleanly with that step's checkpoint.
    stopped = re.search(r"stopped by signal 15 at step (\d+)", output)
    assert stopped and int(stopped.group(1)) in (4, 5), output[-3000:]
    run_dir = tmp_path / "runs" / "1"
    assert json.loads((run_dir / "run.json").read_text())["status"] == "INTERRUPTED"
    assert torch.load(run_dir / "checkpoints" / "last.pt",
                      weights_only=True)["training"]["step"] == int(stopped.group(1))


def test_resuming_a_finished_run_says_so_in_one_line(trained_run):
    run_dir, _, tmp = trained_run
    last = run_dir / "checkpoints" / "last.pt"  # at step 20 = num_steps
    result = run_train(tmp / "tiny.json", tmp / "again", f"ckpt_path={last}")
    assert result.returncode == 2, result.stderr[-3000:]
    assert (f"config error: num_steps: the checkpoint {last} is already at step 20, and "
            "num_steps is 20: nothing to train") in result.stderr
    assert "Traceback" not in result.stderr
    info_path = tmp / "again" / "1" / "info.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    assert "checkpoint" not in info


def test_runs_without_a_file_observer_never_share_a_folder(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from symusic.musicvae.training import experiment as train

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(train.time, "strftime", lambda _format: "20260101-120000")
    unobserved = SimpleNamespace(observers=[])
    folders = {train._run_dir(unobserved) for _ in range(3)}
    assert len(folders) == 3
    for folder in folders:
        assert folder.is_dir() and folder.parent == Path("runs")
        assert folder.name.startswith(f"unobserved-20260101-120000-{os.getpid()}-")


@pytest.mark.slow
def test_torchrun_trains_with_two_gloo_processes(folk_dirs, tmp_path):
    path = write_config(tmp_path, "ddp.json", tiny_config(folk_dirs.train, folk_dirs.eval))
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    torchrun = Path(sys.executable).with_name("torchrun")
    result = subprocess.run(
        [str(torchrun), "--standalone", "--nproc_per_node=2", "-m", "symusic.musicvae.train",
         "with", str(path), "-F", str(tmp_path / "runs")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run_folders = [p.name for p in (tmp_path / "runs").iterdir() if p.name.isdigit()]
    assert run_folders == ["1"]  # only rank 0 writes a run folder
    run_dir = tmp_path / "runs" / "1"
    assert "2 process(es)" in (run_dir / "cout.txt").read_text()
    assert sorted(metric(run_dir, "train.loss")) == [5, 10, 15, 20]
    state = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
    assert state["training"]["step"] == 20


def test_a_device_that_is_not_here_is_a_config_error(folk_dirs, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    config = tiny_config(folk_dirs.train, folk_dirs.eval, device="cuda")
    result = run_train(write_config(tmp_path, "cuda.json", config), tmp_path / "runs")
    assert result.returncode == 2
    assert "device: 'cuda' asked for, but CUDA is not available" in result.stderr
    assert "Traceback" not in result.stderr


def test_periodic_samples_report_their_notes_per_bar(trained_run):
    """Token accuracy hides a model that holds long notes; the samples' density shows it."""
    run_dir, result, _ = trained_run
    prior = metric(run_dir, "samples.prior_notes_per_bar")
    data = metric(run_dir, "samples.data_notes_per_bar")
    assert sorted(prior) == sorted(data) == [10, 20]
    assert all(0.0 <= value <= 16.0 for value in prior.values())
    # the data's density is over every eval window, not over the first batch (8)
    from symusic.musicvae.evaluation import load_data_windows
    from symusic.musicvae.tools.metrics import note_densities

    config = json.loads((run_dir / "config.json").read_text())
    windows, _ = load_data_windows(config["eval_dir"], 32, max_windows=32,
                                   extraction=config.get("extraction", "magenta"))
    assert len(windows) > 8
    assert data[10] == data[20] == pytest.approx(float(note_densities(windows).mean()))
    assert data[20] != pytest.approx(float(note_densities(windows[:8]).mean()))
    assert "prior samples" in result.stdout and "notes per bar" in result.stdout
