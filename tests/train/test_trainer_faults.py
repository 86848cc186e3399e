"""Faults stop a run cleanly: a NaN loss keeps the last good checkpoint; bf16 is checked first."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from symusic.devices import UnsupportedPrecision, check_bf16_lstm
from symusic.musicvae.training.config import ExperimentConfig
from symusic.musicvae.training.distributed import setup_distributed
from symusic.musicvae.training.runlog import RunLog
from symusic.musicvae.training.trainer import Trainer, TrainingDiverged

from .test_train_cli import tiny_config


def make_trainer(folk_dirs, run_dir: Path, **overrides) -> Trainer:
    config = ExperimentConfig.from_dict(tiny_config(folk_dirs.train, folk_dirs.eval, **overrides))
    return Trainer(config, run_dir, RunLog(None, run_dir, enabled=False), setup_distributed("cpu"))


def trained_then_blown_up(folk_dirs, run_dir: Path, num_steps: int):
    """A trainer run for ``num_steps`` (evaluating every 2), its ``last.pt`` and that file's
    bytes, then its weights made NaN, as after a too-large step."""
    trainer = make_trainer(folk_dirs, run_dir, num_steps=num_steps, evaluate_interval=2,
                           advanced_interval=1000)
    trainer.fit()
    last = run_dir / "checkpoints" / "last.pt"
    saved = last.read_bytes()
    with torch.no_grad():
        next(trainer.model.decoder.parameters()).fill_(float("nan"))
    return trainer, last, saved


def test_a_nan_loss_stops_with_a_message_and_keeps_the_last_checkpoint(folk_dirs, tmp_path):
    trainer, last, saved = trained_then_blown_up(folk_dirs, tmp_path, num_steps=4)
    trainer.train_cfg = trainer.train_cfg.model_copy(update={"num_steps": 8})
    with pytest.raises(TrainingDiverged) as caught:
        trainer.fit()
    assert "the loss became nan at step 5" in str(caught.value)
    assert str(last) in str(caught.value)
    assert last.read_bytes() == saved  # the last good checkpoint is untouched


def test_bf16_either_trains_or_is_refused_at_start_naming_fp32(folk_dirs, tmp_path):
    try:
        check_bf16_lstm(torch.device("cpu"))
    except UnsupportedPrecision as err:
        assert "use 'fp32'" in str(err)
        with pytest.raises(UnsupportedPrecision):
            make_trainer(folk_dirs, tmp_path, precision="bf16")
        return
    trainer = make_trainer(folk_dirs, tmp_path, precision="bf16", num_steps=2,
                           evaluate_interval=2, advanced_interval=1000)
    metrics = trainer.fit()
    assert 0.0 <= metrics["teacher_forced_accuracy"] <= 1.0


def as_program(source: Path, target: Path, program: int, limit: int) -> Path:
    """Up to ``limit`` MIDI files of ``source`` rewritten with every track on ``program``."""
    import pretty_midi

    target.mkdir(parents=True)
    for path in sorted(source.rglob("*.mid"))[:limit]:
        midi = pretty_midi.PrettyMIDI(str(path))
        for instrument in midi.instruments:
            instrument.program = program
        midi.write(str(target / path.name))
    return target


def test_programs_choose_which_instruments_train(folk_dirs, tmp_path):
    """A folder of violin (program 40) tunes: refused by default with a hint, trained with
    ``programs`` set."""
    from symusic.data.melody import NoMelodiesError

    train = as_program(folk_dirs.train, tmp_path / "violin-train", 40, 24)
    evaluation = as_program(folk_dirs.eval, tmp_path / "violin-eval", 40, 8)
    config = ExperimentConfig.from_dict(tiny_config(train, evaluation))
    with pytest.raises(NoMelodiesError, match="set `programs` in the config"):
        Trainer(config, tmp_path / "a", RunLog(None, tmp_path / "a", enabled=False),
                setup_distributed("cpu"))
    config = ExperimentConfig.from_dict(tiny_config(
        train, evaluation, programs=[40, 41], num_steps=2, evaluate_interval=2,
        advanced_interval=1000))
    trainer = Trainer(config, tmp_path / "b", RunLog(None, tmp_path / "b", enabled=False),
                      setup_distributed("cpu"))
    assert 0.0 <= trainer.fit()["teacher_forced_accuracy"] <= 1.0


@pytest.fixture(scope="module")
def two_steps(folk_dirs, tmp_path_factory) -> Path:
    """The last.pt of a 2-step run (evaluated and saved at step 2)."""
    run = tmp_path_factory.mktemp("two-steps")
    make_trainer(folk_dirs, run, num_steps=2, evaluate_interval=2, advanced_interval=1000).fit()
    return run / "checkpoints" / "last.pt"


def test_a_nan_evaluation_loss_stops_without_writing_a_checkpoint(folk_dirs, tmp_path):
    trainer, last, saved = trained_then_blown_up(folk_dirs, tmp_path, num_steps=2)
    with pytest.raises(TrainingDiverged) as caught:
        trainer.evaluate_and_checkpoint()
    assert "the evaluation loss became nan at step 2" in str(caught.value)
    assert f"The last good checkpoint is {last};" in str(caught.value)
    assert last.read_bytes() == saved
    state = torch.load(last, weights_only=True)["state_dict"]
    assert all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point())


def test_a_stop_signal_never_saves_nan_weights(folk_dirs, tmp_path):
    import signal

    trainer = make_trainer(folk_dirs, tmp_path, num_steps=5, evaluate_interval=1000,
                           advanced_interval=1000)
    with torch.no_grad():
        next(trainer.model.encoder.parameters()).fill_(float("inf"))
    trainer.stop.signum = signal.SIGTERM  # as if stopped before the first step
    with pytest.raises(TrainingDiverged, match="the weights became NaN or infinite at step 0; "
                                               "stopping. The last good checkpoint is not"):
        trainer.fit()
    assert not (tmp_path / "checkpoints" / "last.pt").exists()


def test_resuming_a_checkpoint_already_at_num_steps_is_refused(folk_dirs, two_steps, tmp_path):
    from symusic.musicvae.model.config import ConfigError

    for num_steps in (2, 1):
        with pytest.raises(ConfigError) as caught:
            make_trainer(folk_dirs, tmp_path, num_steps=num_steps, ckpt_path=str(two_steps))
        assert (f"num_steps: the checkpoint {two_steps} is already at step 2, and num_steps is "
                f"{num_steps}: nothing to train") in str(caught.value)


def test_a_checkpoint_of_another_architecture_names_the_mismatch(folk_dirs, two_steps, tmp_path):
    from symusic.musicvae.model import CheckpointError

    wider = {"embed_size": 8, "hidden_size": 48, "n_layers": 2}
    with pytest.raises(CheckpointError) as caught:
        make_trainer(folk_dirs, tmp_path, num_steps=4, ckpt_path=str(two_steps),
                     encoder_params=wider)
    message = str(caught.value)
    assert message.startswith(f"ckpt_path: {two_steps} holds a model of another architecture")
    assert "missing: encoder.lstm.weight_ih_l1" in message
    assert "other shapes: encoder.lstm.weight_ih_l0 [128, 8] in the checkpoint, [192, 8] here" \
        in message
    assert "\n" not in message


def test_a_checkpoint_with_nan_weights_is_refused(folk_dirs, two_steps, tmp_path):
    from symusic.musicvae.model import CheckpointError

    bundle = torch.load(two_steps, weights_only=True)
    next(iter(bundle["state_dict"].values())).fill_(float("nan"))
    broken = tmp_path / "diverged.pt"
    torch.save(bundle, broken)
    with pytest.raises(CheckpointError, match="holds NaN or infinite weights"):
        make_trainer(folk_dirs, tmp_path / "run", num_steps=4, ckpt_path=str(broken))


def test_a_batch_larger_than_the_training_windows_is_refused_at_start(folk_dirs, tmp_path):
    from symusic.musicvae.model.config import ConfigError

    with pytest.raises(ConfigError) as caught:
        make_trainer(folk_dirs, tmp_path, batch_size=10**9)
    assert str(caught.value).startswith("batch_size: 1,000,000,000 is more than the ")
    assert f"training windows in {folk_dirs.train}; use at most" in str(caught.value)


def test_resuming_removes_what_a_killed_save_left_beside_the_checkpoint(folk_dirs, two_steps,
                                                                        tmp_path):
    import shutil

    from .test_atomic import dead_pid

    folder = tmp_path / "old" / "checkpoints"
    shutil.copytree(two_steps.parent, folder)
    leftover = folder / f".last.pt.{dead_pid()}-a1b2c3d4.tmp"
    leftover.write_bytes(b"")  # kill -9 in the middle of a save
    trainer = make_trainer(folk_dirs, tmp_path / "new", num_steps=4,
                           ckpt_path=str(folder / "last.pt"))
    assert not leftover.exists()
    assert trainer.state.step == 2 and trainer.last_checkpoint == folder / "last.pt"


def test_lr_decay_lowers_the_rate_every_step_and_resumes_on_its_curve(folk_dirs, tmp_path):
    settings = dict(num_steps=4, evaluate_interval=4, advanced_interval=1000,
                    learning_rate=1e-3, lr_decay=0.5, min_learning_rate=1e-5)
    trainer = make_trainer(folk_dirs, tmp_path / "a", **settings)
    trainer.fit()
    expected = (1e-3 - 1e-5) * 0.5 ** 4 + 1e-5
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(expected)
    resumed = make_trainer(folk_dirs, tmp_path / "b", **{**settings, "num_steps": 6},
                           ckpt_path=str(tmp_path / "a" / "checkpoints" / "last.pt"))
    resumed.fit()
    expected = (1e-3 - 1e-5) * 0.5 ** 6 + 1e-5
    assert resumed.optimizer.param_groups[0]["lr"] == pytest.approx(expected)


def test_ckpt_path_takes_a_shipped_model_by_name(folk_dirs, tmp_path):
    from symusic.musicvae.model import CheckpointError
    from symusic.musicvae.pretrained import UnknownModelError, shipped_models

    shipped = shipped_models()["folk-mel-2bar"].path
    with pytest.raises(CheckpointError) as caught:  # found by name; the tiny config differs
        make_trainer(folk_dirs, tmp_path / "a", num_steps=4, ckpt_path="folk-mel-2bar")
    assert str(caught.value).startswith(f"ckpt_path: {shipped} holds a model of another")
    with pytest.raises(UnknownModelError, match="shipped models: folk-mel-2bar"):
        make_trainer(folk_dirs, tmp_path / "b", num_steps=4, ckpt_path="folk-mel-3bar")
