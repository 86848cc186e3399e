"""kill -9 and SIGTERM in the middle of a write: unpacking the folk and Groove corpora, and
writing the scan's cache. The next run must finish the job and end exactly where a clean run
ends, with no half file left or read.

Each killed process is paused at a point the test can reach every time: halfway through
writing one file (half its bytes on disk), after some files are whole.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from symusic.data.dataset import MelodyCollection

REPO = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, PYTHONWARNINGS="ignore")
PAUSE_S = 600  # the paused writer waits this long for its signal

# Runs ``python -m MODULE ARGS...`` with the writes of ``symusic.<PATCHED>`` (``open`` for the
# corpus files, ``os.fdopen`` for atomic writes) whole for the first AFTER files; the next one
# writes half its bytes, fsyncs them, writes the MARKER file and waits for a signal.
PAUSING_SCRIPT = f"""
import builtins, os, runpy, sys, time
from pathlib import Path
import symusic.atomic
from symusic.data import corpus_archive

marker, after, module = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
opened = [0]

class HalfThenWait:
    def __init__(self, handle):
        self.handle = handle
    def __enter__(self):
        return self
    def __exit__(self, *exc_info):
        return self.handle.__exit__(*exc_info)
    def __getattr__(self, name):
        return getattr(self.handle, name)
    def write(self, data):
        self.handle.write(data[:len(data) // 2])
        self.handle.flush()
        os.fsync(self.handle.fileno())
        marker.write_text(str(os.getpid()))
        time.sleep({PAUSE_S})

def pausing(real):
    def open_for_writing(*args, **kwargs):
        handle = real(*args, **kwargs)
        opened[0] += 1
        return HalfThenWait(handle) if opened[0] > after else handle
    return open_for_writing

corpus_archive.open = pausing(builtins.open)
symusic.atomic.os.fdopen = pausing(os.fdopen)
sys.argv = [module, *sys.argv[4:]]
runpy.run_module(module, run_name="__main__", alter_sys=True)
"""

SCAN_SCRIPT = """
import sys
from symusic.data.dataset import MelodyCollection
MelodyCollection.from_folder(sys.argv[1], num_processes=1, progress=False)
"""


def start_paused(tmp_path: Path, after: int, *command: str) -> subprocess.Popen:
    """``command`` (a module and its arguments, or ``-c`` and a script) started with the
    pausing writer; returns once it waits halfway through a file."""
    marker = tmp_path / "paused"
    if command[0] == "-c":  # a script: run it as a module of its own
        (tmp_path / "scan_job.py").write_text(command[1])
        command = ("scan_job", *command[2:])
    process = subprocess.Popen(
        [sys.executable, "-c", PAUSING_SCRIPT, str(marker), str(after), *command],
        cwd=REPO, env=dict(ENV, PYTHONPATH=str(tmp_path)), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not marker.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"it never paused: {process.communicate()[1][-3000:]}")
        time.sleep(0.05)
    return process


def stop(process: subprocess.Popen, signum: int) -> tuple[int, str]:
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    return process.returncode, stderr


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones included) with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def corpus(out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "symusic.data.corpus", "--out", str(out),
                           *args], cwd=REPO, env=ENV, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def clean_corpora(tmp_path_factory) -> dict[str, dict[str, bytes]]:
    """What an uninterrupted unpack writes, per corpus."""
    root = tmp_path_factory.mktemp("clean")
    found = {}
    for name, args in CORPORA.items():
        result = corpus(root / name, *args)
        assert result.returncode == 0, result.stderr
        found[name] = tree(root / name)
    return found


CORPORA = {"folk": ("--limit", "60"), "groove": ("--name", "groove", "--limit", "4")}


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
@pytest.mark.parametrize("name", sorted(CORPORA))
def test_a_killed_corpus_unpack_is_finished_by_the_next_run(clean_corpora, tmp_path, name,
                                                             signum):
    out = tmp_path / "corpus"
    process = start_paused(tmp_path, 8, "symusic.data.corpus", "--out", str(out),
                           *CORPORA[name])
    returncode, stderr = stop(process, signum)
    assert returncode in (-signum, 128 + signum), stderr
    assert "Traceback" not in stderr
    if signum == signal.SIGTERM:  # a stop it can answer: one line, no half file left
        assert len(stderr.strip().splitlines()) == 1 and "run again" in stderr, stderr
        assert not [p for p in tree(out) if p.endswith(".tmp")]
    rerun = corpus(out, *CORPORA[name])
    assert rerun.returncode == 0, rerun.stderr
    assert tree(out) == clean_corpora[name]  # every file whole, nothing left over


def folder_of_tunes(folder: Path, write_melody_midi, count: int = 6) -> Path:
    for i in range(count):
        write_melody_midi(folder / f"tune{i}.mid",
                          [(60 + (i + k) % 12, 4 * k, 4 * k + 3) for k in range(16)])
    return folder


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_a_scan_killed_while_writing_its_cache_leaves_none_to_misread(tmp_path,
                                                                      write_melody_midi,
                                                                      signum):
    folder = folder_of_tunes(tmp_path / "songs", write_melody_midi)
    reference = MelodyCollection.from_folder(folder, num_processes=1, progress=False,
                                             cache_dir=tmp_path / "elsewhere")
    process = start_paused(tmp_path, 0, "-c", SCAN_SCRIPT, str(folder))
    stop(process, signum)
    cache = folder / ".symusic-cache"
    assert not list(cache.glob("melodies-*.npz"))  # half of it never took the cache's name
    again = MelodyCollection.from_folder(folder, num_processes=1, progress=False)
    assert again.report.extracted == 6  # read afresh, not from the half-written cache
    np.testing.assert_array_equal(again.tokens, reference.tokens)
    np.testing.assert_array_equal(again.melody_offsets, reference.melody_offsets)
    cached = MelodyCollection.from_folder(folder, num_processes=1, progress=False)
    assert cached.report.extracted == 0
    np.testing.assert_array_equal(cached.tokens, reference.tokens)
    assert json.dumps(cached.report.reasons) == json.dumps(reference.report.reasons)
