"""The fitted prior: a mixture over z that a checkpoint carries, drawn from by ``auto``/``fitted``,
checked on loading like the rest of an untrusted checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from symusic.musicvae.model import CheckpointError, ModelConfig, MusicVAE
from symusic.musicvae.model.prior import MAX_COMPONENTS, MixturePrior, PriorError

Z = 8


def small_model() -> MusicVAE:
    torch.manual_seed(0)
    config = {"z_size": Z, "encoder_params": {"embed_size": 6, "hidden_size": 16, "n_layers": 1},
              "seq_decoder_args": {"key": "greedy", "params": {"z_size": Z, "decoder_args": {
                  "key": "another",
                  "params": {"z_size": Z, "embed_size": 6, "hidden_size": 16, "n_layers": 1}}}}}
    return MusicVAE(ModelConfig.from_dict(config, seq_len=32)).eval()


def two_clusters(n: int = 400) -> np.ndarray:
    """Codes around +4 and -4 on every dimension, three in four at +4."""
    rng = np.random.default_rng(0)
    sides = np.where(rng.random(n) < 0.75, 4.0, -4.0)
    return (sides[:, None] + 0.1 * rng.standard_normal((n, Z))).astype(np.float32)


def test_a_fitted_mixture_finds_the_clusters_and_draws_from_them():
    codes = two_clusters()
    share = float((codes.mean(axis=1) > 0).mean())  # about 0.75
    prior = MixturePrior.fit(codes, components=2, seed=0, fitted_on="two clusters")
    centres = sorted(float(m.mean()) for m in prior.means)
    assert centres == pytest.approx([-4.0, 4.0], abs=0.05)
    assert sorted(prior.weights.tolist()) == pytest.approx([1 - share, share], abs=0.01)
    draws = prior.sample(4000, generator=torch.Generator().manual_seed(1))
    assert draws.shape == (4000, Z)
    assert float((draws.mean(dim=1) > 0).float().mean()) == pytest.approx(share, abs=0.03)
    assert float(draws.abs().min()) > 3.0  # nothing from between the clusters, as N(0, I) draws
    again = prior.sample(4000, generator=torch.Generator().manual_seed(1))
    assert torch.equal(draws, again)


def test_the_model_draws_from_its_fitted_prior_only_when_it_has_one():
    model = small_model()
    normal = model.draw_z(16, "auto", torch.Generator().manual_seed(3))
    # no fitted prior: auto is N(0, I), drawn as it always was
    assert torch.equal(normal, torch.randn(16, Z, generator=torch.Generator().manual_seed(3)))
    with pytest.raises(PriorError, match="no fitted prior"):
        model.draw_z(4, "fitted")
    with pytest.raises(PriorError, match="must be one of"):
        model.draw_z(4, "gaussian")
    model.prior = MixturePrior.fit(two_clusters(), 2)
    fitted = model.draw_z(16, "auto", torch.Generator().manual_seed(3))
    assert float(fitted.abs().min()) > 3.0
    assert torch.equal(fitted, model.draw_z(16, "fitted", torch.Generator().manual_seed(3)))
    assert torch.equal(model.draw_z(16, "normal", torch.Generator().manual_seed(3)), normal)
    tokens = model.sample(3, "fitted", temperature=0.0, generator=torch.Generator())
    assert tokens.shape == (3, 32)


def test_the_prior_travels_with_the_checkpoint(tmp_path):
    model = small_model()
    model.prior = MixturePrior.fit(two_clusters(), 2, fitted_on="two clusters")
    model.save(tmp_path / "m.pt")
    loaded = MusicVAE.load(tmp_path / "m.pt")
    assert loaded.prior is not None and loaded.prior.fitted_on == "two clusters"
    assert torch.equal(loaded.prior.means, model.prior.means)
    seeded = [m.sample(4, "auto", temperature=0.0, generator=torch.Generator().manual_seed(5))
              for m in (model, loaded)]
    assert torch.equal(*seeded)
    plain = small_model()
    plain.save(tmp_path / "plain.pt")
    assert "prior" not in torch.load(tmp_path / "plain.pt", weights_only=True)
    assert MusicVAE.load(tmp_path / "plain.pt").prior is None


def test_training_from_a_checkpoint_with_a_prior_drops_it(tmp_path):
    """The prior describes the codes of those weights; training moves them."""
    from symusic.musicvae.training.checkpoint import load_weights

    model = small_model()
    model.prior = MixturePrior.fit(two_clusters(), 2)
    model.save(tmp_path / "m.pt")
    fresh = small_model()
    assert load_weights(fresh, tmp_path / "m.pt") is None
    assert fresh.prior is None


def damaged(state: dict, **changes) -> dict:
    prior = dict(state["prior"], **changes)
    return {**state, "prior": prior}


@pytest.mark.parametrize("change, message", [
    (lambda p: {"means": p["means"][:, :3], "scales": p["scales"][:, :3]}, "codes of 3 numbers"),
    (lambda p: {"scales": p["scales"][:1]}, "must both be"),
    (lambda p: {"means": p["means"] * float("nan")}, "NaN or infinity"),
    (lambda p: {"weights": torch.tensor([1.5, -0.5])}, "non-negative and sum to 1"),
    (lambda p: {"weights": torch.tensor([0.2, 0.2])}, "non-negative and sum to 1"),
    (lambda p: {"scales": torch.zeros_like(p["scales"])}, "scales must be at least"),
    (lambda p: {"means": p["means"] + 1e9}, "within"),
    (lambda p: {"weights": [0.5, 0.5]}, "must be tensors"),
    (lambda p: {"kind": "flow"}, "not a diagonal mixture"),
    (lambda p: {"weights": torch.full((MAX_COMPONENTS + 1,), 1 / (MAX_COMPONENTS + 1)),
                "means": torch.zeros(MAX_COMPONENTS + 1, Z),
                "scales": torch.ones(MAX_COMPONENTS + 1, Z)}, "1 to 4096"),
])
def test_a_damaged_prior_is_refused_on_loading(change, message):
    model = small_model()
    model.prior = MixturePrior.fit(two_clusters(), 2)
    state = model.to_state()
    with pytest.raises(CheckpointError, match="unusable fitted prior") as err:
        MusicVAE.from_state(damaged(state, **change(state["prior"])), "hostile.pt")
    assert message in str(err.value)


def test_fitting_more_components_than_codes_is_refused():
    with pytest.raises(PriorError, match="at most one a code"):
        MixturePrior.fit(two_clusters(10), components=11)
