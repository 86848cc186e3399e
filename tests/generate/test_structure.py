"""The repetition profile on hand-made tunes (AABA, none), and in the one evaluation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from midi_files import tiny_model_config

from symusic.data import tokens
from symusic.data.representation import MELODY
from symusic.musicvae import structure
from symusic.musicvae.evaluation import evaluate, reconstruction_metrics, window_batches
from symusic.musicvae.model import MusicVAE
from symusic.musicvae.training.config import ExperimentConfig

STEPS = tokens.STEPS_PER_BAR


def tune(bars: list[list[tuple[int, int]]]) -> np.ndarray:
    """A window of ``(step in bar, pitch)`` onsets per bar, each note held to the next."""
    window = np.full(STEPS * len(bars), tokens.NO_EVENT, dtype=np.int64)
    for index, bar in enumerate(bars):
        for step, pitch in bar:
            window[index * STEPS + step] = tokens.pitch_to_token(pitch)
    return window


def shifted(bar: list[tuple[int, int]], interval: int) -> list[tuple[int, int]]:
    return [(step, pitch + interval) for step, pitch in bar]


# four different bars: different rhythms and pitches
A = [[(0, 60), (4, 62), (8, 64)], [(0, 65), (8, 67)], [(0, 69), (2, 67), (4, 65), (12, 64)],
     [(0, 62)]]


def test_an_aaba_tune_repeats_at_four_and_eight_bars():
    # A A B A, where B is A a fourth higher: a sequence, same rhythm
    bars = A + A + [shifted(bar, 5) for bar in A] + A
    profile = structure.repetition_profile(tune(bars)[None], MELODY)
    assert profile["bars"] == 15
    assert profile["exact"][0] == 0.0 and profile["rhythm"][0] == 0.0  # no bar repeats the last
    # lag 4: bars 4-7 repeat 0-3 exactly, 8-11 repeat 4-7 transposed, 12-15 neither (B -> A
    # is a transposition down: that counts as transposed too)
    assert profile["exact"][3] == pytest.approx(4 / 12, abs=1e-4)
    assert profile["transposed"][3] == pytest.approx(12 / 12)
    assert profile["rhythm"][3] == pytest.approx(1.0)
    # lag 8: 8-11 (B) against 0-3 (A) transposed, 12-15 (A) against 4-7 (A) exactly
    assert profile["exact"][7] == pytest.approx(4 / 8)
    assert profile["transposed"][7] == pytest.approx(1.0)
    assert len(profile["exact"]) == structure.MAX_LAG


def test_a_tune_with_no_repetition_scores_zero_and_rests_do_not_count():
    # bar i has onsets at steps 0 and 1 + i: no two bars share a rhythm
    bars = [[(0, 60 + i), (1 + i, 72 - i)] for i in range(15)] + [[]]
    profile = structure.repetition_profile(tune(bars)[None], MELODY)
    for way in structure.WAYS:
        assert profile[way] == [0.0] * structure.MAX_LAG
    assert profile["bars"] == 14  # bars 1-14 at lag 1; the empty last bar is not counted
    with pytest.raises(ValueError, match="4 bars or more"):
        structure.repetition_profile(tune(bars[:2])[None], MELODY)


def test_distances_are_zero_to_oneself_and_grow_with_the_difference():
    aaba = tune(A + A + [shifted(bar, 5) for bar in A] + A)
    none = tune([[(0, 60 + i), (1 + i % 15, 72 - i)] for i in range(16)])
    report = structure.structure_report(np.stack([aaba, aaba]), MELODY,
                                        same=np.stack([aaba]), other=np.stack([none]))
    assert report["data_halves_distance"] == 0.0
    assert report["same"]["distance"] == 0.0
    assert report["other"]["distance"] > 0.2


@pytest.fixture(scope="module")
def four_bar_model() -> MusicVAE:
    config = ExperimentConfig.from_dict({
        "batch_size": 4, "num_workers": 0, "train_dir": "x", "eval_dir": "x", "slice_bar": 4,
        "ckpt_path": None, **tiny_model_config(), "num_steps": 1, "learning_rate": 1e-3,
        "lr_scheduler_factor": 0.5, "lr_scheduler_patience": 1,
        "sampling_settings": {"schedule": "constant", "rate": 0.0},
        "beta_settings": {"start_beta": 0.2, "end_beta": 0.2, "duration": 0},
        "free_bits": 0, "evaluate_interval": 1, "advanced_interval": 1, "print_interval": 1})
    torch.manual_seed(0)
    return MusicVAE(config.model).eval()


def test_the_evaluation_reports_the_profiles_and_their_distances(four_bar_model):
    windows = np.stack([tune(A), tune(A[::-1]), tune(A[1:] + A[:1]), tune(A)])
    report = evaluate(four_bar_model, windows, num_samples=6, batch_size=4, interp_pairs=1,
                      interp_steps=2)
    repetition = report["repetition"]
    assert repetition["data"] == structure.repetition_profile(windows, MELODY)
    for name in ("prior_samples", "teacher_forced", "sampled"):
        assert set(structure.WAYS) <= set(repetition[name])
        assert 0.0 <= repetition[name]["distance"] <= 1.0
    figures = reconstruction_metrics(four_bar_model, window_batches(windows, 4))
    assert figures["sampled_repetition_distance"] == pytest.approx(
        repetition["sampled"]["distance"])
    json.dumps(report)  # JSON-ready


def test_two_bar_windows_have_no_repetition_section(four_bar_model):
    windows = np.stack([tune(A[:2]), tune(A[2:])])
    figures = reconstruction_metrics(four_bar_model, window_batches(windows, 2))
    assert "sampled_repetition_distance" not in figures
