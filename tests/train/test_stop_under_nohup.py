"""SIGTERM to a training started as ``nohup ... > log 2>&1 &`` runs it: output to a file,
loader workers running. It stops, saves and leaves without Sacred's two ``tee_stdout.wait
timeout`` warnings (its tee waited for the pipe that the workers still held)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from .test_train_cli import REPO, tiny_config, write_config


@pytest.mark.slow
def test_sigterm_with_output_in_a_file_stops_without_tee_warnings(folk_dirs, tmp_path):
    config = tiny_config(folk_dirs.train, folk_dirs.eval, num_workers=2, num_steps=100000,
                         evaluate_interval=100000, advanced_interval=100000, print_interval=1)
    log = tmp_path / "nohup.out"
    env = dict(os.environ, OMP_NUM_THREADS="1")  # warnings shown, as nohup shows them
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "symusic.musicvae.train", "with",
             str(write_config(tmp_path, "c.json", config)), "-F", str(tmp_path / "runs")],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        while "\nstep " not in log.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()[-3000:]
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=120) == 128 + signal.SIGTERM
    finally:
        process.kill()
    output = log.read_text()
    assert "stopped by signal 15 at step" in output, output[-3000:]
    assert "wait timeout" not in output and "Traceback" not in output, output[-3000:]
    run_dir = tmp_path / "runs" / "1"
    assert json.loads((run_dir / "run.json").read_text())["status"] == "INTERRUPTED"
    assert (run_dir / "checkpoints" / "last.pt").is_file()
