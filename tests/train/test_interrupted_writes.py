"""Checkpoint writes that cannot finish: a full disk, a read-only run folder, and two resumed
trainings writing into one ``-F`` folder at once.

Root runs these tests and ignores file permissions, and no tmpfs can be mounted, so a full
disk and a read-only folder are fault-injected (``tests/write_faults.py``): the write calls
themselves fail with ``ENOSPC`` or ``EROFS``, as they do on a real full or read-only disk.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from write_faults import WRITES_FAIL_SCRIPT, disk_full_after

from symusic.musicvae.model import MusicVAE
from symusic.musicvae.training.checkpoint import atomic_torch_save

from .test_train_cli import REPO, run_train, tiny_config, write_config

ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")

# Runs the training command with every checkpoint write after the first two (last.pt and
# best.pt at the first evaluation) failing on a full disk midway through the file.
TESTS = str(Path(__file__).resolve().parents[1])
DISK_FILLS_SCRIPT = f"""
import runpy, sys
sys.path.insert(0, {TESTS!r})
from write_faults import disk_full_after
from symusic.musicvae.training import checkpoint

real_save, saves = checkpoint.atomic_torch_save, []

def save_until_the_disk_is_full(obj, path):
    saves.append(path)
    if len(saves) <= 2:
        return real_save(obj, path)
    with disk_full_after(4096):
        return real_save(obj, path)

checkpoint.atomic_torch_save = save_until_the_disk_is_full
sys.argv = ["symusic.musicvae.train", *sys.argv[1:]]
runpy.run_module("symusic.musicvae.train", run_name="__main__", alter_sys=True)
"""


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_a_full_disk_never_replaces_a_checkpoint_with_part_of_one(tmp_path):
    path = tmp_path / "last.pt"
    atomic_torch_save({"weights": torch.arange(10_000.0)}, path)
    before = path.read_bytes()
    with disk_full_after(2000) as failed, pytest.raises(OSError) as raised:
        atomic_torch_save({"weights": torch.zeros(50_000)}, path)
    assert failed and raised.value.errno == 28  # ENOSPC, midway through the file
    assert path.read_bytes() == before  # the previous checkpoint, whole
    assert temporaries(tmp_path) == []  # and no part of the new one
    assert torch.equal(torch.load(path, weights_only=True)["weights"], torch.arange(10_000.0))


def test_a_training_whose_disk_fills_stops_in_one_line_keeping_its_checkpoint(folk_dirs,
                                                                              tmp_path):
    config = tiny_config(folk_dirs.train, folk_dirs.eval, num_steps=4, evaluate_interval=2,
                         advanced_interval=1000, eval_max_windows=8)
    config_path = write_config(tmp_path, "tiny.json", config)
    result = subprocess.run(
        [sys.executable, "-c", DISK_FILLS_SCRIPT, "with", str(config_path), "-F",
         str(tmp_path / "runs")], cwd=REPO, env=ENV, capture_output=True, text=True,
        timeout=300)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "No space left on device" in errors[0], result.stderr[-3000:]
    assert "last.pt" in errors[0]
    checkpoints = tmp_path / "runs" / "1" / "checkpoints"
    assert temporaries(checkpoints) == []
    state = torch.load(checkpoints / "last.pt", weights_only=True)
    assert state["training"]["step"] == 2  # the last good one, whole
    MusicVAE.load(checkpoints / "last.pt")


def test_a_read_only_runs_folder_is_refused_in_one_line(folk_dirs, tmp_path):
    """``-F`` on a folder where every write fails (``EROFS``, fault-injected: root ignores
    permissions) stops at once in one line naming the folder, before any data is read."""
    runs = tmp_path / "runs"
    runs.mkdir()
    config_path = write_config(tmp_path, "tiny.json",
                               tiny_config(folk_dirs.train, folk_dirs.eval))
    result = subprocess.run(
        [sys.executable, "-c", WRITES_FAIL_SCRIPT, str(runs), "symusic.musicvae.train", "with",
         str(config_path), "-F", str(runs)], cwd=REPO, env=ENV, capture_output=True,
        text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(runs) in lines[0] and "Read-only" in lines[0], lines
    assert list(runs.iterdir()) == []


def test_a_read_only_unobserved_runs_folder_is_refused_in_one_line(folk_dirs, tmp_path):
    """Without ``-F`` a run writes under ``runs/`` of the working folder: read-only there
    (fault-injected) is one line too."""
    config_path = write_config(tmp_path, "tiny.json",
                               tiny_config(folk_dirs.train, folk_dirs.eval, num_steps=2))
    script = WRITES_FAIL_SCRIPT.replace("import runpy, sys", "import os, runpy, sys\n"
                                        f"os.chdir({str(tmp_path)!r})")
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "runs"), "symusic.musicvae.train",
         "with", str(config_path)], cwd=REPO, env=ENV, capture_output=True, text=True,
        timeout=300)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if "runs" in line]
    assert len(errors) == 1 and "Read-only" in errors[0], result.stderr[-3000:]


@pytest.mark.slow
def test_two_trainings_resumed_from_one_checkpoint_into_one_folder(folk_dirs, tmp_path):
    """Each gets a run id of its own and a whole checkpoint; the source is left untouched."""
    config_path = write_config(tmp_path, "tiny.json",
                               tiny_config(folk_dirs.train, folk_dirs.eval, num_steps=10,
                                           advanced_interval=1000))
    first = run_train(config_path, tmp_path / "source")
    assert first.returncode == 0, first.stderr[-3000:]
    source = tmp_path / "source" / "1" / "checkpoints" / "last.pt"
    source_bytes = source.read_bytes()
    runs = tmp_path / "runs"
    processes = [subprocess.Popen(
        [sys.executable, "-m", "symusic.musicvae.train", "with", str(config_path),
         f"ckpt_path={source}", "num_steps=20", "-F", str(runs)], cwd=REPO, env=ENV,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [process.communicate(timeout=300) for process in processes]
    for process, (stdout, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr[-3000:]
        assert "at step 10" in stdout
    assert sorted(p.name for p in runs.iterdir()) == ["1", "2", "_sources"]
    losses = []
    for run_id in ("1", "2"):
        run_dir = runs / run_id
        assert json.loads((run_dir / "run.json").read_text())["status"] == "COMPLETED"
        assert json.loads((run_dir / "config.json").read_text())["ckpt_path"] == str(source)
        state = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
        assert state["training"]["step"] == 20
        assert temporaries(run_dir / "checkpoints") == []
        loss = json.loads((run_dir / "metrics.json").read_text())["train.loss"]
        losses.append((loss["steps"], loss["values"]))
    assert losses[0] == losses[1]  # the same start, data and seed: the same curve, exactly
    assert source.read_bytes() == source_bytes
