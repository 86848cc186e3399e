"""Candidate LSTM paths against ``nn.LSTM`` on the shipped models' shapes (issue 23).

    python benchmarks/recurrent_candidates.py                      # every shape, fp32 and bf16
    python benchmarks/recurrent_candidates.py --shapes flat-decoder --precisions bf16 --repeats 5

Every candidate computes the same function with the same parameters as ``nn.LSTM`` (gate order
i, f, g, o; both biases), forward and backward from an initial state that takes gradients, as
the decoders call it:

* ``nn.LSTM``: the fused oneDNN call (``rnn,ref`` in fp32, ``rnn,brgemm`` in bf16 here).
* ``projection + loop``: the input projection of all steps as one matrix product, then one
  ``h @ W_hh`` product and the element-wise cell per step, in eager autograd.
* ``jit.script loop``: the same loop as a TorchScript function (autograd through the graph).
* ``torch.compile loop``: the same loop compiled by Inductor (forward and backward graphs; the
  Python loop is unrolled, so compiling takes a while: it is timed apart).

bf16 runs under ``torch.autocast`` as the trainer does (matrix products in bf16, the cell in
the products' dtype). Candidates are timed interleaved (A, B, C, D, A, B, ...), the median of
``--repeats``; "max diff" is the largest absolute difference of the outputs and of every
gradient from ``nn.LSTM``'s, relative to the largest magnitude of that tensor.

Generation rows (``--generation``): one decoder step at batch 8 (no autograd) as ``nn.LSTM``
does it, as a preallocated cell (the per-step input projection folded: the context's share of
``W_ih`` computed once per sequence, the token's share a looked-up row), and a 16-step decode
loop of each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import torch
from torch import Tensor, nn

SHAPES = {  # name -> (batch, steps, input features, hidden, layers): the shipped configs' calls
    "flat-decoder": (64, 32, 140, 256, 2),  # folk-mel-2bar decoder: embed 12 + z 128
    "hier-decoder": (1024, 16, 140, 256, 1),  # pop-mel-16bar-hier: 64 x 16 bars side by side
    "hier-conductor": (64, 16, 1, 256, 1),
}


def cell(gates: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
    """Pre-activations [B, 4H] (i, f, g, o), cell [B, H] -> (h, c)."""
    i, f, g, o = gates.chunk(4, 1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def loop_layer(gx: Tensor, h: Tensor, c: Tensor, w_hh: Tensor) -> Tensor:
    """gx [B, T, 4H] (input projection plus biases), h, c [B, H] -> outputs [B, T, H]."""
    outputs = []
    for t in range(gx.shape[1]):
        h, c = cell(gx[:, t] + h @ w_hh.t(), c)
        outputs.append(h)
    return torch.stack(outputs, 1)


@torch.jit.script
def scripted_layer(gx: Tensor, h: Tensor, c: Tensor, w_hh: Tensor) -> Tensor:
    outputs = []
    for t in range(gx.shape[1]):
        gates = gx[:, t] + torch.mm(h, w_hh.t())
        i, f, g, o = gates.chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs, 1)


def stacked(lstm: nn.LSTM, layer_fn: Callable, bf16: bool) -> Callable:
    """x [B, T, F], (h0, c0) [L, B, H] -> outputs [B, T, H] through ``layer_fn`` per layer."""
    def run(x: Tensor, h0: Tensor, c0: Tensor) -> Tensor:
        for k in range(lstm.num_layers):
            w_ih, w_hh = getattr(lstm, f"weight_ih_l{k}"), getattr(lstm, f"weight_hh_l{k}")
            bias = getattr(lstm, f"bias_ih_l{k}") + getattr(lstm, f"bias_hh_l{k}")
            gx = torch.nn.functional.linear(x, w_ih, bias)
            if bf16:  # autocast does not reach into a scripted function: cast as it would
                w_hh = w_hh.to(torch.bfloat16)
                h, c = h0[k].to(torch.bfloat16), c0[k].to(torch.bfloat16)
            else:
                h, c = h0[k], c0[k]
            x = layer_fn(gx, h, c, w_hh)
        return x
    return run


def timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(name: str, bf16: bool, repeats: int, compile_: bool) -> list[str]:
    batch, steps, features, hidden, layers = SHAPES[name]
    torch.manual_seed(0)
    lstm = nn.LSTM(features, hidden, layers, batch_first=True)
    x = torch.randn(batch, steps, features, requires_grad=True)
    h0 = torch.randn(layers, batch, hidden, requires_grad=True)
    c0 = torch.randn(layers, batch, hidden, requires_grad=True)
    tensors = [x, h0, c0, *lstm.parameters()]

    layers_by_path = {"projection + loop": loop_layer, "jit.script loop": scripted_layer}
    if compile_:
        layers_by_path["torch.compile loop"] = torch.compile(loop_layer, dynamic=False)
    candidates: dict[str, Callable] = {"nn.LSTM": lambda: lstm(x, (h0, c0))[0]}
    for label, layer_fn in layers_by_path.items():
        run = stacked(lstm, layer_fn, bf16)
        candidates[label] = lambda run=run: run(x, h0, c0)
    compile_s = None

    def step(forward: Callable) -> tuple[Tensor, list[Tensor]]:
        for t in tensors:
            t.grad = None
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = forward()
        out.float().square().sum().backward()
        return out.detach().float(), [t.grad.clone() for t in tensors if t.grad is not None]

    results = {}
    for label, forward in candidates.items():  # warm up; the first compile call compiles
        seconds = timed(lambda f=forward: step(f))
        if label == "torch.compile loop":
            compile_s = seconds
        step(forward)
        results[label] = step(forward)
    times: dict[str, list[float]] = {label: [] for label in candidates}
    for _ in range(repeats):
        for label, forward in candidates.items():
            times[label].append(timed(lambda f=forward: step(f)))

    reference_out, reference_grads = results["nn.LSTM"]
    base = statistics.median(times["nn.LSTM"])
    rows = []
    for label in candidates:
        out, grads = results[label]
        diffs = [(a - b).abs().max() / b.abs().max()
                 for a, b in zip([out, *grads], [reference_out, *reference_grads], strict=True)]
        ms = statistics.median(times[label])
        rows.append(f"| {name} {list(SHAPES[name])} | {'bf16' if bf16 else 'fp32'} | {label} | "
                    f"{ms * 1e3:.1f} | {base / ms:.2f}x | {max(diffs):.1e} |")
    if compile_s is not None:
        rows.append(f"| | | (torch.compile: first call {compile_s:.0f} s) | | | |")
    return rows


# --- generation ---------------------------------------------------------------------------------


class FoldedStep:
    """One decoder step of a 1-layer ``another`` decoder without per-step input concatenation:
    W_ih [4H, E + C] = [W_e | W_c]; per sequence the context's share ``z @ W_c^T + biases`` is
    computed once, per token ``embed @ W_e^T`` is one row of a table."""

    def __init__(self, lstm: nn.LSTM, embed: nn.Embedding, context: Tensor):
        w_ih = lstm.weight_ih_l0
        e = embed.embedding_dim
        self.table = embed.weight @ w_ih[:, :e].t()  # [vocab + 1, 4H]
        self.context_gates = context @ w_ih[:, e:].t() + lstm.bias_ih_l0 + lstm.bias_hh_l0
        self.w_hh_t = lstm.weight_hh_l0.t().contiguous()

    def __call__(self, token: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        gates = torch.addmm(self.context_gates + self.table[token], h, self.w_hh_t)
        return cell(gates, c)


@torch.no_grad()
def generation_rows(repeats: int) -> list[str]:
    torch.manual_seed(0)
    batch, embed_size, context_size, hidden, vocab = 8, 12, 128, 256, 130
    embed = nn.Embedding(vocab + 1, embed_size)
    lstm = nn.LSTM(embed_size + context_size, hidden, 1, batch_first=True)
    out = nn.Linear(hidden, vocab)
    context = torch.randn(batch, context_size)
    h, c = torch.randn(1, batch, hidden), torch.randn(1, batch, hidden)
    token = torch.randint(0, vocab, (batch,))

    def lstm_decode() -> Tensor:
        state, item = (h, c), token
        for _ in range(16):
            x = torch.cat([embed(item[:, None]), context[:, None]], -1)
            y, state = lstm(x, state)
            item = out(y[:, 0]).argmax(-1)
        return item

    def folded_decode() -> Tensor:
        step, hh, cc, item = FoldedStep(lstm, embed, context), h[0], c[0], token
        for _ in range(16):
            hh, cc = step(item, hh, cc)
            item = out(hh).argmax(-1)
        return item

    assert torch.equal(lstm_decode(), folded_decode())
    rows, times = [], {"nn.LSTM": [], "folded cell": []}
    for _ in range(repeats * 20):
        times["nn.LSTM"].append(timed(lstm_decode))
        times["folded cell"].append(timed(folded_decode))
    base = statistics.median(times["nn.LSTM"])
    for label, values in times.items():
        ms = statistics.median(values)
        rows.append(f"| decode 16 steps, batch 8, 1 x 256 | fp32 | {label} | {ms * 1e3:.2f} | "
                    f"{base / ms:.2f}x | same tokens |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shapes", nargs="+", choices=list(SHAPES), default=list(SHAPES))
    parser.add_argument("--precisions", nargs="+", choices=("fp32", "bf16"),
                        default=["fp32", "bf16"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    parser.add_argument("--generation", action="store_true", help="the generation rows too")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"load {os.getloadavg()[0]:.2f}")
    print("| shape [B, T, F, H, layers] | precision | path | ms fwd+bwd | vs nn.LSTM | max diff |")
    print("|---|---|---|---|---|---|")
    for name in args.shapes:
        for precision in args.precisions:
            for row in compare(name, precision == "bf16", args.repeats, not args.no_compile):
                print(row, flush=True)
    if args.generation:
        for row in generation_rows(args.repeats):
            print(row, flush=True)
    print(f"load at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
