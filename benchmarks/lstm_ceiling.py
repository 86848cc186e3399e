"""How fast can ``nn.LSTM`` itself train here? The ceiling under the model's fused path.

    python benchmarks/lstm_ceiling.py [--threads N] [--device cuda]

The model's teacher-forced step is almost all ``nn.LSTM`` (a profile of the flat and
hierarchical w256 steps puts over 90% of the time in ``mkldnn_rnn_layer`` forward and
backward on CPU). This script times bare ``nn.LSTM`` modules, forward + backward, in two
tables:

1. **Rate**: the stacks the model is made of, at batch 64 (the encoder's bidirectional stack
   over 32 and 128 steps, a unidirectional decoder stack), as GFLOP/s and as a fraction of
   a 4096 x 4096 ``torch.matmul`` measured just before each row. FLOPs are analytic: the gate
   matmuls, times 3 for forward + backward.
2. **Fixed cost per call**: one layer over a single time step, where the arithmetic is
   negligible, against the weights' size. What remains is the per-call cost of the LSTM
   kernel (on CPU, oneDNN re-lays out the weights on every call: twice for the forward, and
   four times around the backward), which a short sequence pays in full.
"""

from __future__ import annotations

import argparse
import time

import torch
from model_throughput import matmul_flops_per_s, synchronize  # this folder is on sys.path

BATCH = 64


def matmul_rate(device: torch.device) -> float:
    """Best of 3 FLOP/s of a 4096 x 4096 float32 matmul (model_throughput's reference)."""
    return matmul_flops_per_s(device, 4096, repeats=3)


def stack_flops(input_size: int, hidden: int, layers: int, directions: int, tokens: int) -> int:
    """Forward + backward matmul FLOPs of a stacked LSTM over ``tokens`` sequence steps."""
    total, size = 0, input_size
    for _ in range(layers):
        total += directions * 2 * 4 * hidden * (size + hidden)
        size = directions * hidden
    return 3 * total * tokens


def time_call(lstm: torch.nn.LSTM, x: torch.Tensor, backward: bool, repeats: int) -> float:
    """Mean seconds of a forward (and backward) pass, after two untimed passes."""
    def once() -> None:
        out, _ = lstm(x)
        if backward:
            out.sum().backward()

    for _ in range(2):
        once()
    synchronize(x.device)
    start = time.perf_counter()
    for _ in range(repeats):
        once()
    synchronize(x.device)
    return (time.perf_counter() - start) / repeats


def rate_table(device: torch.device, widths: list[int]) -> None:
    print("| stack | width | steps | ms fwd+bwd | GFLOP/s | matmul GFLOP/s | of matmul |")
    print("|---|---|---|---|---|---|---|")
    for width in widths:
        rows = [  # (name, input size, layers, directions, steps)
            ("encoder: bidirectional, 2 layers", 12, 2, 2, 32),
            ("encoder: bidirectional, 2 layers", 12, 2, 2, 128),
            ("decoder: 2 layers, input embed + z", 12 + width, 2, 1, 32),
        ]
        for name, size, layers, directions, steps in rows:
            lstm = torch.nn.LSTM(size, width, layers, bidirectional=directions == 2).to(device)
            x = torch.randn(steps, BATCH, size, device=device)
            reference = matmul_rate(device)
            seconds = time_call(lstm, x, backward=True, repeats=5)
            flops = stack_flops(size, width, layers, directions, steps * BATCH)
            rate = flops / seconds
            print(f"| {name} | {width} | {steps} | {seconds * 1e3:.1f} | {rate / 1e9:.0f}"
                  f" | {reference / 1e9:.0f} | {rate / reference:.0%} |", flush=True)


def fixed_cost_table(device: torch.device, widths: list[int]) -> None:
    print("\n| width | weights (MB) | 1 step: forward (ms) | 1 step: backward (ms) "
          "| compute of the 1 step at matmul rate (ms) |")
    print("|---|---|---|---|---|")
    reference = matmul_rate(device)
    for width in widths:
        lstm = torch.nn.LSTM(width, width, 1).to(device)
        x = torch.randn(1, BATCH, width, device=device)
        forward = time_call(lstm, x, backward=False, repeats=20)
        both = time_call(lstm, x, backward=True, repeats=20)
        weights_mb = 4 * 8 * width * width / 1e6
        ideal = stack_flops(width, width, 1, 1, BATCH) / reference
        print(f"| {width} | {weights_mb:.1f} | {forward * 1e3:.2f} | {(both - forward) * 1e3:.2f}"
              f" | {ideal * 1e3:.2f} |", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (CPU)")
    parser.add_argument("--widths", type=int, nargs="*", default=[256, 512])
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"device {device}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
          f"batch {BATCH}\n")
    rate_table(device, args.widths)
    fixed_cost_table(device, [128, 256, 512, 1024])


if __name__ == "__main__":
    main()
