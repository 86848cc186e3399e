"""How much of a model's reconstruction comes from z, and how much from the notes before.

Teacher-forced figures of one checkpoint on data windows with four latent codes:

* ``mu``: each window's own posterior mean (the evaluation's teacher-forced figures);
* ``other``: the mean of another window of the same data (the next one in the batch, rolled): a
  plausible z that says nothing true about this window, so what remains is what the decoder
  predicts from the previous notes alone;
* ``prior``: z ~ N(0, I), as prior sampling draws it: where it decodes much worse than
  ``other``, the prior's draws fall off the codes the encoder uses;
* ``zero``: z = 0, the prior's mean.

The gap between ``mu`` and ``other`` is what z carries; the same figures on the train windows
against the eval windows say how much of it is memorised. Each row: token and note accuracy
(the steps whose target is an event) and the reconstruction loss in nats a window.

    python benchmarks/z_usage.py --checkpoint pop-mel-16bar-hier --data data/pop909/eval
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from symusic.musicvae.evaluation import load_model_windows, window_batches
from symusic.musicvae.inference import load_model

CODES = ("mu", "other", "prior", "zero")


@torch.no_grad()
def measure(model, windows: np.ndarray, batch_size: int = 128, seed: int = 0) -> dict:
    """``{code: {"accuracy", "note_accuracy", "reconstruction_nats"}}``, means over windows."""
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    sums = {code: np.zeros(3) for code in CODES}
    for batch in window_batches(windows, batch_size):
        batch = batch.to(dtype=model.io.item_dtype)
        mu, _ = model.encode(batch)
        codes = {"mu": mu, "other": mu.roll(1, 0),
                 "prior": torch.randn(mu.shape, generator=generator, dtype=mu.dtype),
                 "zero": torch.zeros_like(mu)}
        for code, z in codes.items():
            logits, _ = model.decoder(z, batch, sampling_probability=0.0)
            accuracy, note_accuracy = model.io.accuracies(logits, batch)
            nats = model.io.reconstruction(logits, batch).mean()
            sums[code] += len(batch) * np.array([float(accuracy), float(note_accuracy),
                                                 float(nats)])
    return {code: dict(zip(("accuracy", "note_accuracy", "reconstruction_nats"),
                           (round(float(v), 4) for v in total / len(windows)), strict=True))
            for code, total in sums.items()}


def main(argv: list[str] | None = None) -> None:
    """Print (and with ``--json`` write) the figures of one checkpoint on one data folder."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--max-windows", type=int, default=512)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    model = load_model(args.checkpoint, "cpu").eval()
    windows, _ = load_model_windows(model, args.data, args.max_windows)
    figures = measure(model, windows)
    print(f"{args.checkpoint} on {args.data}, {len(windows)} windows, teacher-forced:")
    print("| z | accuracy | note accuracy | reconstruction nats |")
    print("|---|---|---|---|")
    for code, row in figures.items():
        print(f"| {code} | {row['accuracy']:.3f} | {row['note_accuracy']:.3f} | "
              f"{row['reconstruction_nats']:.1f} |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"checkpoint": args.checkpoint, "data": args.data,
                       "windows": len(windows), **figures}, handle, indent=1)


if __name__ == "__main__":
    main()
