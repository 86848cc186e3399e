"""Prior samples from N(0, I) against a checkpoint's fitted prior: form, style and novelty.

For each prior (``normal``, and ``fitted`` where the checkpoint carries one: tools.fit_prior)
and each temperature, ``--num`` prior samples against as many eval windows:

* the repetition profile (``symusic.musicvae.structure``): exact restatements of the bar 4 and 8
  bars back, and the profile's distance to the data's as a multiple of the data's own
  split-half yardstick;
* the pitch-class and interval distributions (Jensen-Shannon bits, ``tools.metrics``) and the
  note density;
* novelty: for each sample, the largest share of its onsets (step and pitch) that one training
  window has too, against the same for the unseen eval windows (how close new songs of the
  same style come to the training set by chance). A prior that copies its training windows
  shows here: samples nearer the training set than unseen songs are.

    python benchmarks/fitted_prior.py --checkpoint pop-mel-16bar-hier --data data/pop909
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from symusic.data.tokens import FIRST_PITCH_TOKEN
from symusic.musicvae import structure
from symusic.musicvae.evaluation import load_model_windows
from symusic.musicvae.inference import TrainedModel
from symusic.musicvae.tools.metrics import sample_data_distances

TEMPERATURES = (0.0, 0.5, 1.0)


def nearest_train_overlap(windows: np.ndarray, train: np.ndarray, first_onset: int) -> np.ndarray:
    """For each window ``[T]`` of ``windows``, the largest share of its onsets (tokens of
    ``first_onset`` and up, at the same step) that one window of ``train`` has too (of the
    larger of the two onset counts)."""
    train_onsets = (train >= first_onset).sum(-1)
    best = []
    for i in range(0, len(windows), 16):
        chunk = windows[i : i + 16]
        same = ((chunk[:, None] == train[None]) & (chunk[:, None] >= first_onset)).sum(-1)
        counts = np.maximum((chunk >= first_onset).sum(-1)[:, None], train_onsets[None])
        best.append((same / np.maximum(counts, 1)).max(1))
    return np.concatenate(best)


def measure(trained: TrainedModel, samples: np.ndarray, data: np.ndarray, train: np.ndarray,
            yardstick: float) -> dict:
    """One row's figures for ``samples`` against the eval windows ``data``."""
    representation = trained.representation
    profile = structure.repetition_profile(samples, representation)
    reference = structure.repetition_profile(data, representation)
    distances = sample_data_distances(samples, data, representation)
    overlap = nearest_train_overlap(samples, train, FIRST_PITCH_TOKEN)
    return {
        "exact_lag4": profile["exact"][3], "exact_lag8": profile["exact"][7],
        "repetition_ratio": structure.profile_distance(profile, reference) / yardstick,
        "pitch_class_js": distances["pitch_class"]["js_bits"],
        "interval_js": distances["interval"]["js_bits"],
        "note_density": distances["note_density"]["sample_mean"],
        "nearest_train_overlap": float(overlap.mean()),
        "over_half_a_train_window": float((overlap > 0.5).mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--data", required=True, help="a prepared corpus: train/ and eval/")
    parser.add_argument("--num", type=int, default=512)
    parser.add_argument("--train-windows", type=int, default=8192)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    trained = TrainedModel.load(args.checkpoint)
    data, _ = load_model_windows(trained.model, f"{args.data}/eval", args.num)
    train, _ = load_model_windows(trained.model, f"{args.data}/train", args.train_windows)
    rep = trained.representation
    half = len(data) // 2
    yardstick = structure.profile_distance(structure.repetition_profile(data[:half], rep),
                                           structure.repetition_profile(data[half:], rep))
    priors = ["normal"] + (["fitted"] if trained.model.prior is not None else [])
    rows = [{"prior": "data (eval windows)", "temperature": None,
             **measure(trained, data, data, train, yardstick)}]
    for prior in priors:
        for temperature in TEMPERATURES:
            samples = trained.sample(len(data), temperature, seed=0, prior=prior)
            rows.append({"prior": prior, "temperature": temperature,
                         **measure(trained, samples, data, train, yardstick)})
    print(f"{args.checkpoint}: {len(data)} samples and eval windows, prior "
          f"{trained.prior_name}; yardstick {yardstick:.4f}")
    print("| prior | T | exact lag 4 | exact lag 8 | repetition (x yardstick) | pitch-class JS "
          "| interval JS | notes/bar | nearest train overlap | over half |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        t = "" if r["temperature"] is None else f"{r['temperature']:g}"
        print(f"| {r['prior']} | {t} | {r['exact_lag4']:.3f} | {r['exact_lag8']:.3f} | "
              f"{r['repetition_ratio']:.2f} | {r['pitch_class_js']:.4f} | "
              f"{r['interval_js']:.4f} | {r['note_density']:.2f} | "
              f"{r['nearest_train_overlap']:.3f} | {r['over_half_a_train_window']:.3f} |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"checkpoint": args.checkpoint, "yardstick": yardstick, "rows": rows},
                      handle, indent=1)


if __name__ == "__main__":
    main()
