"""The POP909 models that ship inside the package: they load by name in every command and the
studio, and still score what their model cards say on a fixed slice of POP909's eval split
(prepared from ``../shared/data/pop909``; the MIDI files themselves never ship)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch
from shipped_commands import run_every_command

from symusic.data import pop909
from symusic.musicvae.model import MusicVAE
from symusic.musicvae.pretrained import REGRESSION_WINDOWS, regression_figures, shipped_models

POP909 = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "pop909"
SHIPPED_POP = ("pop-mel-16bar-hier", "pop-mel-16bar-flat", "pop-mel-2bar")
MODELS = shipped_models()


@pytest.fixture(scope="session")
def pop909_eval(request, tmp_path_factory) -> Path:
    """POP909's eval songs, prepared as the models' eval split was (cached between runs)."""
    if not (POP909 / "010" / "010.mid").is_file():
        pytest.skip("../shared/data/pop909 is not here")
    cache = getattr(request.config, "cache", None)
    # keyed on the preparation's code, so a change to it is measured, never a stale copy
    digest = hashlib.sha1(Path(pop909.__file__).read_bytes()).hexdigest()[:10]
    name = f"symusic-pop909-eval-{digest}"
    root = Path(cache.mkdir(name)) if cache is not None else tmp_path_factory.mktemp(name)
    if not (root / "manifest.json").is_file():
        pop909.prepare_pop909(POP909, root, progress=False, splits=("eval",))
    return root / "eval"


def test_the_pop_models_ship_as_small_fp16_files_reading_pop_as_trained():
    assert set(SHIPPED_POP) <= set(MODELS)
    for name in SHIPPED_POP:
        path = MODELS[name].path
        assert path.stat().st_size <= 15 * 2**20
        state = torch.load(path, weights_only=True)
        assert state["data_settings"]["extraction"] == "magenta"
        assert {t.dtype for t in state["state_dict"].values()} == {torch.float16}
        bars = 2 if name.endswith("-2bar") else 16
        assert MusicVAE.load(path).config.seq_len == 16 * bars


@pytest.mark.parametrize("name", SHIPPED_POP)
def test_recorded_accuracy_holds_on_the_fixed_slice(name, pop909_eval):
    """A change that silently breaks a trained model (extraction, tokens, layers) fails here."""
    recorded = MODELS[name].figures["regression"]
    model = MusicVAE.load(MODELS[name].path).eval()
    measured = regression_figures(model, pop909_eval)
    assert measured["windows"] == recorded["windows"] == REGRESSION_WINDOWS
    for key in ("teacher_forced_accuracy", "teacher_forced_note_accuracy"):
        assert measured[key] == pytest.approx(recorded[key], abs=0.01), key


def test_every_command_and_the_studio_take_the_hierarchical_pop_model(pop909_eval, tmp_path):
    from symusic.studio.state import Studio

    name = "pop-mel-16bar-hier"
    files = sorted(pop909_eval.glob("*.mid"))[:10]
    folder, report = run_every_command(name, files, tmp_path, max_windows=16)
    assert report["reconstruction"]["teacher_forced_note_accuracy"] > 0.2
    assert set(report["repetition"]) >= {"data", "prior_samples", "teacher_forced", "sampled"}
    studio = Studio.open(name, str(folder), "cpu", 64)
    assert studio.service.seq_len == 256 and studio.checkpoint_name == name


@pytest.mark.parametrize("name", ["pop-mel-16bar-hier", "pop-mel-16bar-flat"])
def test_the_16_bar_models_sample_from_their_fitted_prior_and_restate_more_bars(name):
    """Their shipped mixture prior (tools.fit_prior) is what ``auto`` draws from, and at the
    ``sample`` default (temperature 0.5) its samples restate the bar 8 back at least 1.2x as
    often as N(0, I)'s, at least 6% of the time (here hier 0.078 against 0.051)."""
    from symusic.musicvae.inference import TrainedModel
    from symusic.musicvae.structure import repetition_profile

    trained = TrainedModel.load(name)
    assert trained.prior_name == "fitted (512 components)"
    exact = {prior: repetition_profile(trained.sample(256, 0.5, seed=0, prior=prior),
                                       trained.representation)["exact"][7]
             for prior in ("normal", "fitted")}
    assert exact["fitted"] > max(0.06, 1.2 * exact["normal"]), exact
