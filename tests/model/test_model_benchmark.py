"""The throughput benchmark runs, and its analytic FLOP count is right for a small flat model."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from symusic.musicvae.model import ModelConfig

PATH = Path(__file__).parents[2] / "benchmarks" / "model_throughput.py"
spec = importlib.util.spec_from_file_location("model_throughput", PATH)
bench = importlib.util.module_from_spec(spec)
sys.modules["model_throughput"] = bench  # dataclasses look their module up there
spec.loader.exec_module(bench)


def test_training_flops_of_a_flat_model_by_hand():
    config = ModelConfig.from_dict(bench.flat_config(4, 8, 1, 16, 1), seq_len=32)
    encoder = 32 * 2 * (2 * 4 * 8 * (12 + 8)) + 2 * (2 * 16 * 4)  # BiLSTM, mu and sigma
    decoder = 2 * 4 * 32 + 32 * (2 * 4 * 16 * (12 + 4 + 16) + 2 * 16 * 90)  # state, LSTM, logits
    assert bench.training_step_flops(config, batch=3) == 3 * 3 * (encoder + decoder)


def test_benchmark_prints_a_row_per_model_and_mode(capsys):
    bench.main(["--widths", "16", "--no-spec", "--batch", "4", "--min-seconds", "0",
                "--max-steps", "1", "--matmul-size", "64"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| flat")
            or line.startswith("| hier")]
    assert len(rows) == 2 * len(bench.MODES)
