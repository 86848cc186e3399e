"""A checkpoint records how its model's data was read (extraction, programs), and old
checkpoints are read as what they were trained with."""

from __future__ import annotations

import pytest
import torch
from midi_files import tiny_model_config

from symusic.data.settings import DataSettings
from symusic.musicvae.model import CheckpointError, MusicVAE
from symusic.musicvae.model.config import ModelConfig

from .test_trainer_faults import make_trainer


def tiny_model() -> MusicVAE:
    return MusicVAE(ModelConfig.from_dict(tiny_model_config(), seq_len=32))


def test_data_settings_round_trip_through_a_checkpoint(tmp_path):
    model = tiny_model()
    assert model.data_settings == DataSettings()  # magenta, programs 0..31
    model.data_settings = DataSettings(extraction="any_meter", programs=(0, 40, 41))
    state = model.to_state()
    assert state["data_settings"] == {"representation": "melody", "extraction": "any_meter",
                                      "programs": [0, 40, 41]}
    model.save(tmp_path / "m.pt")
    assert MusicVAE.load(tmp_path / "m.pt").data_settings == model.data_settings


def test_a_checkpoint_without_data_settings_was_trained_with_any_meter(tmp_path):
    state = tiny_model().to_state()
    del state["data_settings"]
    assert MusicVAE.from_state(state).data_settings == DataSettings("melody", "any_meter",
                                                                    tuple(range(32)))
    state["training"] = {"config": {"programs": [0, 1, 40]}}
    assert MusicVAE.from_state(state).data_settings.programs == (0, 1, 40)
    state["data_settings"] = {"extraction": "every_meter"}
    with pytest.raises(CheckpointError, match="extraction must be one of"):
        MusicVAE.from_state(state)


def test_the_trainer_records_its_config_data_settings(folk_dirs, tmp_path):
    trainer = make_trainer(folk_dirs, tmp_path, num_steps=2, evaluate_interval=2,
                           advanced_interval=1000, extraction="any_meter",
                           programs=list(range(8)))
    trainer.fit()
    saved = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)
    assert saved["data_settings"]["extraction"] == "any_meter"
    model = MusicVAE.load(tmp_path / "checkpoints" / "last.pt")
    assert model.data_settings == DataSettings("melody", "any_meter", tuple(range(8)))


def test_extraction_is_a_checked_config_key(folk_dirs):
    from symusic.musicvae.model.config import ConfigError
    from symusic.musicvae.training.config import ExperimentConfig

    from .test_train_cli import tiny_config

    config = tiny_config(folk_dirs.train, folk_dirs.eval)
    assert ExperimentConfig.from_dict(config).training.extraction == "magenta"
    with pytest.raises(ConfigError, match="extraction: input should be 'magenta' or 'any_meter'"):
        ExperimentConfig.from_dict({**config, "extraction": "4/4"})
