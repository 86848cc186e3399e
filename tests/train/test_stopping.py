"""Stop signals: the first asks for a stop, a quick second is the same request, a late one
stops at once; the handlers are put back afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from symusic.musicvae.training import stopping
from symusic.musicvae.training.stopping import StoppedBySignal, StopRequest


def send(signum: int) -> None:
    os.kill(os.getpid(), signum)
    time.sleep(0.05)  # the handler runs in this (main) thread at the next bytecode


def test_a_second_signal_soon_after_the_first_is_the_same_request():
    request = StopRequest(announce=False)
    restore = request.install(lambda signum: StoppedBySignal(signum, "at once"))
    try:
        send(signal.SIGTERM)
        send(signal.SIGINT)  # Ctrl-C as well: still no KeyboardInterrupt
        send(signal.SIGTERM)
    finally:
        restore()
    assert request.signum == signal.SIGTERM
    # the run is ending: from now on signals are ignored, so none can cut the exit short
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_without_a_stop_the_previous_handlers_come_back():
    before = signal.getsignal(signal.SIGTERM)
    restore = StopRequest(announce=False).install(lambda signum: StoppedBySignal(signum))
    assert signal.getsignal(signal.SIGTERM) is not before
    restore()
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_later_signal_stops_at_once_unless_the_checkpoint_is_being_saved(monkeypatch):
    monkeypatch.setattr(stopping, "REPEAT_S", 0.1)
    request = StopRequest(announce=False)
    restore = request.install(lambda signum: StoppedBySignal(signum, "at once"))
    try:
        send(signal.SIGINT)
        time.sleep(0.15)
        with pytest.raises(StoppedBySignal) as caught:
            send(signal.SIGTERM)
        assert (caught.value.signum, caught.value.message) == (signal.SIGTERM, "at once")
        assert isinstance(caught.value, KeyboardInterrupt)  # Sacred: INTERRUPTED
        request.saving = True
        send(signal.SIGTERM)  # ignored while saving
    finally:
        restore()
    assert request.signum == signal.SIGINT


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_the_trainers_data_workers_die_with_it(folk_dirs, tmp_path):
    """kill -9 of the training process: its DataLoader workers end at once (torch's own check
    of the parent comes every 5 s), and with them the last holders of the pipe that Sacred's
    `tee` processes read, which then end too."""
    from .test_train_cli import REPO, children, running

    code = f"""
import sys, time
from types import SimpleNamespace
sys.path[:0] = [{str(REPO / "tests")!r}]
from train.test_trainer_faults import make_trainer
folders = SimpleNamespace(train={str(folk_dirs.train)!r}, eval={str(folk_dirs.eval)!r})
trainer = make_trainer(folders, {str(tmp_path)!r}, num_workers=1)
next(iter(trainer.train_loader))
print("ready", flush=True)
time.sleep(120)
"""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    process = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "ready"
        workers = [pid for pid, name in children(process.pid).items()
                   if name == "pt_data_worker"]
        assert len(workers) == 1
    finally:
        process.kill()
        process.wait()
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline and running(workers[0]):
        time.sleep(0.05)
    assert not running(workers[0])
