"""Training speed and accuracy of the small configs on the built-in corpus, fp32 against bf16.

    python benchmarks/training.py --steps 300 [--configs flat hier] [--precisions fp32 bf16]

Trains each config from scratch for ``--steps`` steps with the real training loop, then prints
one table row per run: seconds per 1000 steps, sequences/s, and the evaluation loss,
teacher-forced and free-running (greedy) accuracy on the eval split.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

from symusic.musicvae.training.config import ExperimentConfig
from symusic.musicvae.training.distributed import setup_distributed
from symusic.musicvae.training.runlog import RunLog
from symusic.musicvae.training.trainer import Trainer

CONFIGS = {
    "flat": "config_flat_2bar_small.json",
    "hier": "config_hier_8bar_small.json",
}
CONFIG_DIR = Path(__file__).resolve().parents[1] / "symusic" / "musicvae"


def run_once(name: str, precision: str, steps: int, data: str, device: str) -> dict:
    """Train one config for ``steps`` steps; return timing and final evaluation."""
    raw = json.loads((CONFIG_DIR / CONFIGS[name]).read_text())
    raw.update(
        num_steps=steps, evaluate_interval=steps, print_interval=max(steps // 4, 1),
        advanced_interval=10**9, precision=precision, device=device, num_workers=0,
        train_dir=f"{data}/train", eval_dir=f"{data}/eval", eval_max_windows=512,
    )
    config = ExperimentConfig.from_dict(raw)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(config, Path(tmp), RunLog(None, Path(tmp), enabled=False),
                          setup_distributed(device))
        trainer.evaluate = _timed(trainer.evaluate)
        start = time.perf_counter()
        metrics = trainer.fit()
        total = time.perf_counter() - start
    train_seconds = total - trainer.evaluate.seconds
    return {
        "config": name, "precision": precision, "steps": steps,
        "s_per_1000_steps": 1000 * train_seconds / steps,
        "seq_per_s": steps * config.training.batch_size / train_seconds,
        "eval_loss": metrics["loss"], "tf_acc": metrics["teacher_forced_accuracy"],
        "sampled_acc": metrics["sampled_accuracy"],
    }


def _timed(fn):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            wrapper.seconds += time.perf_counter() - start

    wrapper.seconds = 0.0
    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    parser.add_argument("--data", default="data/folk")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    print(f"# {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}, device {args.device}")
    header = ("config", "precision", "steps", "s/1000 steps", "seq/s", "eval loss",
              "teacher-forced acc", "sampled acc")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name in args.configs:
        for precision in args.precisions:
            torch.manual_seed(0)
            r = run_once(name, precision, args.steps, args.data, args.device)
            print(f"| {r['config']} | {r['precision']} | {r['steps']} | "
                  f"{r['s_per_1000_steps']:.0f} | {r['seq_per_s']:.0f} | {r['eval_loss']:.2f} | "
                  f"{r['tf_acc']:.3f} | {r['sampled_acc']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
