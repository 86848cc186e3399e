"""Each generated step's logits, captured where the model chooses the step's token.

Generation may run without calling the token decoder's forward (``recurrent.LSTMStepper``),
but every step's outputs go through the representation's ``StepIO.choose``, so that is
where they are read.
"""

from __future__ import annotations

import numpy as np
import torch

from symusic.musicvae.model.vae import MusicVAE


def decode_with_logits(model: MusicVAE, z) -> tuple[np.ndarray, np.ndarray]:
    """Tokens ``[N, T]`` decoded from ``z`` ``[N, Z]`` at temperature 0, and each step's
    logits ``[T, N, V]``."""
    ios = {id(m.io): m.io for m in model.modules() if hasattr(m, "io")}
    ios[id(model.io)] = model.io
    steps = []

    def recording(choose):
        def choose_and_record(outputs, temperature, generator=None):
            steps.append(outputs.detach().clone())
            return choose(outputs, temperature, generator)
        return choose_and_record

    for io in ios.values():
        io.choose = recording(io.choose)
    try:
        with torch.no_grad():
            tokens = model.decode(torch.as_tensor(z), temperature=0)
    finally:
        for io in ios.values():
            del io.choose  # the class's method again
    return tokens.cpu().numpy(), torch.stack(steps).cpu().numpy()
