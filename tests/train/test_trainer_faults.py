"""Faults stop a run cleanly: a NaN loss keeps the last good checkpoint; bf16 is checked first."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from symusic.musicvae.config import ExperimentConfig
from symusic.musicvae.distributed import setup_distributed
from symusic.musicvae.runlog import RunLog
from symusic.musicvae.trainer import (
    Trainer,
    TrainingDiverged,
    UnsupportedPrecision,
    check_bf16_lstm,
)

from .test_train_cli import tiny_config


def make_trainer(folk_dirs, run_dir: Path, **overrides) -> Trainer:
    config = ExperimentConfig.from_dict(tiny_config(folk_dirs.train, folk_dirs.eval, **overrides))
    return Trainer(config, run_dir, RunLog(None, run_dir, enabled=False), setup_distributed("cpu"))


def test_a_nan_loss_stops_with_a_message_and_keeps_the_last_checkpoint(folk_dirs, tmp_path):
    trainer = make_trainer(folk_dirs, tmp_path, num_steps=4, evaluate_interval=2,
                           advanced_interval=1000)
    trainer.fit()
    last = tmp_path / "checkpoints" / "last.pt"
    saved = last.read_bytes()
    # Weights that blew up, as after a too-large step: the next loss is NaN.
    with torch.no_grad():
        next(trainer.model.decoder.parameters()).fill_(float("nan"))
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
    assert 0.0 <= metrics["accuracy"] <= 1.0


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
    assert 0.0 <= trainer.fit()["accuracy"] <= 1.0
