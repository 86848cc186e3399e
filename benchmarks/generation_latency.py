"""Latency of generation from the shipped models: one nn.LSTM call per step against
``LSTMStepper`` (issue 23).

    python benchmarks/generation_latency.py                      # the 16-bar models, 8 samples
    python benchmarks/generation_latency.py --models folk-mel-2bar --n 8 --repeats 20

``TrainedModel.load(name).sample(n, seed=...)`` end to end (z drawn, decoded, tokens back as
numpy), the two paths interleaved (A, B, A, B, ...) in one process; the median and the best
of ``--repeats``. "nn.LSTM per step" is the free-running loop as it was before issue 23, kept
as the decoders' plain path (``force_step_loop``: each step one ``TokenDecoder.forward`` call:
embedding, concatenation, a one-step ``nn.LSTM`` call, the output layer); the other is the
decoders' own path since issue 23 (``recurrent.decoding_step``: ``LSTMStepper``). The tokens
of both are compared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch

from symusic.musicvae.inference import TrainedModel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+",
                        default=["folk-mel-16bar-hier", "pop-mel-16bar-hier"])
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"load {os.getloadavg()[0]:.2f}")
    print("| model | samples | path | median ms | best ms | same tokens |")
    print("|---|---|---|---|---|---|")
    paths = {"nn.LSTM per step": True, "LSTMStepper (the decoders' own)": False}
    for name in args.models:
        model = TrainedModel.load(name)
        times: dict[str, list[float]] = {label: [] for label in paths}
        tokens: dict[str, np.ndarray] = {}
        for repeat in range(args.repeats + 1):
            for label, per_call in paths.items():
                model.model.force_step_loop = per_call
                start = time.perf_counter()
                tokens[label] = model.sample(args.n, seed=repeat)
                if repeat:  # the first round warms up
                    times[label].append(time.perf_counter() - start)
        first = tokens["nn.LSTM per step"]
        same = all(np.array_equal(first, t) for t in tokens.values())
        for label, values in times.items():
            print(f"| {name} | {args.n} | {label} | {statistics.median(values) * 1e3:.1f} | "
                  f"{min(values) * 1e3:.1f} | {'yes' if same else 'NO'} |", flush=True)
    print(f"load at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
