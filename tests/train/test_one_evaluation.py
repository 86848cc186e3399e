"""Training's evaluation and ``python -m symusic.musicvae.evaluate`` are one evaluation: the same
figures on the same checkpoint and windows; and the training checkpoint keeps its file format."""

from __future__ import annotations

import json

import pytest
import torch

from symusic.musicvae.evaluation import reconstruction_metrics, window_batches
from symusic.musicvae.model import CheckpointError
from symusic.musicvae.tools import evaluate
from symusic.musicvae.training import checkpoint as ckpt

from .test_trainer_faults import make_trainer

FIGURES = ("teacher_forced_accuracy", "teacher_forced_note_accuracy", "sampled_accuracy",
           "sampled_note_accuracy", "elbo_nats", "reconstruction_nats", "kl_nats", "kl_bits")


@pytest.fixture(scope="module")
def four_steps(folk_dirs, tmp_path_factory):
    """A 4-step run evaluated (at most 32 eval windows, batches of 8) and saved at step 4."""
    run = tmp_path_factory.mktemp("four-steps")
    trainer = make_trainer(folk_dirs, run, num_steps=4, evaluate_interval=4,
                           advanced_interval=1000, eval_max_windows=32, batch_size=8)
    return trainer, trainer.fit(), run / "checkpoints" / "last.pt"


def test_the_trainer_and_the_evaluate_command_give_the_same_figures(four_steps, folk_dirs,
                                                                      tmp_path, capsys):
    trainer, trained, last = four_steps
    report_path = tmp_path / "report.json"
    assert evaluate.main(["--checkpoint", str(last), "--data", str(folk_dirs.eval),
                          "--max-windows", "32", "--batch-size", "8", "--json", str(report_path),
                          "--num-samples", "2", "--interp-pairs", "1", "--device", "cpu"]) == 0
    capsys.readouterr()
    report = json.loads(report_path.read_text())
    assert report["num_windows"] == len(trainer.eval_loader.dataset) > 8  # several batches
    command = report["reconstruction"]
    for name in FIGURES:
        assert command[name] == pytest.approx(trained[name], rel=1e-5, abs=1e-6), name
    # the ELBO is of z drawn from q(z|x): another draw gives another reconstruction term
    assert trained["elbo_nats"] == pytest.approx(-(trained["reconstruction_nats"]
                                                   + trained["kl_nats"]), rel=1e-5)
    # training's loss is its objective at that draw: beta <= 1 weighs at most the whole KL
    assert trained["reconstruction_nats"] <= trained["loss"] <= -trained["elbo_nats"] + 1e-4
    assert "loss" not in command


def test_the_z_draw_is_seeded_and_leaves_the_rng(four_steps):
    trainer, trained, _ = four_steps
    windows = torch.cat(list(trainer.eval_loader)).numpy()
    state = torch.get_rng_state()
    again = reconstruction_metrics(trainer.model, window_batches(windows, 8), seed=0)
    assert torch.equal(torch.get_rng_state(), state)
    assert again["elbo_nats"] == pytest.approx(trained["elbo_nats"], rel=1e-6)
    other = reconstruction_metrics(trainer.model, window_batches(windows, 8), seed=1)
    assert other["reconstruction_nats"] != again["reconstruction_nats"]
    assert other["teacher_forced_accuracy"] == again["teacher_forced_accuracy"]  # z = mu


def test_the_training_checkpoint_keeps_its_format_and_reads_back(four_steps, folk_dirs,
                                                                 tmp_path):
    trainer, _, last = four_steps
    bundle = torch.load(last, weights_only=True)
    model_only = trainer.model.to_state()
    assert set(bundle) == {*model_only, "training"}  # a model checkpoint with training added
    assert bundle["model_config"] == model_only["model_config"]
    assert set(bundle["training"]) == {"kind", "config", "optimizer", "scheduler", "step",
                                       "best_eval_loss", "rng", "data"}
    assert bundle["training"]["kind"] == ckpt.TRAINING_KIND and bundle["training"]["step"] == 4
    fresh = make_trainer(folk_dirs, tmp_path)
    training = ckpt.load_weights(fresh.model, last)
    assert training.step == 4 and training.config == trainer.config.raw
    assert (training.data_epoch, training.data_index) == (
        bundle["training"]["data"]["epoch"], bundle["training"]["data"]["index"])
    for name, tensor in trainer.model.state_dict().items():
        assert torch.equal(fresh.model.state_dict()[name], tensor), name
    trainer.model.save(tmp_path / "model-only.pt")
    assert ckpt.load_weights(fresh.model, tmp_path / "model-only.pt") is None


def test_other_architectures_and_nan_weights_are_refused(four_steps, tmp_path):
    trainer, _, last = four_steps
    bundle = torch.load(last, weights_only=True)
    bundle["state_dict"]["encoder.extra"] = torch.zeros(1)
    torch.save(bundle, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="another architecture.*unexpected: encoder.extra"):
        ckpt.load_weights(trainer.model, tmp_path / "other.pt")
    del bundle["state_dict"]["encoder.extra"]
    next(iter(bundle["state_dict"].values())).fill_(float("nan"))
    torch.save(bundle, tmp_path / "nan.pt")
    with pytest.raises(CheckpointError, match="NaN or infinite weights"):
        ckpt.load_weights(trainer.model, tmp_path / "nan.pt")
    with pytest.raises(FileNotFoundError, match="ckpt_path: no checkpoint"):
        ckpt.load_weights(trainer.model, tmp_path / "missing.pt")
