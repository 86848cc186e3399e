"""MusicVAE: the loss terms, interpolation, checkpoints."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from symusic.data.tokens import NO_EVENT
from symusic.musicvae.model import CheckpointError, ModelConfig, MusicVAE, VAEOutput
from symusic.musicvae.model import loss as L
from symusic.musicvae.model.config import ConfigError


def build(d: dict, seq_len: int = 32) -> MusicVAE:
    torch.manual_seed(0)
    return MusicVAE(ModelConfig.from_dict(d, seq_len=seq_len))


# --- loss ---------------------------------------------------------------------------------------


def test_reconstruction_is_summed_over_time_and_averaged_over_the_batch():
    logits, targets = torch.randn(3, 5, 90), torch.randint(0, 90, (3, 5))
    by_hand = sum(F.cross_entropy(logits[b], targets[b], reduction="sum") for b in range(3)) / 3
    torch.testing.assert_close(L.reconstruction_loss(logits, targets), by_hand)


def test_kl_divergence_of_a_known_gaussian():
    mu, sigma = torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 2.0]])
    expected = 0.5 * (0 + 1 + 1 + 4 - 2 - 2 * math.log(2.0))
    torch.testing.assert_close(L.kl_divergence(mu, sigma), torch.tensor([expected]))
    assert L.kl_divergence(torch.zeros(2, 4), torch.ones(2, 4)).abs().max() == 0


def test_free_bits_subtracts_bits_and_clamps_at_zero():
    kl = torch.tensor([10 * math.log(2.0), 2 * math.log(2.0)])  # 10 bits, 2 bits
    torch.testing.assert_close(L.kl_cost(kl, free_bits=4), torch.tensor([6 * math.log(2.0), 0.0]))


def test_note_accuracy_ignores_no_event_targets():
    targets = torch.tensor([[NO_EVENT, 5, NO_EVENT, 7]])
    logits = F.one_hot(torch.tensor([[NO_EVENT, 5, 3, 3]]), 90).float()
    assert L.token_accuracy(logits, targets) == 0.5
    assert L.note_accuracy(logits, targets) == 0.5
    assert torch.isnan(L.note_accuracy(logits, torch.zeros(1, 4, dtype=torch.long)))


def test_forward_combines_the_terms(make_model_dict, tunes):
    model = build(make_model_dict("hier"))
    out = model(tunes, beta=0.5, free_bits=1.0, use_mean=True)
    assert isinstance(out, VAEOutput) and out.logits.shape == (8, 32, 90)
    mu, sigma = model.encode(tunes)
    kl = L.kl_divergence(mu, sigma)
    torch.testing.assert_close(out.reconstruction, L.reconstruction_loss(out.logits, tunes))
    torch.testing.assert_close(out.kl, kl.mean())
    torch.testing.assert_close(out.kl_bits, kl.mean() / math.log(2.0))
    torch.testing.assert_close(out.kl_cost, L.kl_cost(kl, 1.0).mean())
    torch.testing.assert_close(out.loss, out.reconstruction + 0.5 * out.kl_cost)
    torch.testing.assert_close(out.elbo, -(out.reconstruction + out.kl))
    assert out.loss.requires_grad and out.loss.dim() == 0 and out.sampled_fraction == 0


def test_z_is_drawn_unless_use_mean(make_model_dict, tunes):
    model = build(make_model_dict("another"))
    torch.manual_seed(1)
    a = model(tunes).loss
    torch.manual_seed(2)
    assert a != model(tunes).loss
    assert model(tunes, use_mean=True).loss == model(tunes, use_mean=True).loss


# --- interpolation --------------------------------------------------------------------------------


def test_slerp_keeps_the_ends_and_the_norm_of_orthogonal_vectors():
    z_a, z_b = torch.tensor([3.0, 0.0, 0.0]), torch.tensor([0.0, 3.0, 0.0])
    path = MusicVAE.interpolate(z_a, z_b, 5)
    assert path.shape == (5, 3)
    assert torch.equal(path[0], z_a) and torch.equal(path[-1], z_b)
    torch.testing.assert_close(path.norm(dim=1), torch.full((5,), 3.0))  # lerp would dip to 2.12


def test_slerp_falls_back_to_lerp_for_parallel_vectors():
    z_a = torch.tensor([1.0, 2.0])
    path = MusicVAE.interpolate(z_a, 2 * z_a, 3)
    torch.testing.assert_close(path, torch.stack([z_a, 1.5 * z_a, 2 * z_a]))


# --- checkpoints ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["another", "hier"])
def test_save_load_round_trip_gives_identical_outputs(kind, make_model_dict, tunes, tmp_path):
    model = build(make_model_dict(kind, seq="sample"))
    path = tmp_path / "sub" / "model.pt"
    model.save(path)
    loaded = MusicVAE.load(path)
    assert loaded.config == model.config
    assert torch.equal(loaded(tunes, use_mean=True).logits, model(tunes, use_mean=True).logits)
    z = torch.randn(4, 8)
    same_seed = [m.decode(z, generator=torch.Generator().manual_seed(3)) for m in (model, loaded)]
    assert torch.equal(*same_seed)
    assert [p.name for p in tmp_path.joinpath("sub").iterdir()] == ["model.pt"]  # no temp left


def test_from_state_accepts_a_trainer_bundle(make_model_dict, tunes):
    model = build(make_model_dict("hier"))
    bundle = {**model.to_state(), "training": {"step": 7}}
    rebuilt = MusicVAE.from_state(bundle)
    assert torch.equal(rebuilt(tunes, use_mean=True).loss, model(tunes, use_mean=True).loss)


def test_loading_something_else_raises_checkpoint_error(make_model_dict, tmp_path):
    model = build(make_model_dict("another"))
    text = tmp_path / "notes.txt"
    text.write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable torch checkpoint"):
        MusicVAE.load(text)

    model.save(tmp_path / "good.pt")
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes((tmp_path / "good.pt").read_bytes()[:200])
    with pytest.raises(CheckpointError, match="damaged.pt"):
        MusicVAE.load(damaged)

    other = tmp_path / "other.pt"
    torch.save({"kind": "some.other.model", "model_config": {}, "state_dict": {}}, other)
    with pytest.raises(CheckpointError, match="kind 'some.other.model'"):
        MusicVAE.load(other)

    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(CheckpointError, match="needs 'model_config' and 'state_dict'"):
        MusicVAE.load(other)

    state = model.to_state()
    state["state_dict"].pop("encoder.mu.weight")
    with pytest.raises(CheckpointError, match="encoder.mu.weight"):
        MusicVAE.from_state(state)

    with pytest.raises(FileNotFoundError):
        MusicVAE.load(tmp_path / "missing.pt")
    assert issubclass(CheckpointError, ValueError)


def test_a_hierarchical_encoder_reads_each_bar_then_the_bars(make_model_dict, tunes):
    from symusic.musicvae.model.encoder import HierarchicalEncoder

    d = make_model_dict("hier")
    d["encoder_params"].update(segment_length=16, segment_hidden_size=12)
    model = MusicVAE(ModelConfig.from_dict(d, seq_len=32)).eval()
    assert isinstance(model.encoder, HierarchicalEncoder)
    assert model.encoder.segment_lstm.hidden_size == 12
    mu, sigma = model.encoder(tunes)
    assert mu.shape == sigma.shape == (8, 8) and bool((sigma > 0).all())
    # a change in the second bar moves mu, and only the second bar's summary changes
    changed = tunes.clone()
    changed[:, 20] = (changed[:, 20] + 3) % 90
    segments = lambda t: model.encoder.summary(t.reshape(16, 16)).reshape(8, 2, -1)  # noqa: E731
    with torch.no_grad():
        before, after = segments(tunes), segments(changed)
        assert torch.equal(before[:, 0], after[:, 0]) and not torch.equal(before[:, 1], after[:, 1])
        assert not torch.allclose(model.encoder(changed)[0], mu)
    out = model(tunes)
    out.loss.backward()
    assert model.encoder.segment_lstm.weight_ih_l0.grad.abs().sum() > 0
    # the config round-trips with the extra keys; a flat encoder's config has only the spec's
    assert ModelConfig.from_dict(model.config.to_dict()).to_dict() == model.config.to_dict()
    assert set(make_model_dict("hier")["encoder_params"]) == {"embed_size", "hidden_size",
                                                              "n_layers"}
    assert set(ModelConfig.from_dict(make_model_dict("hier"), seq_len=32).to_dict()[
        "encoder_params"]) == {"embed_size", "hidden_size", "n_layers"}


def test_segments_that_do_not_tile_the_window_are_a_config_error(make_model_dict):
    d = make_model_dict("another")
    d["encoder_params"]["segment_length"] = 12
    with pytest.raises(ConfigError, match="encoder_params.segment_length: 12 steps do not "
                                          "divide the window of 32 steps"):
        ModelConfig.from_dict(d, seq_len=32)
    d["encoder_params"] = {"embed_size": 6, "hidden_size": 8, "n_layers": 1,
                           "segment_hidden_size": 4}
    with pytest.raises(ConfigError, match="segment_hidden_size: only with segment_length"):
        ModelConfig.from_dict(d, seq_len=32)
