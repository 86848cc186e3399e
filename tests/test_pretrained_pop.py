"""The POP909 models that ship inside the package: they load by name in every command and the
studio, and still score what their model cards say on a fixed slice of POP909's eval split
(prepared from ``../shared/data/pop909``; the MIDI files themselves never ship)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from symusic.data import pop909
from symusic.errors import user_errors
from symusic.musicvae.inference import TrainedModel
from symusic.musicvae.model import MusicVAE
from symusic.musicvae.pretrained import REGRESSION_WINDOWS, regression_figures, shipped_models
from symusic.musicvae.tools import evaluate, generate

POP909 = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "pop909"
SHIPPED_POP = ("pop-mel-16bar-hier", "pop-mel-16bar-flat", "pop-mel-2bar")
MODELS = shipped_models()


@pytest.fixture(scope="session")
def pop909_eval(request, tmp_path_factory) -> Path:
    """POP909's eval songs, prepared as the models' eval split was (cached between runs)."""
    if not (POP909 / "010" / "010.mid").is_file():
        pytest.skip("../shared/data/pop909 is not here")
    cache = getattr(request.config, "cache", None)
    name = "symusic-pop909-eval-v1"
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
    model = TrainedModel.load(name)
    files = [f for f in sorted(pop909_eval.glob("*.mid"))[:10] if _has_window(model, f)]
    first, second = files[:2]
    common = ["--checkpoint", name, "--device", "cpu"]
    assert generate.main(["sample", *common, "--num", "2", "--out", str(tmp_path / "s")]) == 0
    assert len(list((tmp_path / "s").glob("sample_*.mid"))) == 2
    assert generate.main(["interpolate", *common, "--start", str(first), "--end", str(second),
                          "--steps", "3", "--out", str(tmp_path / "i")]) == 0
    assert (tmp_path / "i" / "interpolation.mid").is_file()
    assert generate.main(["reconstruct", *common, "--input", str(first),
                          "--out", str(tmp_path / "r")]) == 0
    assert list((tmp_path / "r").glob("*.mid"))
    folder = tmp_path / "two"
    folder.mkdir()
    for f in (first, second):
        (folder / f.name).write_bytes(f.read_bytes())
    assert generate.main(["encode", *common, "--input", str(folder),
                          "--out", str(tmp_path / "z.npy")]) == 0
    report = tmp_path / "report.json"
    assert evaluate.main([*common, "--data", str(folder), "--json", str(report),
                          "--num-samples", "4", "--interp-pairs", "1", "--max-windows", "16"]
                         ) == 0
    written = json.loads(report.read_text())
    assert written["reconstruction"]["teacher_forced_note_accuracy"] > 0.2
    assert set(written["repetition"]) >= {"data", "prior_samples", "teacher_forced", "sampled"}
    studio = Studio.open(name, str(folder), "cpu", 64)
    assert studio.service.seq_len == 256 and studio.checkpoint_name == name


def _has_window(model: TrainedModel, path: Path) -> bool:
    """Whether ``path`` holds a whole window for ``model``, read as the commands read it."""
    try:
        return len(model.file_windows(path)) > 0
    except user_errors():
        return False
