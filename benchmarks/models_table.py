"""The paper's Table 1 for the shipped models, from their evaluation reports.

Reads ``docs/models/NAME.eval.json`` (written by ``python -m symusic.musicvae.evaluate --json``
through ``python -m symusic.musicvae.tools.ship``) and prints markdown tables: reconstruction
(z = mu; ELBO and KL with z drawn from q(z|x)), prior samples against the data, and for models
of 4 bars or more the repetition profiles, where each distance is also given as a multiple of
the same distance between two halves of the data (the yardstick: 1.0 is "as close as the
data is to itself", the aim is 2.0 or less).

    python benchmarks/models_table.py [docs/models]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _distance(section: dict, feature: str) -> float:
    """Jensen-Shannon bits for histograms, 1 - overlap for the KDE features."""
    values = section[feature]
    return values["js_bits"] if "js_bits" in values else 1.0 - values["overlap"]


def main(folder: str = "docs/models") -> None:
    """Print both tables for every report in ``folder``."""
    reports = {p.name.removesuffix(".eval.json"): json.loads(p.read_text())
               for p in sorted(Path(folder).glob("*.eval.json"))}
    print("| model | windows | TF acc | greedy acc | TF note acc | greedy note acc | "
          "ELBO (nats) | KL (bits) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in reports.items():
        rec = r["reconstruction"]
        print(f"| {name} | {r['num_windows']:,} | {rec['teacher_forced_accuracy']:.3f} | "
              f"{rec['sampled_accuracy']:.3f} | {rec['teacher_forced_note_accuracy']:.3f} | "
              f"{rec['sampled_note_accuracy']:.3f} | {rec['elbo_nats']:.1f} | "
              f"{rec['kl_bits']:.1f} |")
    print()
    features = ("pitch_class", "interval", "pitch_range", "note_density")
    print("| model | " + " | ".join(f"{f} (x yardstick)" for f in features)
          + " | notes/bar samples / data |")
    print("|---|" + "---|" * (len(features) + 1))
    for name, r in reports.items():
        cells = []
        for feature in features:
            sample = _distance(r["prior_samples"], feature)
            halves = _distance(r["data_halves"], feature)
            cells.append(f"{sample:.3f} ({sample / max(halves, 1e-9):.1f}x)")
        density = r["prior_samples"]["note_density"]
        print(f"| {name} | " + " | ".join(cells)
              + f" | {density['sample_mean']:.2f} / {density['data_mean']:.2f} |")
    print()
    print_repetition_table({n: r for n, r in reports.items() if "repetition" in r})


def print_repetition_table(reports: dict) -> None:
    """Long-term structure: exact repeats at 4 and 8 bars, and each profile's distance to the
    data's as a multiple of the data's split-half yardstick."""
    print("| model | data: exact repeat at 4 / 8 bars | prior samples: 4 / 8 (distance, x "
          "yardstick) | teacher-forced: 4 / 8 (distance) | free-running: 4 / 8 (distance) |")
    print("|---|---|---|---|---|")
    for name, r in reports.items():
        rep = r["repetition"]
        yardstick = max(rep["data_halves_distance"], 1e-9)

        print(f"| {name} | {_repetition_cell(rep['data'])} (yardstick "
              f"{rep['data_halves_distance']:.3f}) | "
              f"{_repetition_cell(rep['prior_samples'], yardstick)} | "
              f"{_repetition_cell(rep['teacher_forced'])} | {_repetition_cell(rep['sampled'])} |")


def _repetition_cell(profile: dict, yardstick: float | None = None) -> str:
    """Exact repeats at lags 4 and 8, and the distance (a multiple of ``yardstick``, if given)."""
    text = f"{profile['exact'][3]:.2f} / {profile['exact'][7]:.2f}"
    if "distance" in profile:
        ratio = f", {profile['distance'] / yardstick:.1f}x" if yardstick else ""
        text += f" ({profile['distance']:.3f}{ratio})"
    return text


if __name__ == "__main__":
    main(*sys.argv[1:])
