"""Fixtures for the studio tests: a tiny untrained 2-bar MusicVAE checkpoint (built once per
session) and a folder of MIDI melodies written here with pretty_midi."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from midi_files import SCALE, instrument, tiny_model_config, write_midi

TINY_CONFIG = tiny_model_config()
BASE_URL = "http://127.0.0.1:8000"  # the Host a browser on this machine sends


def studio_client(studio, host: str = "127.0.0.1"):
    """A ``TestClient`` on the app of ``studio`` listening on ``host``, addressed as a page of
    the studio would address it (``Host: 127.0.0.1:8000``)."""
    from fastapi.testclient import TestClient

    from symusic.studio.app import create_app

    return TestClient(create_app(studio, host), base_url=BASE_URL)


def scale_walk(seed: int, bars: int, step_choices=(2, 4, 4, 8), lowest: int = 0):
    """A random walk on the C major scale as ``(pitch, start_step, end_step)`` notes."""
    rng = np.random.default_rng(seed)
    notes, step, degree = [], 0, 3
    while step < bars * 16:
        length = min(int(rng.choice(step_choices)), bars * 16 - step)
        degree = int(np.clip(degree + rng.integers(-2, 3), 0, len(SCALE) - 1))
        notes.append((SCALE[degree] + lowest, step, step + max(length - 1, 1)))
        step += length
    return notes


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    """Six one-track 4-bar melodies (busy and sparse ones) and a file with two melody tracks."""
    folder = tmp_path_factory.mktemp("studio-data")
    for i in range(6):
        steps = (1, 2, 2, 4) if i % 2 else (4, 8, 8, 16)  # dense and sparse tunes
        write_midi(folder / f"tune{i}.mid", instrument(scale_walk(i, 4, steps), name=f"tune {i}"))
    write_midi(folder / "duet.mid",
               instrument(scale_walk(10, 4), program=0, name="Piano"),
               instrument(scale_walk(11, 4, lowest=-12), program=24, name="Guitar"))
    return folder


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory) -> Path:
    """A tiny flat 2-bar MusicVAE, untrained (it decodes all the same), saved as a checkpoint."""
    from symusic.musicvae.model.config import ModelConfig
    from symusic.musicvae.model.vae import MusicVAE

    torch.manual_seed(0)
    model = MusicVAE(ModelConfig.from_dict(TINY_CONFIG, seq_len=32))
    path = tmp_path_factory.mktemp("studio-model") / "tiny.pt"
    model.save(path)
    return path


@pytest.fixture(scope="module")
def studio(checkpoint, data_dir):
    """A studio on the test checkpoint and data, one per test module."""
    from symusic.studio.state import Studio

    return Studio.open(checkpoint, data_dir)


@pytest.fixture(scope="module")
def client(studio):
    """An HTTP client of ``studio``, addressed as the studio's own host."""
    with studio_client(studio) as c:
        yield c


@pytest.fixture(scope="session")
def midi_bytes(data_dir) -> bytes:
    """A readable one-melody MIDI file's bytes (for uploads)."""
    return (data_dir / "tune1.mid").read_bytes()


def pytest_configure(config):
    """Register the ``browser`` marker of the end-to-end test."""
    config.addinivalue_line("markers",
                            "browser: drives headless Chromium (needs /usr/bin/chromium)")
