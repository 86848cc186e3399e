"""``precision: auto`` picks bf16 where the machine has fast bf16, fp32 elsewhere, and the
start-up line says which it chose and why."""

from __future__ import annotations

import pytest
import torch

from symusic import devices
from symusic.devices import UnsupportedPrecision, choose_precision
from symusic.musicvae.training.config import ExperimentConfig

from .test_train_cli import tiny_config
from .test_trainer_faults import make_trainer

CPU = torch.device("cpu")


def test_the_cpu_flags_are_read_from_cpuinfo(tmp_path):
    amx = tmp_path / "amx"
    amx.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 amx_bf16 amx_tile"
                   "\n\nprocessor\t: 1\nflags\t\t: fpu avx512_bf16 amx_bf16\n")
    avx2 = tmp_path / "avx2"
    avx2.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 fma\n")
    assert devices.cpu_bf16_flags(str(amx)) == {"avx512_bf16", "amx_bf16"}
    assert devices.cpu_bf16_flags(str(avx2)) == set()
    assert devices.cpu_bf16_flags(str(tmp_path / "missing")) == set()


@pytest.mark.parametrize(("flags", "expected"), [
    ({"amx_bf16", "avx512_bf16"}, ("bf16", "this CPU has amx_bf16/avx512_bf16")),
    ({"avx512_bf16"}, ("bf16", "this CPU has avx512_bf16")),
    (set(), ("fp32", "this CPU has no AVX512-BF16 or AMX")),
])
def test_auto_follows_the_cpu(monkeypatch, flags, expected):
    monkeypatch.setattr(devices, "cpu_bf16_flags", lambda: flags)
    assert devices.auto_precision(CPU) == expected


def test_auto_falls_back_to_fp32_where_the_bf16_lstm_does_not_run(monkeypatch):
    monkeypatch.setattr(devices, "cpu_bf16_flags", lambda: {"avx512_bf16"})

    def refuse(device):
        raise UnsupportedPrecision("no bf16 LSTM")

    monkeypatch.setattr(devices, "check_bf16_lstm", refuse)
    precision, reason = choose_precision("auto", CPU)
    assert precision == "fp32" and "does not run" in reason
    assert choose_precision("fp32", CPU) == ("fp32", "as configured")
    with pytest.raises(UnsupportedPrecision):
        choose_precision("bf16", CPU)  # asked for explicitly: refused, not silently changed


def test_auto_is_the_default_and_the_start_up_line_names_the_choice(
        folk_dirs, tmp_path, monkeypatch):
    config = tiny_config(folk_dirs.train, folk_dirs.eval)
    del config["precision"]
    assert ExperimentConfig.from_dict(config).training.precision == "auto"
    monkeypatch.setattr(devices, "cpu_bf16_flags", lambda: set())
    trainer = make_trainer(folk_dirs, tmp_path / "fp32", precision="auto")
    assert trainer.precision == "fp32"
    assert "fp32 (auto: this CPU has no AVX512-BF16 or AMX)" in trainer.describe()
    monkeypatch.setattr(devices, "cpu_bf16_flags", lambda: {"amx_bf16"})
    monkeypatch.setattr(devices, "check_bf16_lstm", lambda device: None)
    trainer = make_trainer(folk_dirs, tmp_path / "bf16", precision="auto")
    assert trainer.precision == "bf16"
    assert "bf16 (auto: this CPU has amx_bf16)" in trainer.describe()
    with trainer._autocast():
        assert torch.is_autocast_enabled("cpu")
