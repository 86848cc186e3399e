"""Evaluation note accuracy against training steps and wall time, for runs side by side.

Reads each run folder's Sacred ``metrics.json`` (``eval.teacher_forced_note_accuracy`` and
``eval.sampled_note_accuracy``, logged at every evaluation) and draws one PNG with two panels:
against steps and against wall-clock minutes since the run started (Sacred's ``run.json``).

    python benchmarks/learning_curves.py --out docs/models/table1-pop-16bar.png \\
        hier=runs/pop-16bar-hier/1+runs/pop-16bar-hier/2 flat=runs/pop-16bar-flat/1

A run that continued a model from its weights (``ckpt_path``, a new run counting from step 0)
follows on from the run before it in a ``+`` chain; one continued from a shipped model is drawn
where it continues with ``--offset label=STEPS,MINUTES`` (the steps and minutes the model had
trained before).
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SERIES = {"eval.teacher_forced_note_accuracy": ("teacher-forced", "-"),
          "eval.sampled_note_accuracy": ("free-running", "--")}


def read_curves(runs: list[Path]) -> dict[str, tuple[list[int], list[float], list[float]]]:
    """``{metric: (steps, minutes, values)}`` of a run and the runs that continued it, in order:
    each one's minutes follow on from the one before's stop (Sacred's ``stop_time``, else its
    last logged value), and a run that counts from step 0 again (continued from the weights,
    ``ckpt_path``) follows on from the last step the one before logged."""
    curves: dict[str, tuple[list[int], list[float], list[float]]] = {
        name: ([], [], []) for name in SERIES}
    offset, step_offset, last_step = 0.0, 0, 0
    for run in runs:
        metrics = json.loads((run / "metrics.json").read_text())
        record = json.loads((run / "run.json").read_text())
        started, stopped = record.get("start_time"), record.get("stop_time")
        stamps = [datetime.fromisoformat(t) for m in metrics.values() for t in m["timestamps"]]
        first = datetime.fromisoformat(started) if started else min(stamps)
        last = datetime.fromisoformat(stopped) if stopped else max(stamps)
        run_steps = [step for m in metrics.values() for step in m["steps"]]
        if run_steps and min(run_steps) <= last_step:
            step_offset = last_step
        for name in SERIES:
            if name in metrics:
                steps, minutes, values = curves[name]
                steps += [step_offset + step for step in metrics[name]["steps"]]
                minutes += [offset + (datetime.fromisoformat(t) - first).total_seconds() / 60
                            for t in metrics[name]["timestamps"]]
                values += metrics[name]["values"]
        offset += (last - first).total_seconds() / 60
        last_step = step_offset + max(run_steps, default=0)
    return {name: curve for name, curve in curves.items() if curve[0]}


def main(argv: list[str] | None = None) -> None:
    """Draw the curves of the ``label=run_folder`` arguments into ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+",
                        help="label=run folder, or label=run+resumed run+... (in order)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--title", default="evaluation note accuracy (z = mu)")
    parser.add_argument("--offset", action="append", default=[],
                        help="label=STEPS,MINUTES: that label's curves start there")
    args = parser.parse_args(argv)
    offsets = {}
    for item in args.offset:
        label, at = item.split("=", 1)
        steps_before, minutes_before = at.split(",")
        offsets[label] = (int(steps_before), float(minutes_before))
    figure, (by_step, by_time) = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for index, item in enumerate(args.runs):
        label, folders = item.split("=", 1)
        colour = f"C{index}"
        runs = [Path(folder) for folder in folders.split("+")]
        steps_before, minutes_before = offsets.get(label, (0, 0.0))
        for name, (steps, minutes, values) in read_curves(runs).items():
            kind, style = SERIES[name]
            steps = [steps_before + step for step in steps]
            minutes = [minutes_before + minute for minute in minutes]
            by_step.plot(steps, values, style, color=colour, label=f"{label}, {kind}")
            by_time.plot(minutes, values, style, color=colour, label=f"{label}, {kind}")
    by_step.set_xlabel("training step")
    by_time.set_xlabel("wall time (minutes)")
    by_step.set_ylabel("note-onset accuracy")
    by_step.legend(fontsize=8)
    for axis in (by_step, by_time):
        axis.grid(alpha=0.3)
    figure.suptitle(args.title)
    figure.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
