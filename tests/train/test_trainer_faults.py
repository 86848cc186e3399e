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
