"""Where a training step and a generation step of the recurrent path spend their time (issue 23).

    python benchmarks/recurrent_profile.py                       # both shapes, fp32 and bf16
    python benchmarks/recurrent_profile.py --shapes folk-mel-2bar --precisions bf16 --steps 3

Shapes are the shipped configs (``symusic/musicvae/config_<name>.json``): ``folk-mel-2bar``
(flat, 32 steps, decoder 256 x 2) and ``pop-mel-16bar-hier`` (256 steps, conductor and decoder
256 x 1, the decoder run on the 64 x 16 bars side by side), at their batch of 64 on random
tokens. Three tables per shape and precision:

1. **Training step** (forward, backward, gradient clipping, Adam, as the trainer's step) under
   ``torch.profiler``: the self time of every ATen op per step, grouped (the fused LSTM kernel
   forward and backward; the other matrix products: encoder heads, initial states, output
   layer; embedding; loss; optimizer and clipping; dtype casts; the rest). "outside ops" is the
   profiled step's wall time minus the ops' self time: Python and dispatch.
2. **Inside each LSTM call** (every ``nn.LSTM`` the step calls, with the shapes it was called
   on): the fused call forward + backward against the same matrix products timed alone (one
   product for the input projection of all steps and its two gradients; one small product per
   step for ``h @ W_hh`` forward and the two backward), the gate arithmetic timed alone (the
   element-wise work of all steps as one batched pass, and as one pass per step), and one call
   of a single step (the fixed cost per call).
3. **Generation step** (batch 8, no autograd): one decoder step's embedding and concatenation,
   LSTM call, output layer and token choice, each timed alone, and ``sample(8)`` end to end on
   the untrained model of the shape.

Timings are the median of ``--steps`` repeats after a warm-up; pin with ``taskset`` and
``--threads`` to measure one core.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import torch
from torch import nn

from symusic.musicvae.model import ModelConfig, MusicVAE

CONFIGS = Path(__file__).resolve().parent.parent / "symusic" / "musicvae"
SHAPES = ("folk-mel-2bar", "pop-mel-16bar-hier")
GRAD_CLIP = 1.0


def build(name: str) -> tuple[MusicVAE, int, float]:
    """(model, batch size, learning rate) of the shipped config ``name``."""
    cfg = json.loads((CONFIGS / f"config_{name.replace('-', '_')}.json").read_text())
    config = ModelConfig.from_dict(cfg, cfg["slice_bar"] * 16)
    return MusicVAE(config), cfg["batch_size"], cfg["learning_rate"]


def random_tokens(model: MusicVAE, batch: int) -> torch.Tensor:
    return torch.randint(0, model.io.vocab_size, (batch, model.config.seq_len))


def autocast(bf16: bool):
    return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else nullcontext()


def median_seconds(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def training_step(model: MusicVAE, tokens: torch.Tensor, bf16: bool,
                  optimizer: torch.optim.Optimizer, probability: float = 0.0):
    """The trainer's step: autocast forward, backward, clip, Adam."""
    def step() -> None:
        with autocast(bf16):
            out = model(tokens, sampling_probability=probability, beta=0.2, free_bits=16)
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        optimizer.step()
    return step


# --- 1. the training step under the profiler ----------------------------------------------------

GROUPS = (  # (group, predicate on the op name), first match wins
    ("LSTM kernel, backward", lambda n: "rnn" in n and "backward" in n),
    ("LSTM kernel, forward", lambda n: "rnn" in n or "lstm" in n),
    ("optimizer + clipping", lambda n: "foreach" in n or "adam" in n or "norm" in n),
    ("embedding", lambda n: "embedding" in n),
    ("loss (log-softmax, NLL)", lambda n: "softmax" in n or "nll" in n or "cross_entropy" in n),
    ("other matmuls (heads, initial states, output layer)",
     lambda n: n.split("::")[-1] in ("addmm", "mm", "bmm", "matmul", "linear", "baddbmm")),
    ("dtype casts and copies", lambda n: n.split("::")[-1] in ("copy_", "_to_copy", "to")),
)


def group_of(name: str) -> str:
    lowered = name.lower()
    for group, matches in GROUPS:
        if matches(lowered):
            return group
    return "other element-wise and glue"


def profile_training(step: Callable[[], None], repeats: int
                     ) -> tuple[float, float, dict[str, float]]:
    """(seconds per step without the profiler, with it, {group: self seconds per step}); the
    op groups add up to the profiled step."""
    wall = median_seconds(step, repeats)
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        for _ in range(repeats):
            step()
        profiled = (time.perf_counter() - start) / repeats
    groups: dict[str, float] = defaultdict(float)
    for event in prof.key_averages():
        if not event.key.startswith("aten::") and "rnn" not in event.key.lower():
            continue  # autograd nodes, record_function ranges: their ops are counted
        groups[group_of(event.key)] += event.self_cpu_time_total / 1e6 / repeats
    groups["outside ops (Python, dispatch)"] = max(0.0, profiled - sum(groups.values()))
    return wall, profiled, dict(groups)


# --- 2. inside each LSTM call -------------------------------------------------------------------


def lstm_calls(model: MusicVAE, tokens: torch.Tensor) -> list[tuple[str, nn.LSTM, tuple]]:
    """(module name, module, input shape) of every nn.LSTM call of one teacher-forced forward."""
    calls = []
    hooks = [module.register_forward_hook(
        lambda m, args, out, name=name: calls.append((name, m, tuple(args[0].shape))))
        for name, module in model.named_modules() if isinstance(module, nn.LSTM)]
    with torch.no_grad():
        model(tokens)
    for hook in hooks:
        hook.remove()
    return calls


def gate_pass(gates: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """The element-wise LSTM cell on pre-activations [.., 4H] and cell [.., H] (i, f, g, o)."""
    i, f, g, o = gates.chunk(4, -1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c)


def lstm_breakdown(lstm: nn.LSTM, shape: tuple, bf16: bool, repeats: int) -> dict[str, float]:
    """Seconds of one fused forward + backward of ``lstm`` on ``shape`` and of its parts."""
    batch, steps, features = shape
    hidden, layers = lstm.hidden_size, lstm.num_layers
    directions = 2 if lstm.bidirectional else 1
    dtype = torch.bfloat16 if bf16 else torch.float32
    x = torch.randn(shape, requires_grad=True)

    def fused(x=x) -> None:
        with autocast(bf16):
            out, _ = lstm(x)
        out.float().sum().backward()

    def one_step() -> None:
        fused(x[:, :1].detach().requires_grad_())

    operands = []  # per layer and direction, allocated once: only the products are timed
    for layer in range(layers):
        n_in = features if layer == 0 else directions * hidden
        for _ in range(directions):
            operands.append([torch.randn(*size, dtype=dtype) for size in (
                (batch * steps, n_in), (4 * hidden, n_in), (4 * hidden, hidden),
                (batch * steps, 4 * hidden), (batch, hidden), (batch, 4 * hidden),
                (batch * steps, hidden))])

    def matmuls() -> None:
        for xs, w_ih, w_hh, dg, h, dg_t, hs in operands:
            xs @ w_ih.T  # input projection of all steps
            dg @ w_ih  # dx
            dg.T @ xs  # dW_ih
            for _ in range(steps):
                h @ w_hh.T  # forward recurrence
                dg_t @ w_hh  # dh
            dg.T @ hs  # dW_hh

    g_all = torch.randn(steps, batch, 4 * hidden, dtype=dtype, requires_grad=True)
    c_all = torch.randn(steps, batch, hidden, dtype=dtype)

    def gates_batched() -> None:
        for _ in range(layers * directions):
            gate_pass(g_all, c_all).sum().backward()

    g_steps = [g.detach().clone().requires_grad_() for g in g_all]  # own leaves: own gradients

    def gates_per_step() -> None:
        for _ in range(layers * directions):
            for g, c in zip(g_steps, c_all, strict=True):
                gate_pass(g, c).sum().backward()

    with torch.no_grad():
        parts = {"matmuls alone": median_seconds(matmuls, repeats)}
    parts.update({
        "fused call (fwd+bwd)": median_seconds(fused, repeats),
        "gate arithmetic, batched": median_seconds(gates_batched, repeats),
        "gate arithmetic, per step": median_seconds(gates_per_step, repeats),
        "one-step call (fwd+bwd)": median_seconds(one_step, repeats),
    })
    return parts


# --- 3. one generation step ---------------------------------------------------------------------


def token_decoder(model: MusicVAE):
    """(token decoder, its context size) of a flat or hierarchical model."""
    decoder = model.decoder
    inner = getattr(decoder, "inner", decoder)
    return inner.decoder, inner.decoder.initial_state.proj.in_features


@torch.no_grad()
def generation_profile(model: MusicVAE, bf16: bool, repeats: int) -> dict[str, float]:
    """Seconds of one decoder step at batch 8, part by part, and of ``sample(8)``."""
    model.eval()
    decoder, context_size = token_decoder(model)
    batch = 8
    context = torch.randn(batch, context_size)
    state = decoder.initial_state(context)
    item = model.io.start_items(batch, "cpu")
    x = torch.cat([decoder.embed(item[:, None]), context[:, None]], dim=-1) \
        if decoder.context_every_step else decoder.embed(item[:, None])
    hidden, _ = decoder.lstm(x, state)
    logits = decoder.out(hidden)[:, 0]

    def embed() -> None:
        e = decoder.embed(item[:, None])
        if decoder.context_every_step:
            torch.cat([e, context[:, None]], dim=-1)

    parts = {}
    with autocast(bf16):
        parts["embedding + concat"] = median_seconds(embed, 50 * repeats)
        parts["LSTM call (1 step)"] = median_seconds(lambda: decoder.lstm(x, state), 50 * repeats)
        parts["output layer"] = median_seconds(lambda: decoder.out(hidden), 50 * repeats)
        parts["choose (argmax)"] = median_seconds(lambda: model.io.choose(logits, 0.0),
                                                  50 * repeats)
        parts["whole step"] = median_seconds(
            lambda: model.io.choose(decoder(item[:, None], context, state)[0][:, 0], 0.0),
            50 * repeats)
        parts["sample(8), end to end"] = median_seconds(lambda: model.sample(8), repeats)
    model.train()
    return parts


# --- the report ---------------------------------------------------------------------------------


def table(title: str, rows: dict[str, float], total: float | None = None) -> str:
    lines = [f"\n{title}\n", "| part | ms | share |", "|---|---|---|"]
    for part, seconds in sorted(rows.items(), key=lambda kv: -kv[1]):
        share = f"{seconds / total:.0%}" if total else ""
        lines.append(f"| {part} | {seconds * 1e3:.2f} | {share} |")
    return "\n".join(lines)


def report(name: str, bf16: bool, repeats: int) -> str:
    torch.manual_seed(0)
    model, batch, lr = build(name)
    tokens = random_tokens(model, batch)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    precision = "bf16 autocast" if bf16 else "fp32"
    wall, profiled, groups = profile_training(training_step(model, tokens, bf16, optimizer),
                                              repeats)
    out = [f"\n### {name}, {precision}, batch {batch}: training step {wall * 1e3:.1f} ms "
           f"({batch / wall:.0f} seq/s; {profiled * 1e3:.1f} ms under the profiler)",
           table("Training step, self time per op group (share of the profiled step):", groups,
                 sum(groups.values()))]
    for module, lstm, shape in lstm_calls(model, tokens):
        kind = (f"{'bidirectional ' if lstm.bidirectional else ''}{lstm.num_layers} x "
                f"{lstm.hidden_size}, input {lstm.input_size}")
        parts = lstm_breakdown(lstm, shape, bf16, repeats)
        out.append(table(f"`{module}` ({kind}) on [B, T, F] = {list(shape)}:", parts,
                         parts["fused call (fwd+bwd)"]))
    out.append(table("Generation (batch 8, one decoder step unless named):",
                     generation_profile(model, bf16, repeats)))
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shapes", nargs="+", choices=SHAPES, default=list(SHAPES))
    parser.add_argument("--precisions", nargs="+", choices=("fp32", "bf16"),
                        default=["fp32", "bf16"])
    parser.add_argument("--steps", type=int, default=5, help="timed repeats (median)")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    print(f"{cpu}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"load {os.getloadavg()[0]:.2f}")
    for name in args.shapes:
        for precision in args.precisions:
            print(report(name, precision == "bf16", args.steps), flush=True)
    print(f"\nload at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
