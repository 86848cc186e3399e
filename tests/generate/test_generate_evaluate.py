"""``python -m symusic.musicvae.evaluate`` on the tiny checkpoint: every metric is there and
the numbers are the ones the parts compute."""

from __future__ import annotations

import json
import math

from symusic.musicvae.evaluation import WHICH_Z, evaluate, load_data_windows
from symusic.musicvae.inference import TrainedModel
from symusic.musicvae.tools import metrics
from symusic.musicvae.tools.evaluate import format_table, main

EXPECTED = {
    "reconstruction": {
        "teacher_forced_accuracy", "teacher_forced_note_accuracy", "sampled_accuracy",
        "sampled_note_accuracy", "elbo_nats", "reconstruction_nats", "kl_nats", "kl_bits",
    },
    "prior_samples": {
        "num_samples", "temperature", "pitch_class", "interval", "pitch_range", "note_density",
        "empty",
    },
    "interpolation": {
        "pairs", "steps", "adjacent_distance", "endpoint_distance", "path_ratio",
        "max_step_share", "even_step_share", "input_distance",
    },
}


def test_evaluate_json_holds_every_metric(tiny_model, tiny_model_path, midi_dir, tmp_path,
                                          capsys):
    out = tmp_path / "report.json"
    assert main(["--checkpoint", str(tiny_model_path), "--data", str(midi_dir), "--json",
                 str(out), "--num-samples", "24", "--batch-size", "8", "--interp-pairs", "3",
                 "--interp-steps", "4", "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    for section, keys in EXPECTED.items():
        assert keys <= set(report[section]), (section, keys - set(report[section]))
    for feature in ("pitch_class", "interval"):
        assert set(report["prior_samples"][feature]) == {"js_bits", "overlap"}
        assert set(report["data_halves"][feature]) == {"js_bits", "overlap"}
    for feature in ("pitch_range", "note_density"):
        assert "overlap" in report["prior_samples"][feature]
    rec = report["reconstruction"]
    for key in ("teacher_forced_accuracy", "sampled_accuracy", "sampled_note_accuracy"):
        assert 0.0 <= rec[key] <= 1.0
    assert math.isclose(rec["kl_bits"] * math.log(2), rec["kl_nats"], rel_tol=1e-5)
    assert math.isclose(rec["elbo_nats"], -(rec["reconstruction_nats"] + rec["kl_nats"]),
                        rel_tol=1e-4)
    assert report["interpolation"]["pairs"] == 3 and report["prior_samples"]["num_samples"] == 24
    # the free-running accuracy is the one of the model's own argmax reconstructions
    windows, _ = load_data_windows(midi_dir, tiny_model.config.seq_len)
    assert report["num_windows"] == len(windows)
    expected = metrics.token_accuracy(TrainedModel(tiny_model).reconstruct(windows), windows)
    assert math.isclose(rec["sampled_accuracy"], expected, rel_tol=1e-9)
    assert "teacher_forced_accuracy" in printed and "[prior_samples]" in printed
    # the report says which z each figure uses
    assert report["z"] == WHICH_Z and "[z]" in printed and "q(z|x)" in printed


def test_format_table_shows_nested_values():
    table = format_table({"n": 3, "group": {"a": 0.5, "b": {"x": float("nan"), "y": 2}}})
    assert "n" in table.splitlines()[0] and "3" in table.splitlines()[0]
    assert "[group]" in table and "0.5000" in table and "x nan  y 2" in table


def test_evaluate_is_deterministic_and_leaves_the_rng(tiny_model, midi_dir):
    import torch

    windows, _ = load_data_windows(midi_dir, tiny_model.config.seq_len)
    options = dict(num_samples=8, interp_pairs=2, interp_steps=3)
    state = torch.get_rng_state()
    first = evaluate(tiny_model, windows[:10], seed=1, **options)
    assert torch.equal(torch.get_rng_state(), state)
    assert json.dumps(first) == json.dumps(evaluate(tiny_model, windows[:10], seed=1, **options))
    assert first["num_windows"] == 10
    other = evaluate(tiny_model, windows[:10], seed=2, **options)
    assert other["reconstruction"]["elbo_nats"] != first["reconstruction"]["elbo_nats"]
