"""The shipped drum model, gmd-drums-2bar: it loads by name, is a drum model, and still scores
what its model card says on a fixed slice of the Groove test split."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from symusic.musicvae.model import MusicVAE
from symusic.musicvae.pretrained import REGRESSION_WINDOWS, regression_figures, shipped_models

NAME = "gmd-drums-2bar"
MODELS = shipped_models()


@pytest.fixture(scope="session")
def groove_test(request, tmp_path_factory) -> Path:
    """The whole test split of the Groove MIDI Dataset, unpacked from the shipped archive."""
    from symusic.data.groove import ARCHIVE, unpack_groove

    digest = hashlib.sha1(ARCHIVE.read_bytes()).hexdigest()[:10]
    cache = getattr(request.config, "cache", None)
    name = f"symusic-groove-{digest}"
    root = Path(cache.mkdir(name)) if cache is not None else tmp_path_factory.mktemp(name)
    unpack_groove(root, show_progress=False)
    return root / "test"


def test_it_is_a_drum_model():
    state = torch.load(MODELS[NAME].path, weights_only=True)
    assert state["representation"] == {"name": "drums", "vocab_size": 512}
    assert MODELS[NAME].figures["teacher_forced_hit_f1"] > 0.5


def test_recorded_accuracy_holds_on_the_fixed_slice(groove_test):
    recorded = MODELS[NAME].figures["regression"]
    model = MusicVAE.load(MODELS[NAME].path).eval()
    measured = regression_figures(model, groove_test)
    assert measured["windows"] == recorded["windows"] == REGRESSION_WINDOWS
    for key in ("teacher_forced_accuracy", "teacher_forced_note_accuracy"):
        assert measured[key] == pytest.approx(recorded[key], abs=0.01), key
