"""The models that ship inside the package: they load by name everywhere, and still score what
their model cards say on a fixed slice of the folk corpus's eval split."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from shipped_commands import run_every_command

from symusic.musicvae.model import MusicVAE
from symusic.musicvae.pretrained import (
    REGRESSION_WINDOWS,
    regression_figures,
    shipped_models,
)
from symusic.musicvae.tools import generate

SHIPPED = ("folk-mel-2bar", "folk-mel-16bar-hier", "folk-mel-16bar-flat")
MODELS = shipped_models()


@pytest.fixture(scope="session")
def folk_eval(request, tmp_path_factory) -> Path:
    """The whole eval split of the built-in corpus, unpacked from the shipped archive."""
    from symusic.data import corpus
    from symusic.data.corpus_archive import ARCHIVE

    digest = hashlib.sha1(ARCHIVE.read_bytes()).hexdigest()[:10]
    cache = getattr(request.config, "cache", None)
    name = f"symusic-folk-full-{digest}"
    root = Path(cache.mkdir(name)) if cache is not None else tmp_path_factory.mktemp(name)
    corpus.build_corpus(root, workers=1, progress=False)
    return root / "eval"


def test_the_three_models_ship_as_small_weights_only_files():
    assert set(SHIPPED) <= set(MODELS)
    for model in MODELS.values():
        assert model.path.stat().st_size <= 15 * 2**20
        state = torch.load(model.path, weights_only=True)
        # the folk tunes are in any meter; POP909 and the Groove drums are read as Magenta does
        folk = model.name.startswith("folk-")
        assert state["data_settings"]["extraction"] == ("any_meter" if folk else "magenta")
        assert {t.dtype for t in state["state_dict"].values()} == {torch.float16}


def test_symusic_models_lists_them_with_figures(capsys):
    assert generate.main(["models"]) == 0
    out = capsys.readouterr().out
    for name in SHIPPED:
        row = next(line for line in out.splitlines() if line.startswith(name))
        assert f"{MODELS[name].figures['teacher_forced_note_accuracy']:.3f}" in row


@pytest.mark.parametrize("name", SHIPPED)
def test_recorded_accuracy_holds_on_the_fixed_slice(name, folk_eval):
    """A change that silently breaks a trained model (extraction, tokens, layers) fails here."""
    recorded = MODELS[name].figures["regression"]
    model = MusicVAE.load(MODELS[name].path).eval()
    measured = regression_figures(model, folk_eval)
    assert measured["windows"] == recorded["windows"] == REGRESSION_WINDOWS
    for key in ("teacher_forced_accuracy", "teacher_forced_note_accuracy"):
        assert measured[key] == pytest.approx(recorded[key], abs=0.01), key


@pytest.mark.parametrize("name", ["folk-mel-2bar", "folk-mel-16bar-hier"])
def test_every_command_takes_a_shipped_name(name, folk_eval, tmp_path):
    files = sorted(folk_eval.rglob("*.mid"))[:40]
    _, report = run_every_command(name, files, tmp_path)
    assert report["reconstruction"]["teacher_forced_accuracy"] > 0.5


def test_the_studio_opens_a_shipped_model_by_name_and_by_default(folk_eval):
    from symusic.studio.__main__ import build_parser
    from symusic.studio.state import Studio

    assert build_parser().parse_args([]).checkpoint == "folk-mel-2bar"
    studio = Studio.open("folk-mel-16bar-hier", str(folk_eval / "ryans"), "cpu", 64)
    assert studio.service.seq_len == 256
    assert studio.checkpoint_name == "folk-mel-16bar-hier"


def test_an_unknown_name_is_one_line_listing_the_shipped_ones(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "symusic.musicvae.generate", "sample", "--checkpoint",
         "folk-mel-3bar", "--out", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert all(name in lines[0] for name in SHIPPED)
