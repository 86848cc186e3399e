"""Fixtures for the generation and evaluation tests: MIDI files written here, and a tiny
MusicVAE trained on them for a few dozen steps (session-scoped: trained once)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from midi_files import instrument, scale_walk, tiny_model_config, write_midi

SEQ_LEN = 32  # a 2-bar model

TINY_CONFIG = tiny_model_config()


def one_bar_melody(seed: int) -> list[tuple[int, int, int]]:
    """A melody of exactly one bar: its last note ends on the bar line."""
    notes = scale_walk(seed, 1)
    pitch, start, _ = notes[-1]
    return [*notes[:-1], (pitch, start, 16)]


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny models on shared, busy cores run faster on one thread than fighting over two."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def midi_dir(tmp_path_factory) -> Path:
    """Six single-track 4-bar melodies and one file with two melody tracks."""
    folder = tmp_path_factory.mktemp("midi")
    for i in range(6):
        write_midi(folder / f"tune{i}.mid", instrument(scale_walk(i, 4), name=f"tune {i}"))
    write_midi(
        folder / "two_tracks.mid",
        instrument(scale_walk(10, 4), program=0, name="Piano"),
        instrument(scale_walk(11, 4, lowest=-12), program=24, name="Guitar"),
    )
    return folder


@pytest.fixture(scope="session")
def gap_midi(tmp_path_factory) -> Path:
    """One track whose 3-bar phrases (bars 0-2 and 5-7) are split by two bars of silence."""
    shifted = [(p, s + 80, e + 80) for p, s, e in scale_walk(21, 3)]
    return write_midi(tmp_path_factory.mktemp("gap") / "gap.mid",
                      instrument(scale_walk(20, 3) + shifted))


@pytest.fixture(scope="session")
def bad_inputs(tmp_path_factory) -> dict[str, Path]:
    """A MIDI file too short for the model, an unreadable one, and a folder without windows."""
    folder = tmp_path_factory.mktemp("bad")
    short = write_midi(folder / "short.mid", instrument(one_bar_melody(3)))
    garbage = folder / "garbage.mid"
    garbage.write_bytes(b"this is not a MIDI file\x00\x01\x02" * 10)
    no_windows = folder / "no_windows"
    no_windows.mkdir()
    write_midi(no_windows / "short.mid", instrument(one_bar_melody(4)))
    return {"short": short, "garbage": garbage, "no_windows": no_windows}


def training_windows(folder: Path) -> np.ndarray:
    """Every 2-bar window (1-bar hop) of the melodies under ``folder``."""
    from symusic.data import midi_windows as mw

    found = mw.iter_folder_windows(mw.midi_files(folder), SEQ_LEN)
    return np.stack([window for window, _ in found]).astype(np.int64)


@pytest.fixture(scope="session")
def tiny_model_path(midi_dir, tmp_path_factory) -> Path:
    """A tiny flat 2-bar MusicVAE trained 40 steps on ``midi_dir``, saved with ``model.save``."""
    from symusic.musicvae.model import ModelConfig, MusicVAE

    torch.manual_seed(0)
    model = MusicVAE(ModelConfig.from_dict(TINY_CONFIG, seq_len=SEQ_LEN))
    tokens = torch.as_tensor(training_windows(midi_dir))
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # (the module-scoped one_torch_thread is not active yet)
    try:
        for _ in range(40):
            out = model(tokens, sampling_probability=0.0, beta=0.1, free_bits=0.0)
            optimizer.zero_grad()
            out.loss.backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
    model.eval()
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    model.save(path)
    return path


@pytest.fixture(scope="session")
def tiny_model(tiny_model_path):
    """The tiny model, loaded back from its checkpoint, on the CPU."""
    from symusic.musicvae.model import MusicVAE

    return MusicVAE.load(tiny_model_path).eval()


@pytest.fixture(scope="session")
def bad_checkpoints(tiny_model_path, tmp_path_factory) -> dict[str, Path]:
    """A torch file of another kind, and a truncated (damaged) MusicVAE checkpoint."""
    folder = tmp_path_factory.mktemp("badckpt")
    other = folder / "other.pt"
    torch.save({"kind": "someone.else", "model_config": {}, "state_dict": {}}, other)
    damaged = folder / "damaged.pt"
    data = tiny_model_path.read_bytes()
    damaged.write_bytes(data[: len(data) // 2])
    return {"other": other, "damaged": damaged}
