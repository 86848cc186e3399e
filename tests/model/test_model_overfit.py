"""The model can learn: eight real tunes memorised to 100% teacher-forced and free-running
(greedy, z = mu) accuracy within a bounded number of CPU steps, flat and hierarchical."""

from __future__ import annotations

import pytest
import torch

from symusic.musicvae.model import ModelConfig, MusicVAE

MAX_STEPS = 800
CHECK_EVERY = 25


@pytest.mark.parametrize("kind", ["another", "hier"])
def test_memorises_eight_tunes(kind, make_model_dict, tunes):
    torch.manual_seed(0)
    d = make_model_dict(kind, z=16, hidden=64, layers=1, n_subsequences=2, c_size=16)
    model = MusicVAE(ModelConfig.from_dict(d, seq_len=32))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(1, MAX_STEPS + 1):
        out = model(tunes, free_bits=64)  # z is drawn from q(z|x); the KL is within free bits
        optimizer.zero_grad()
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if step % CHECK_EVERY == 0:
            with torch.no_grad():
                teacher_forced = model(tunes, use_mean=True).accuracy.item()
            free_running = (model.reconstruct(tunes, temperature=0) == tunes).float().mean().item()
            if teacher_forced == 1.0 and free_running == 1.0:
                return
    pytest.fail(f"{kind}: after {MAX_STEPS} steps, teacher-forced accuracy {teacher_forced:.3f}, "
                f"free-running {free_running:.3f}")
