"""``tools.fit_prior`` on a tiny trained checkpoint: the model it writes draws its samples from
the fitted mixture in every command, unless told ``--prior normal``; bad input gets one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from symusic.musicvae.inference import TrainedModel
from symusic.musicvae.model import MusicVAE
from symusic.musicvae.tools import evaluate, fit_prior, generate

COMPONENTS = 3


@pytest.fixture(scope="module")
def fitted_path(tiny_model_path, midi_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("fitted") / "fitted.pt"
    assert fit_prior.main([str(tiny_model_path), str(out), "--data", str(midi_dir),
                           "--components", str(COMPONENTS), "--windows", "64"]) == 0
    return out


def test_the_written_model_keeps_its_weights_and_gains_the_fitted_prior(fitted_path,
                                                                         tiny_model, midi_dir):
    model = MusicVAE.load(fitted_path)
    for name, tensor in tiny_model.state_dict().items():
        assert torch.equal(model.state_dict()[name], tensor), name
    assert model.prior is not None and model.prior.components == COMPONENTS
    assert str(midi_dir) in model.prior.fitted_on
    trained = TrainedModel(model)
    assert trained.prior_name == f"fitted ({COMPONENTS} components)"
    assert TrainedModel(tiny_model).prior_name == "normal"
    # the draws come from the mixture (whose means are codes of the data), not from N(0, I)
    z = trained.draw_z(256, seed=0)
    nearest = np.linalg.norm(z[:, None] - model.prior.means.numpy()[None], axis=-1).min(1)
    spread = np.linalg.norm(z[:, None] - trained.draw_z(256, "normal", 0)[None], axis=-1)
    assert nearest.mean() < spread.mean()
    auto = trained.sample(4, 0.0, seed=1)
    np.testing.assert_array_equal(auto, trained.sample(4, 0.0, seed=1, prior="fitted"))
    np.testing.assert_array_equal(TrainedModel(tiny_model).sample(4, 0.0, seed=1),
                                  trained.sample(4, 0.0, seed=1, prior="normal"))


def test_sample_draws_from_the_fitted_prior_unless_told(fitted_path, tmp_path, capsys):
    def sampled(prior: str) -> list[bytes]:
        out = tmp_path / prior
        assert generate.main(["sample", "--checkpoint", str(fitted_path), "--num", "3",
                              "--temperature", "0", "--seed", "2", "--prior", prior,
                              "--out", str(out), "--device", "cpu"]) == 0
        return [(out / f"sample_{i}.mid").read_bytes() for i in (1, 2, 3)]

    assert sampled("auto") == sampled("fitted") != sampled("normal")
    assert "the model's prior: fitted (3 components)" in capsys.readouterr().out


def test_evaluate_says_which_prior_its_samples_came_from(fitted_path, tiny_model_path,
                                                         midi_dir, tmp_path):
    def prior_of(checkpoint, *extra) -> str:
        report = tmp_path / "report.json"
        assert evaluate.main(["--checkpoint", str(checkpoint), "--data", str(midi_dir),
                              "--json", str(report), "--num-samples", "8",
                              "--interp-pairs", "1", "--device", "cpu", *extra]) == 0
        return json.loads(report.read_text())["prior_samples"]["prior"]

    assert prior_of(fitted_path) == f"fitted ({COMPONENTS} components)"
    assert prior_of(fitted_path, "--prior", "normal") == "normal"
    assert prior_of(tiny_model_path) == "normal"


@pytest.mark.parametrize("argv, message", [
    (["--components", "0"], "--components must be 1 to"),
    (["--components", "100000"], "at most one a code"),
    (["--windows", "0"], "--windows must be 1 or more"),
])
def test_bad_fits_get_one_line(argv, message, tiny_model_path, midi_dir, tmp_path, capsys):
    out = tmp_path / "out.pt"
    assert fit_prior.main([str(tiny_model_path), str(out), "--data", str(midi_dir),
                           *argv]) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err
    assert not out.exists()


def test_a_missing_folder_or_checkpoint_gets_one_line(tiny_model_path, tmp_path, capsys):
    for argv in ([str(tiny_model_path), str(tmp_path / "o.pt"), "--data", str(tmp_path / "no")],
                 ["no-such-model", str(tmp_path / "o.pt"), "--data", str(tmp_path)]):
        assert fit_prior.main(argv) == 1
        err = capsys.readouterr().err.strip()
        assert err.startswith("python -m symusic.musicvae.tools.fit_prior: error:")
        assert "\n" not in err


def test_asking_for_a_fitted_prior_the_model_lacks_gets_one_line(tiny_model_path, tmp_path,
                                                                  capsys):
    assert generate.main(["sample", "--checkpoint", str(tiny_model_path), "--prior", "fitted",
                          "--out", str(tmp_path / "s"), "--device", "cpu"]) == 1
    err = capsys.readouterr().err.strip()
    assert "carries no fitted prior" in err and "\n" not in err
