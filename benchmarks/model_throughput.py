"""MusicVAE training throughput: steps/s, sequences/s and the fraction of matmul FLOP/s reached.

    python benchmarks/model_throughput.py            # the full table (under ~10 minutes on CPU)
    python benchmarks/model_throughput.py --quick    # widths 128 and 256 only, shorter timing
    python benchmarks/model_throughput.py --device cuda
    python benchmarks/model_throughput.py --precision bf16   # autocast; AMX CPUs and GPUs

A training step is forward, backward and an Adam update on a batch of random tokens. Its FLOP
count is analytic: every matmul of the forward pass (LSTM gates, input and recurrent; the output,
initial-state and latent projections), times 3 for forward plus backward. The reference is a
large ``torch.matmul`` measured in the same run, before each model (the cores may be shared);
"of matmul" divides by the best of those measurements, so it is the fraction of the machine's
practical dense-matmul rate that the training step reaches (a busy moment lowers it, never
raises it). Rows go to stderr as they are measured; the table goes to stdout at the end.

Modes: ``teacher-forced fused`` (one LSTM call per decoder), ``teacher-forced step loop``
(``force_step_loop``: one LSTM call per step) and ``scheduled sampling p=0.5`` (the decoder is
cut before every step where some sequence feeds back its own output: in a batch of 64 that is
every step).

``--precision bf16`` runs each step under ``torch.autocast(dtype=torch.bfloat16)``, as the
trainer's ``precision: "bf16"`` does, and measures the reference matmul in bfloat16 too, so "of
matmul" stays a fraction of the same arithmetic's peak.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import dataclass

import torch

from symusic.data.tokens import NUM_CLASSES
from symusic.devices import UnsupportedPrecision, check_bf16_lstm
from symusic.musicvae.model import ModelConfig, MusicVAE

EMBED = 12


# --- model configs ------------------------------------------------------------------------------


def another(z: int, hidden: int, layers: int) -> dict:
    return {"key": "another", "params": {
        "z_size": z, "embed_size": EMBED, "hidden_size": hidden, "n_layers": layers}}


def flat_config(z: int, enc: int, enc_layers: int, dec: int, dec_layers: int) -> dict:
    return {"z_size": z,
            "encoder_params": {"embed_size": EMBED, "hidden_size": enc, "n_layers": enc_layers},
            "seq_decoder_args": {"key": "greedy", "params": {
                "z_size": z, "decoder_args": another(z, dec, dec_layers)}}}


def hier_config(z: int, enc: int, conductor: int, c_size: int, dec: int, n_sub: int = 8) -> dict:
    return {"z_size": z,
            "encoder_params": {"embed_size": EMBED, "hidden_size": enc, "n_layers": 2},
            "seq_decoder_args": {"key": "hier", "params": {
                "z_size": z, "n_subsequences": n_sub,
                "conductor_args": {"key": "conductor", "params": {
                    "hidden_size": conductor, "c_size": c_size, "n_layers": 2}},
                "seq_decoder_args": {"key": "greedy", "params": {
                    "z_size": c_size, "decoder_args": another(c_size, dec, 2)}}}}}


def models(widths: list[int], spec: bool) -> list[tuple[str, ModelConfig]]:
    """(name, config): a flat 2-bar and a hierarchical 8-bar model per width (every LSTM of
    ``width`` units, 2 layers, z = c = width), then the spec's example sizes."""
    out = []
    for w in widths:
        out.append((f"flat 2-bar w{w}", ModelConfig.from_dict(flat_config(w, w, 2, w, 2), 32)))
        out.append((f"hier 8-bar w{w}", ModelConfig.from_dict(hier_config(w, w, w, w, w), 128)))
    if spec:
        out.append(("flat 2-bar spec",
                    ModelConfig.from_dict(flat_config(512, 2048, 2, 2048, 3), 32)))
        out.append(("hier 8-bar spec",
                    ModelConfig.from_dict(hier_config(512, 2048, 1024, 512, 1024), 128)))
    return out


# --- analytic FLOPs -----------------------------------------------------------------------------


def lstm_flops(input_size: int, hidden: int, layers: int, directions: int = 1) -> int:
    """Forward matmul FLOPs of one step of one sequence through a stacked LSTM."""
    total, size = 0, input_size
    for _ in range(layers):
        total += directions * 2 * 4 * hidden * (size + hidden)
        size = directions * hidden
    return total


def linear_flops(n_in: int, n_out: int) -> int:
    return 2 * n_in * n_out


def token_decoder_flops(dec, context: int, steps: int) -> int:
    """One sequence of ``steps`` through an ``another``/``simple`` decoder, per sequence."""
    p = dec.params
    size = EMBED + (context if dec.key == "another" else 0)
    return (linear_flops(context, 2 * p.n_layers * p.hidden_size)
            + steps * (lstm_flops(size, p.hidden_size, p.n_layers)
                       + linear_flops(p.hidden_size, NUM_CLASSES)))


def seq_decoder_flops(args, context: int, length: int) -> int:
    p = args.params
    if args.key != "hier":
        return token_decoder_flops(p.decoder_args, context, length)
    c = p.conductor_args.params
    conductor = (linear_flops(context, 2 * c.n_layers * c.hidden_size)
                 + p.n_subsequences * (lstm_flops(1, c.hidden_size, c.n_layers)
                                       + linear_flops(c.hidden_size, c.c_size)))
    inner = seq_decoder_flops(p.seq_decoder_args, c.c_size, length // p.n_subsequences)
    return conductor + p.n_subsequences * inner


def training_step_flops(config: ModelConfig, batch: int) -> int:
    """Forward FLOPs of the whole model on a batch, times 3 (backward ~ twice the forward)."""
    e = config.encoder_params
    encoder = (config.seq_len * lstm_flops(EMBED, e.hidden_size, e.n_layers, directions=2)
               + 2 * linear_flops(2 * e.hidden_size, config.z_size))
    decoder = seq_decoder_flops(config.seq_decoder_args, config.z_size, config.seq_len)
    return 3 * batch * (encoder + decoder)


# --- timing -------------------------------------------------------------------------------------


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_flops_per_s(device: torch.device, n: int, repeats: int = 5,
                       dtype: torch.dtype = torch.float32) -> float:
    """Best-of-``repeats`` FLOP/s of an n x n matmul in ``dtype``."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        a @ b
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


@dataclass
class Result:
    model: str
    mode: str
    params_m: float
    steps: int
    seconds_per_step: float
    batch: int
    flops: int
    matmul: float  # FLOP/s of the reference matmul measured before this model

    def row(self, best_matmul: float) -> str:
        achieved = self.flops / self.seconds_per_step
        return (f"| {self.model} | {self.params_m:.1f} | {self.mode} | {self.steps} | "
                f"{self.seconds_per_step:.3f} | {1 / self.seconds_per_step:.2f} | "
                f"{self.batch / self.seconds_per_step:.0f} | {self.flops / 1e9:.0f} | "
                f"{achieved / 1e9:.0f} | {self.matmul / 1e9:.0f} | "
                f"{achieved / best_matmul:.0%} |")


MODES = {  # name -> (sampling probability, force the step loop)
    "teacher-forced fused": (0.0, False),
    "teacher-forced step loop": (0.0, True),
    "scheduled sampling p=0.5": (0.5, False),
}


def time_training(model: MusicVAE, tokens: torch.Tensor, probability: float,
                  min_seconds: float, max_steps: int, warmup: bool = True,
                  bf16: bool = False) -> tuple[int, float]:
    """(steps timed, seconds per step), after one untimed warm-up step if ``warmup``."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step() -> None:
        with torch.autocast(tokens.device.type, dtype=torch.bfloat16, enabled=bf16):
            out = model(tokens, sampling_probability=probability)
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        optimizer.step()

    if warmup:
        step()
    synchronize(tokens.device)
    start, steps = time.perf_counter(), 0
    while steps < max_steps and (steps == 0 or time.perf_counter() - start < min_seconds):
        step()
        synchronize(tokens.device)
        steps += 1
    return steps, (time.perf_counter() - start) / steps


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--widths", type=int, nargs="*", default=[128, 256, 512],
                        help="model widths (none: the spec sizes only)")
    parser.add_argument("--quick", action="store_true",
                        help="widths 128 and 256, no spec sizes, about 1 s of timing per row")
    parser.add_argument("--no-spec", action="store_true", help="leave out the spec's sizes")
    parser.add_argument("--min-seconds", type=float, default=4.0,
                        help="time each row for at least this long (after a warm-up step)")
    parser.add_argument("--max-steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (CPU)")
    parser.add_argument("--matmul-size", type=int, default=None,
                        help="side of the reference matmul (default 4096 on CPU, 8192 on GPU)")
    parser.add_argument("--spec-modes", choices=["fused", "all"], default=None,
                        help="modes for the spec-size models (default: fused on CPU, all on GPU)")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                        help="bf16: steps under bfloat16 autocast, reference matmul in bfloat16")
    args = parser.parse_args(argv)
    bf16 = args.precision == "bf16"
    matmul_dtype = torch.bfloat16 if bf16 else torch.float32
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    if bf16:
        try:
            check_bf16_lstm(device)  # the trainer's start-up check: one line, not a oneDNN trace
        except UnsupportedPrecision as err:
            parser.error(str(err))
    if args.quick:
        args.widths, args.no_spec, args.min_seconds = [128, 256], True, 1.0
    spec_modes = args.spec_modes or ("fused" if device.type == "cpu" else "all")

    matmul_n = args.matmul_size or (4096 if device.type == "cpu" else 8192)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor()) \
        if platform.system() == "Linux" else platform.processor()
    gpu = f", {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""
    print(f"device {device}{gpu}; CPU {cpu}, {torch.get_num_threads()} threads; "
          f"torch {torch.__version__}; batch {args.batch}; {args.precision}")
    load_start = os.getloadavg()[0]

    results = []
    for name, config in models(args.widths, not args.no_spec):
        torch.manual_seed(0)
        model = MusicVAE(config).to(device)
        n_params = sum(p.numel() for p in model.parameters()) / 1e6
        tokens = torch.randint(0, NUM_CLASSES, (args.batch, config.seq_len), device=device)
        flops = training_step_flops(config, args.batch)
        spec = name.endswith("spec")
        matmul = matmul_flops_per_s(device, matmul_n, repeats=3, dtype=matmul_dtype)
        for mode, (probability, step_loop) in MODES.items():
            if spec and spec_modes == "fused" and mode != "teacher-forced fused":
                continue
            model.force_step_loop = step_loop
            # on CPU a spec-size step takes tens of seconds: one step, no warm-up
            big = spec and device.type == "cpu"
            min_seconds, max_steps = (0.0, 1) if big else (args.min_seconds, args.max_steps)
            steps, seconds = time_training(
                model, tokens, probability, min_seconds, max_steps, warmup=not big, bf16=bf16)
            results.append(
                Result(name, mode, n_params, steps, seconds, args.batch, flops, matmul))
            print(results[-1].row(matmul), file=sys.stderr, flush=True)
        del model

    best = max(r.matmul for r in results)
    print(f"\nreference: {matmul_n}x{matmul_n} {matmul_dtype} matmul, best of 3 before each model "
          f"(column 'matmul'); 'of matmul' uses the best, {best / 1e9:.0f} GFLOP/s. "
          f"Load average {load_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end.\n")
    print("| model | params (M) | mode | steps | s/step | steps/s | seq/s | GFLOP/step "
          "| GFLOP/s | matmul GFLOP/s | of matmul |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for result in results:
        print(result.row(best))


if __name__ == "__main__":
    main()
