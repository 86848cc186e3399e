"""Evaluate a checkpoint on a folder of MIDI files, in the paper's terms and beyond.

``python -m symusic.musicvae.evaluate --checkpoint C --data DIR [--json FILE]``

* reconstruction accuracy, as in Table 1 of Roberts et al. (2018): teacher-forced (the
  decoder sees the true previous token) and sampled (free-running, argmax), z = mu;
* the ELBO and the KL divergence in bits (z drawn once from q(z|x), seeded by ``--seed``);
* prior samples against the data, feature by feature (``metrics.sample_data_distances``),
  z drawn from ``--prior`` (a checkpoint's fitted mixture where it has one, else N(0, I)),
  next to the same measures between two halves of the data as a yardstick;
* interpolation smoothness between random pairs of data windows
  (``metrics.interpolation_smoothness``).

The measuring is :mod:`symusic.musicvae.evaluation`'s, the same training's evaluation calls:
the reconstruction figures are the ones training logs as ``eval.*`` (the report's ``z`` section
says which z each uses).

The data windows are those training evaluates on: every distinct window of the model's
length of the melodies of the tracks, read with the extraction and the programs the model was
trained with (its checkpoint's data settings; ``--programs`` may widen them), as training
reads them (``symusic.data.dataset``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from symusic.data.melody import describe_programs, parse_programs
from symusic.errors import InputError
from symusic.musicvae import groove_evaluation
from symusic.musicvae.evaluation import evaluate, load_model_windows
from symusic.musicvae.inference import TrainedModel, load_model
from symusic.musicvae.model.prior import PRIORS
from symusic.musicvae.tools.cli import (
    add_device_argument,
    check_output_file,
    run_cli,
)

PROG = "symusic-evaluate"
# Bounds on what one command may ask for: (flag, smallest, largest). Fewer than 2 data
# windows leave the data halves and the interpolations empty (every measure nan).
LIMITS = {"num_samples": (1, 100_000), "batch_size": (1, 65_536), "interp_pairs": (1, 1000),
          "interp_steps": (2, 100), "max_windows": (2, None)}


def _format(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4f}"
    if isinstance(value, list):  # a repetition profile: one figure per lag
        return "[" + " ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in value) + "]"
    return str(value)


def format_table(report: dict[str, Any]) -> str:
    """The report as a readable two-column table, one section per top-level group."""
    lines = []
    for section, content in report.items():
        if not isinstance(content, dict):
            lines.append(f"{section:<38} {_format(content)}")
            continue
        lines.append(f"\n[{section}]")
        for key, value in content.items():
            if isinstance(value, dict):
                cells = "  ".join(f"{k} {_format(v)}" for k, v in value.items())
                lines.append(f"  {key:<36} {cells}")
            else:
                lines.append(f"  {key:<36} {_format(value)}")
    return "\n".join(lines).lstrip("\n")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN
    return value


def run(args: argparse.Namespace) -> None:
    """The ``evaluate`` command: load, measure, print, write JSON."""
    for name, (low, high) in LIMITS.items():
        value = getattr(args, name)
        if value is not None and not (low <= value and (high is None or value <= high)):
            allowed = f"{low} or more" if high is None else f"{low} to {high}"
            raise InputError(f"--{name.replace('_', '-')} must be {allowed}, got {value}")
    if not 0 <= args.temperature < float("inf"):
        raise InputError(f"--temperature must be 0 (argmax) or a positive number, "
                         f"got {args.temperature}")
    if not 0 <= args.seed < 2**64:
        raise InputError(f"--seed must be 0 to 2**64 - 1, got {args.seed}")
    if args.json:
        check_output_file(args.json, "--json")
    try:
        programs = None if args.programs is None else parse_programs(args.programs)
    except ValueError as err:
        raise InputError(f"--programs: {err}") from None
    model = load_model(args.checkpoint, args.device)
    settings = model.data_settings
    programs = settings.programs if programs is None else programs
    windows, info = load_model_windows(model, args.data, args.max_windows, programs)
    if len(windows) < 2:
        bars = model.representation.bars_in(model.config.seq_len)
        raise InputError(f"{args.data}: only one window of {bars} bars; evaluation needs 2 "
                         "or more")
    info["programs"] = describe_programs(programs)
    info["extraction"] = settings.extraction
    report = {"checkpoint": str(args.checkpoint), "data": str(args.data), **info}
    report.update(evaluate(model, windows, args.num_samples, args.temperature, args.batch_size,
                           args.interp_pairs, args.interp_steps, args.seed, args.prior))
    if settings.representation == groove_evaluation.REPRESENTATION:  # the files' tempi
        report.update(groove_evaluation.groove_report(TrainedModel(model), args.data,
                                                      seed=args.seed))
    print(format_table(report))
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(_jsonable(report), indent=2) + "\n")
        print(f"\nwrote {path}")


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the evaluation command."""
    p = argparse.ArgumentParser(prog="python -m symusic.musicvae.evaluate",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True, help="model checkpoint (.pt)")
    p.add_argument("--data", required=True, help="folder of MIDI files")
    p.add_argument("--json", default=None, help="also write every metric to this JSON file")
    p.add_argument("--num-samples", type=int, default=512,
                   help="prior samples to compare, at most 100,000 (default %(default)s)")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="of the prior samples: 0 = argmax, or positive (default %(default)s)")
    p.add_argument("--prior", choices=PRIORS, default="auto",
                   help="of the prior samples: normal = N(0, I), fitted = the model's fitted "
                        "mixture, auto = fitted where the model has one (default)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--max-windows", type=int, default=None,
                   help="evaluate on an evenly spaced subset of this many data windows "
                        "(2 or more)")
    p.add_argument("--programs", default=None,
                   help="General MIDI programs of the tracks to read, e.g. 0-31,40,73 "
                        "(default: those the model was trained on)")
    p.add_argument("--interp-pairs", type=int, default=16,
                   help="pairs of windows to morph, at most 1000 (default %(default)s)")
    p.add_argument("--interp-steps", type=int, default=9,
                   help="steps per interpolation, 2 to 100 (default %(default)s)")
    p.add_argument("--seed", type=int, default=0)
    add_device_argument(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m symusic.musicvae.evaluate``."""
    args = build_parser().parse_args(argv)
    return run_cli(PROG, run, args)


if __name__ == "__main__":
    sys.exit(main())
