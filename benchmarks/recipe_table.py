"""One markdown row per training run, for the recipe ablations in benchmarks/README.md.

Reads Sacred run folders (``-F RUNS`` writes ``RUNS/<id>/``): the config's changes against a
baseline config, the steps, the wall time (run.json's start and stop), and the evaluation
figures at the last evaluation of the run (``metrics.json``; z = mu, on ``eval_max_windows``
windows of the eval split): teacher-forced token and note-onset accuracy, free-running (greedy)
token accuracy and KL in bits.

    python benchmarks/recipe_table.py BASELINE.json RUN_DIR [RUN_DIR ...]
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path


def _flat(config: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _changes(config: dict, baseline: dict) -> str:
    ours, base = _flat(config), _flat(baseline)
    skip = ("seed", "num_workers", "train_dir", "eval_dir", "ckpt_path", "print_interval",
            "evaluate_interval", "advanced_interval", "__doc__")
    changed = [f"{k.split('.')[-1] if 'decoder_args.key' not in k else 'decoder'}={v}"
               for k, v in ours.items()
               if base.get(k) != v and not k.endswith(skip)]
    return ", ".join(changed) or "baseline"


OLD_NAMES = {"teacher_forced_accuracy": "accuracy", "teacher_forced_note_accuracy": "note_accuracy"}


def row(run_dir: Path, baseline: dict) -> str:
    """The markdown row of one run folder."""
    config = json.loads((run_dir / "config.json").read_text())
    run = json.loads((run_dir / "run.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    start = datetime.fromisoformat(run["start_time"])
    stop = datetime.fromisoformat(run["stop_time"])

    def series(name: str) -> dict:
        # runs from before the trainer and the evaluate command shared their names
        return metrics.get(f"eval.{name}") or metrics[f"eval.{OLD_NAMES.get(name, name)}"]

    def last(name: str) -> float:
        return series(name)["values"][-1]

    step = series("teacher_forced_accuracy")["steps"][-1]
    return (f"| {_changes(config, baseline)} | {step:,} | {(stop - start).seconds / 60:.0f} min"
            f" | {last('teacher_forced_accuracy'):.3f} | {last('teacher_forced_note_accuracy'):.3f}"
            f" | {last('sampled_accuracy'):.3f} | {last('kl_bits'):.1f} |")


def main(baseline_path: str, *run_dirs: str) -> None:
    """Print the header and a row per run folder."""
    baseline = json.loads(Path(baseline_path).read_text())
    print("| change against the baseline | steps | wall | TF acc | TF note acc | greedy acc "
          "| KL bits |")
    print("|---|---|---|---|---|---|---|")
    for run_dir in run_dirs:
        print(row(Path(run_dir), baseline))


if __name__ == "__main__":
    main(*sys.argv[1:])
