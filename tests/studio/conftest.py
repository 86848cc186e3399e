"""Fixtures for the studio tests: a tiny untrained 2-bar MusicVAE checkpoint (built once per
session) and a folder of MIDI melodies written here with pretty_midi."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from midi_files import instrument, scale_walk, tiny_model_config, write_midi
from studio_helpers import studio_client

TINY_CONFIG = tiny_model_config()
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
