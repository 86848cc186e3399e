"""Where a hierarchical model loses a tune's form: in z, in the conductor, or in the bar decoder.

For every pair of bars ``lag`` bars apart in the data windows (both with onsets), this reads:

* whether the data repeats the bar exactly (as the repetition profile's ``exact`` compares bars);
* how alike the conductor's embeddings of the two bars are (cosine similarity, z = mu): if the
  conductor knows that bar 9 restates bar 1, the two embeddings are close;
* whether the teacher-forced and the free-running (argmax) reconstructions repeat the bar too,
  and whether each bar was reconstructed right (all its onsets and pitches).

Printed separately for the repeated pairs and the others, so one can see which stage drops the
repetition. A flat model has no conductor: its rows leave the cosine out.

    python benchmarks/conductor_repeats.py --checkpoint pop-mel-16bar-hier \\
        --data data/pop909/eval --max-windows 512 --lag 8
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from symusic.musicvae.evaluation import load_model_windows, reconstructions, window_batches
from symusic.musicvae.inference import load_model
from symusic.musicvae.structure import window_bars


def bar_pairs(windows: np.ndarray, representation, lag: int):
    """``(window, bar, earlier bar)`` index triples of the bar pairs with onsets, and each
    window's bars."""
    bars = [window_bars(window, representation) for window in windows]
    pairs = [(w, b, b - lag) for w, window_bars_ in enumerate(bars)
             for b in range(lag, len(window_bars_)) if window_bars_[b] and window_bars_[b - lag]]
    return pairs, bars


@torch.no_grad()
def conductor_embeddings(model, windows: np.ndarray, batch_size: int = 64) -> np.ndarray | None:
    """Unit-length conductor embeddings ``[N, bars, c_size]`` at z = mu, or None for a model
    without a conductor (a flat decoder)."""
    conductor = getattr(model.decoder, "conductor", None)
    if conductor is None:
        return None
    n_bars = model.representation.bars_in(windows.shape[1])
    embeddings = [conductor(model.encode(batch)[0], n_bars)
                  for batch in window_batches(windows, batch_size)]
    return torch.nn.functional.normalize(torch.cat(embeddings), dim=-1).numpy()


def measure(model, windows: np.ndarray, lag: int, batch_size: int = 64) -> dict:
    """The table's figures for the repeated and the other bar pairs at ``lag``."""
    representation = model.representation
    unit = conductor_embeddings(model, windows, batch_size)
    _, decoded = reconstructions(model, window_batches(windows, batch_size))
    forced_bars = [window_bars(w, representation) for w in decoded["teacher_forced"]]
    free_bars = [window_bars(w, representation) for w in decoded["sampled"]]
    pairs, data_bars = bar_pairs(windows, representation, lag)
    groups: dict[str, list[dict]] = {"repeated": [], "not repeated": []}
    for w, b, a in pairs:
        repeated = data_bars[w][b] == data_bars[w][a]
        groups["repeated" if repeated else "not repeated"].append({
            **({} if unit is None else {"cosine": float(unit[w, b] @ unit[w, a])}),
            "forced_repeats": forced_bars[w][b] == forced_bars[w][a],
            "free_repeats": free_bars[w][b] == free_bars[w][a],
            "forced_right": forced_bars[w][b] == data_bars[w][b],
            "free_right": free_bars[w][b] == data_bars[w][b],
        })
    return {name: {"pairs": len(rows), **{key: round(float(np.mean([r[key] for r in rows])), 4)
                                          for key in rows[0]}}
            for name, rows in groups.items() if rows}


def main(argv: list[str] | None = None) -> None:
    """Print (and with ``--json`` write) the figures of one checkpoint."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--max-windows", type=int, default=512)
    parser.add_argument("--lag", type=int, default=8)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    model = load_model(args.checkpoint, "cpu").eval()
    windows, _ = load_model_windows(model, args.data, args.max_windows)
    report = {"checkpoint": args.checkpoint, "windows": len(windows), "lag": args.lag,
              **measure(model, windows, args.lag)}
    print(f"{args.checkpoint}, {len(windows)} windows, bar pairs {args.lag} apart:")
    print("| data pair | pairs | conductor cosine | TF repeats | free repeats | TF bar right "
          "| free bar right |")
    print("|---|---|---|---|---|---|---|")
    for name in ("repeated", "not repeated"):
        if name in report:
            g = report[name]
            cosine = f"{g['cosine']:.3f}" if "cosine" in g else "-"
            print(f"| {name} | {g['pairs']} | {cosine} | {g['forced_repeats']:.3f} | "
                  f"{g['free_repeats']:.3f} | {g['forced_right']:.3f} | {g['free_right']:.3f} |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=1)


if __name__ == "__main__":
    main()
