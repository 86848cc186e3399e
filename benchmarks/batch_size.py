"""Does a larger batch at a higher learning rate reach the same accuracy in fewer seconds?
(issue 23)

    taskset -c 0 python benchmarks/batch_size.py --batch 64 --lr 0.002 --seconds 240
    taskset -c 1 python benchmarks/batch_size.py --batch 256 --lr 0.004 --seconds 240

Trains ``folk-mel-2bar`` (``symusic/musicvae/config_folk_mel_2bar.json``) from scratch with
the real trainer, changing only the batch size and the learning rate, for a budget of
training seconds (wall time from the first step, batch loading included, evaluation not), and
evaluates every ``--eval-every``
training seconds on the first ``--eval-windows`` windows of the eval split. It prints one row
per evaluation: training seconds, steps, sequences seen, teacher-forced and free-running token
accuracy; compare two runs by the training seconds each needs to first reach an accuracy.
The schedules (sampling, beta, decay) are per step, as the config sets them.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import torch

from symusic.musicvae.training.config import ExperimentConfig
from symusic.musicvae.training.distributed import setup_distributed
from symusic.musicvae.training.runlog import RunLog
from symusic.musicvae.training.trainer import Trainer

CONFIG = Path(__file__).resolve().parents[1] / "symusic" / "musicvae" / "config_folk_mel_2bar.json"


class Budget(Exception):
    """The training seconds are spent."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.002)
    parser.add_argument("--seconds", type=float, default=240, help="training seconds")
    parser.add_argument("--eval-every", type=float, default=30, help="training seconds")
    parser.add_argument("--eval-windows", type=int, default=256)
    parser.add_argument("--precision", default="bf16", choices=("fp32", "bf16"))
    parser.add_argument("--data", default="data/folk")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    raw = json.loads(CONFIG.read_text())
    raw.update(batch_size=args.batch, learning_rate=args.lr, num_steps=10**7,
               evaluate_interval=10**7, print_interval=10**7, advanced_interval=10**7,
               precision=args.precision, device="cpu", num_workers=0,
               train_dir=f"{args.data}/train", eval_dir=f"{args.data}/eval",
               eval_max_windows=args.eval_windows)
    config = ExperimentConfig.from_dict(raw)
    print(f"batch {args.batch}, lr {args.lr}, {args.precision}, {args.threads} thread(s), "
          f"load {os.getloadavg()[0]:.2f}")
    print("| batch | lr | train s | steps | sequences | teacher-forced acc | free-running acc |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(config, Path(tmp), RunLog(None, Path(tmp), enabled=False),
                          setup_distributed("cpu"))
        train_step = trainer._train_step
        clock = {"start": None, "eval": 0.0, "train": 0.0, "next_eval": args.eval_every}

        def timed_step(tokens, schedule):
            # training seconds: wall time from the first step on (batch loading included),
            # less the evaluations
            if clock["start"] is None:
                clock["start"] = time.perf_counter()
            result = train_step(tokens, schedule)
            clock["train"] = time.perf_counter() - clock["start"] - clock["eval"]
            if clock["train"] >= clock["next_eval"]:
                clock["next_eval"] += args.eval_every
                eval_start = time.perf_counter()
                metrics = trainer.evaluate()
                clock["eval"] += time.perf_counter() - eval_start
                steps = trainer.state.step + 1
                print(f"| {args.batch} | {args.lr} | {clock['train']:.0f} | {steps} | "
                      f"{steps * args.batch} | {metrics['teacher_forced_accuracy']:.3f} | "
                      f"{metrics['sampled_accuracy']:.3f} |", flush=True)
                if clock["train"] >= args.seconds:
                    raise Budget
            return result

        trainer._train_step = timed_step
        try:
            trainer.fit()
        except Budget:
            pass
    print(f"load at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
