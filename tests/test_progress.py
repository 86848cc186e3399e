"""Progress bars: live on a terminal, above them whole printed lines, nothing in logs."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from sacred.utils import apply_backspaces_and_linefeeds

from symusic import progress

REPO = Path(__file__).resolve().parents[1]


def fake_out(loss: float = 12.5, accuracy: float = 0.75, note_accuracy: float = 0.5):
    return SimpleNamespace(loss=torch.tensor(loss), accuracy=torch.tensor(accuracy),
                           note_accuracy=torch.tensor(note_accuracy))


def fake_screen(monkeypatch) -> io.StringIO:
    """stdout replaced by a StringIO (in the test itself: pytest resets it after fixtures)."""
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stdout", stream)
    return stream


def test_training_bar_shows_step_rate_eta_and_metrics_with_lines_above(monkeypatch):
    monkeypatch.setenv(progress.ENV, "1")
    monkeypatch.setattr(progress, "_STARTED_ON", None)  # pytest -s on a terminal: stay here
    screen = fake_screen(monkeypatch)
    bar = progress.TrainingBar(total=10, initial=2)
    for step in range(3, 6):
        bar.step(fake_out())
        print(f"step {step} | a line the trainer prints")
    for _ in progress.bar(range(4), desc="evaluating"):
        pass
    bar.close()
    assert sys.stdout is screen  # restored
    raw = screen.getvalue()
    # the bar was drawn: step of total, rate, ETA, latest loss and accuracies
    assert re.search(r"training: +50%.*5/10 \[\d\d:\d\d<\d\d:\d\d, +[\d.]+step/s, "
                     r"loss 12\.50, acc 0\.750, note acc 0\.500\]", raw), raw
    assert "evaluating 4/4" in raw  # the evaluation shows on the training bar's own line
    lines = apply_backspaces_and_linefeeds(raw).splitlines()
    # each printed line stands whole on its own line, never glued to the bar
    for step in range(3, 6):
        assert f"step {step} | a line the trainer prints" in [line.rstrip() for line in lines]
    assert sum("training:" in line for line in lines) == 1  # one line redrawn, kept at the end


def test_no_bar_when_stdout_is_not_a_terminal(monkeypatch):
    monkeypatch.delenv(progress.ENV, raising=False)
    screen = fake_screen(monkeypatch)
    monkeypatch.setattr(progress, "_STARTED_ON", None)
    assert not progress.interactive()
    bar = progress.TrainingBar(total=10)
    assert sys.stdout is screen  # nothing wrapped
    for _ in range(10):
        bar.step(fake_out())
    print("step 10 | plain")
    for _ in progress.bar(range(3), desc="evaluating"):
        pass
    bar.close()
    assert screen.getvalue() == "step 10 | plain\n"


def test_env_turns_bars_off_even_on_a_terminal(monkeypatch):
    monkeypatch.setattr(progress, "_STARTED_ON", "/dev/pts/0")
    monkeypatch.setenv(progress.ENV, "0")
    assert not progress.interactive()
    monkeypatch.delenv(progress.ENV)
    assert progress.interactive()


@pytest.mark.parametrize("value", ["2", "maybe", "", " "])
def test_another_env_value_leaves_the_choice_to_the_terminal(monkeypatch, value):
    monkeypatch.setenv(progress.ENV, value)
    monkeypatch.setattr(progress, "_STARTED_ON", "/dev/pts/0")
    assert progress.interactive()
    monkeypatch.setattr(progress, "_STARTED_ON", None)
    fake_screen(monkeypatch)
    assert not progress.interactive()


def _run_on_a_terminal(command: list[str], timeout: float = 240) -> str:
    """Run ``command`` with a pseudo-terminal as stdout and stderr; return what it showed."""
    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != progress.ENV}
    env.update(OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore", COLUMNS="160")
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                            stdout=terminal, stderr=terminal)
    os.close(terminal)
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([controller], [], [], timeout)
            if not ready:
                raise TimeoutError("no output")
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal closed: the process ended
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        proc.kill() if proc.poll() is None else None
        proc.wait()
        os.close(controller)
    assert proc.returncode == 0, b"".join(chunks).decode(errors="replace")[-3000:]
    return b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_training_in_a_terminal_shows_a_live_bar_and_cout_stays_readable(folk_dirs, tmp_path):
    from train.test_train_cli import tiny_config, write_config

    config = write_config(tmp_path, "tiny.json",
                          tiny_config(folk_dirs.train, folk_dirs.eval, num_steps=30,
                                      print_interval=10, evaluate_interval=30,
                                      advanced_interval=1000))
    shown = _run_on_a_terminal([sys.executable, "-m", "symusic.musicvae.train", "with",
                                str(config), "-F", str(tmp_path / "runs")])
    # Sacred's capture pipes stdout through tee, yet the bar is drawn between the lines
    assert re.search(r"training: +\d+%.*\d+/30 \[.*step/s, loss [\d.]+, acc [\d.]+, "
                     r"note acc [\d.]+\]", shown), shown[-2000:]
    assert "evaluating 1/" in shown
    screen = [line.rstrip() for line in apply_backspaces_and_linefeeds(shown).splitlines()]
    steps = ["step      10", "step      20", "step      30"]
    assert [line.split("|")[0].strip() for line in screen if line.startswith("step ")] == steps
    assert sum(line.startswith("training: 100%") for line in screen) == 1  # left at the end
    # cout.txt holds the printed lines whole, and nothing of the bars
    cout = (tmp_path / "runs" / "1" / "cout.txt").read_text()
    lines = [line.rstrip() for line in cout.splitlines()]
    assert [line.split("|")[0].strip() for line in lines if line.startswith("step ")] == steps
    assert not [line for line in lines if "step/s" in line or "file/s" in line or "\r" in line]
