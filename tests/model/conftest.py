"""Fixtures for the model tests: tiny configs of every kind and eight real 2-bar tunes."""

from __future__ import annotations

import copy

import pytest
import torch

from symusic.data.tokens import NO_EVENT, NOTE_OFF, STEPS_PER_BAR, pitch_to_token

REST = None


def tune(*notes: tuple[int | None, int]) -> list[int]:
    """(MIDI pitch or REST, length in 16ths) -> 2-bar token list (onset/NOTE_OFF, then NO_EVENT)."""
    tokens: list[int] = []
    for pitch, length in notes:
        tokens += [NOTE_OFF if pitch is REST else pitch_to_token(pitch)] + [NO_EVENT] * (length - 1)
    assert len(tokens) == 2 * STEPS_PER_BAR, len(tokens)
    return tokens


# The first two bars of eight well-known tunes (quarter note = 4 steps).
TUNES = [
    # Twinkle, Twinkle, Little Star (detached quarters)
    tune((60, 3), (REST, 1), (60, 4), (67, 4), (67, 4), (69, 4), (69, 4), (67, 8)),
    # Ode to Joy
    tune((64, 4), (64, 4), (65, 4), (67, 4), (67, 4), (65, 4), (64, 4), (62, 4)),
    # Frere Jacques
    tune((60, 4), (62, 4), (64, 4), (60, 4), (60, 4), (62, 4), (64, 4), (60, 4)),
    # Mary Had a Little Lamb
    tune((64, 4), (62, 4), (60, 4), (62, 4), (64, 4), (64, 4), (64, 6), (REST, 2)),
    # When the Saints Go Marching In
    tune((REST, 4), (60, 4), (64, 4), (65, 4), (67, 16)),
    # Yankee Doodle
    tune((60, 2), (60, 2), (62, 2), (64, 2), (60, 2), (64, 2), (62, 4),
         (60, 2), (60, 2), (62, 2), (64, 2), (60, 4), (59, 4)),
    # Row, Row, Row Your Boat
    tune((60, 4), (60, 4), (60, 3), (62, 1), (64, 4), (64, 3), (62, 1), (64, 3), (65, 1), (67, 8)),
    # Drunken Sailor
    tune((69, 2), (69, 1), (69, 1), (69, 2), (69, 1), (69, 1), (69, 2), (62, 2), (65, 2), (69, 2),
         (67, 2), (67, 1), (67, 1), (67, 2), (67, 1), (67, 1), (67, 2), (60, 2), (64, 2), (67, 2)),
]


@pytest.fixture(autouse=True)
def single_thread():
    """The model tests use tiny tensors: one thread is faster than two, and far faster when
    other processes share the cores (OpenMP threads then wait on each other)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tunes() -> torch.Tensor:
    """[8, 32] LongTensor: eight distinct 2-bar melodies."""
    return torch.tensor(TUNES, dtype=torch.long)


def token_decoder(key: str, z: int, hidden: int = 24, layers: int = 2, **extra) -> dict:
    """``{"key": "greedy"/"sample", ...}`` over an ``another`` or ``simple`` decoder named in
    ``extra["decoder"]`` (default another)."""
    decoder = extra.pop("decoder", "another")
    params = {"embed_size": 6, "hidden_size": hidden, "n_layers": layers}
    if decoder == "another":
        params["z_size"] = z
    return {"key": key, "params": {"z_size": z, **extra,
                                   "decoder_args": {"key": decoder, "params": params}}}


def model_dict(kind: str = "another", z: int = 8, hidden: int = 24, seq: str = "greedy",
               n_subsequences: int = 2, c_size: int = 10, layers: int = 2) -> dict:
    """A small spec-shaped model config. ``kind``: simple, another or hier; every LSTM has
    ``layers`` layers of ``hidden`` units."""
    if kind == "hier":
        seq_args = {"key": "hier", "params": {
            "z_size": z, "n_subsequences": n_subsequences,
            "conductor_args": {"key": "conductor",
                               "params": {"hidden_size": hidden, "c_size": c_size,
                                          "n_layers": layers}},
            "seq_decoder_args": token_decoder(seq, c_size, hidden, layers)}}
    else:
        seq_args = token_decoder(seq, z, hidden, layers, decoder=kind)
    return {"z_size": z,
            "encoder_params": {"embed_size": 6, "hidden_size": hidden, "n_layers": layers},
            "seq_decoder_args": seq_args}


@pytest.fixture
def make_model_dict():
    """The ``model_dict`` builder, returning a fresh deep copy each call."""
    return lambda *args, **kwargs: copy.deepcopy(model_dict(*args, **kwargs))
