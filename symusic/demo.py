"""``make demo``: train the small flat 2-bar model on the built-in folk corpus, then play with it.

Runs the real Sacred experiment (the same as ``python -m symusic.musicvae.train with
config_flat_2bar_small.json -F runs/demo``), then writes 8 samples from the prior and one
interpolation between two evaluation melodies as MIDI and piano-roll PNG, and prints where they
are and the final evaluation accuracies.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

CONFIG = Path(__file__).resolve().parent / "musicvae" / "config_flat_2bar_small.json"


def _latest_run(runs: Path) -> Path:
    numbered = [p for p in runs.iterdir() if p.is_dir() and p.name.isdigit()]
    if not numbered:
        raise SystemExit(f"no run folder was written under {runs}")
    return max(numbered, key=lambda p: int(p.name))


def main(argv: list[str] | None = None) -> int:
    """Train, then sample and interpolate; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m symusic.demo", description=__doc__)
    parser.add_argument("--runs", default="runs/demo", help="Sacred run folder root")
    parser.add_argument("--config", default=str(CONFIG))
    parser.add_argument("overrides", nargs="*", help="Sacred config overrides, e.g. num_steps=500")
    args = parser.parse_args(argv)

    runs = Path(args.runs)
    command = [sys.executable, "-m", "symusic.musicvae.train", "with", args.config,
               *args.overrides, "-F", str(runs)]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True)

    from symusic.data.dataset import MelodyCollection, make_eval_loader
    from symusic.musicvae.generate import interpolate_melodies, sample_melodies
    from symusic.musicvae.model import MusicVAE
    from symusic.musicvae.render import write_melodies_with_roll

    run_dir = _latest_run(runs)
    checkpoint = run_dir / "checkpoints" / "best.pt"
    model = MusicVAE.load(checkpoint).eval()
    out = run_dir / "demo"
    samples = sample_melodies(model, 8, temperature=0.5, seed=0)
    written = list(write_melodies_with_roll(list(samples), out, "samples"))

    slice_bar = model.config.seq_len // 16
    eval_dir = model_eval_dir(run_dir)
    windows = next(iter(make_eval_loader(MelodyCollection.from_folder(eval_dir),
                                         slice_bar=slice_bar, batch_size=64, num_workers=0)))
    start, end = windows[0].numpy(), windows[-1].numpy()
    _, steps = interpolate_melodies(model, start, end, steps=7)
    written += write_melodies_with_roll(
        [start, *steps, end], out, "interpolation",
        titles=["start (original)", *[f"step {i}" for i in range(7)], "end (original)"],
    )

    metrics = json.loads((run_dir / "info.json").read_text()).get("final_eval", {})
    print("\nDemo finished.")
    print(f"  run folder:  {run_dir}")
    print(f"  checkpoint:  {checkpoint}")
    for path in written:
        print(f"  wrote        {path}")
    print(
        "  final evaluation: teacher-forced accuracy "
        f"{metrics.get('accuracy', np.nan):.3f}, sampled (greedy) accuracy "
        f"{metrics.get('sampled_accuracy', np.nan):.3f}, "
        f"KL {metrics.get('kl_bits', np.nan):.1f} bits"
    )
    print(f"  TensorBoard: .venv/bin/tensorboard --logdir {runs}")
    return 0


def model_eval_dir(run_dir: Path) -> str:
    """The eval folder the run was configured with (from Sacred's ``config.json``)."""
    return json.loads((run_dir / "config.json").read_text())["eval_dir"]


if __name__ == "__main__":
    raise SystemExit(main())
