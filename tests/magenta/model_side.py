"""The symusic side of the magenta.js tests: small models trained a few steps by symusic's
own loss (what is exported), and the mu and z each case runs."""

from __future__ import annotations

import numpy as np
import torch

from symusic.musicvae.model.vae import MusicVAE


def train_briefly(model: MusicVAE, windows: np.ndarray, steps: int) -> MusicVAE:
    """``model`` after ``steps`` Adam steps (lr 3e-3, some scheduled sampling, beta 0.1) on
    batches of a quarter of ``windows`` in turn; in eval mode."""
    windows = torch.as_tensor(windows)
    batch = len(windows) // 4
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(steps):
        loss = model(windows[(step * batch) % len(windows):][:batch], sampling_probability=0.2,
                     beta=0.1).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def mu_and_z(model: MusicVAE, windows: np.ndarray, rng: np.random.Generator
             ) -> tuple[np.ndarray, np.ndarray]:
    """symusic's mu of ``windows``, and the z to decode: those mu and two draws of N(0, I)."""
    with torch.no_grad():
        mu = model.encode(torch.as_tensor(windows))[0].numpy()
    z = np.concatenate([mu, rng.standard_normal((2, model.config.z_size)).astype(np.float32)])
    return mu, z
