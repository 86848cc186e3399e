"""Decoding: the fused path equals the step loop, scheduled sampling, gradients, generation."""

from __future__ import annotations

import pytest
import torch

from symusic.data.tokens import NUM_CLASSES
from symusic.musicvae.model import ModelConfig, MusicVAE

KINDS = ["simple", "another", "hier"]


def build(d: dict, seq_len: int = 32, dtype=torch.float64, seed: int = 0) -> MusicVAE:
    torch.manual_seed(seed)
    return MusicVAE(ModelConfig.from_dict(d, seq_len=seq_len)).to(dtype)


def count_lstm_calls(model: MusicVAE) -> list[int]:
    """A one-element list counting calls of every decoder LSTM but the conductor's."""
    calls = [0]

    def hook(*_):
        calls[0] += 1

    for name, module in model.decoder.named_modules():
        if isinstance(module, torch.nn.LSTM) and "conductor" not in name:
            module.register_forward_hook(hook)
    return calls


@pytest.mark.parametrize("kind", KINDS)
def test_fused_path_equals_step_loop(kind, make_model_dict, tunes):
    model = build(make_model_dict(kind))
    calls = count_lstm_calls(model)
    fused = model(tunes, use_mean=True)
    assert calls[0] == 1  # one LSTM call for the whole batch (all subsequences for hier)
    model.force_step_loop = True
    stepped = model(tunes, use_mean=True)
    assert calls[0] == 1 + (16 if kind == "hier" else 32)
    torch.testing.assert_close(fused.logits, stepped.logits, rtol=0, atol=1e-5)
    torch.testing.assert_close(fused.loss, stepped.loss, rtol=0, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_scheduled_sampling_chunks_equal_step_loop(kind, make_model_dict, tunes):
    model = build(make_model_dict(kind))
    torch.manual_seed(1)
    chunked = model(tunes, sampling_probability=0.05, use_mean=True)
    model.force_step_loop = True
    torch.manual_seed(1)
    stepped = model(tunes, sampling_probability=0.05, use_mean=True)
    assert chunked.sampled_fraction > 0
    torch.testing.assert_close(chunked.logits, stepped.logits, rtol=0, atol=1e-5)


def test_batch_with_no_sampled_step_takes_the_fused_path(make_model_dict, tunes):
    model = build(make_model_dict("another"))
    calls = count_lstm_calls(model)
    out = model(tunes, sampling_probability=1e-12)
    assert calls[0] == 1 and out.sampled_fraction == 0


def test_full_sampling_feeds_the_greedy_output_back(make_model_dict, tunes):
    model = build(make_model_dict("another"))
    out = model(tunes, sampling_probability=1.0, use_mean=True)
    assert out.sampled_fraction == pytest.approx(31 / 32)  # step 0 always takes the start token
    # every input after the first was the previous argmax: exactly greedy free-running decoding
    assert torch.equal(out.logits.argmax(-1), model.reconstruct(tunes, temperature=0))
    assert not torch.equal(out.logits, model(tunes, use_mean=True).logits)


def test_hier_samples_inside_subsequences_only(make_model_dict, tunes):
    model = build(make_model_dict("hier", n_subsequences=4))
    out = model(tunes, sampling_probability=1.0)
    assert out.sampled_fraction == pytest.approx(7 / 8)  # first input of each 8-step piece is given


@pytest.mark.parametrize("kind", KINDS)
def test_gradients_reach_every_parameter(kind, make_model_dict, tunes):
    model = build(make_model_dict(kind), dtype=torch.float32)
    model(tunes, sampling_probability=0.3, beta=1.0).loss.backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert len(trainable) > 10
    for name, p in trainable:
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_conductor_only_freezes_its_zero_input_weights(make_model_dict):
    model = build(make_model_dict("hier"), dtype=torch.float32)
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    assert frozen == ["decoder.conductor.lstm.weight_ih_l0"]


@pytest.mark.parametrize("kind", KINDS)
def test_greedy_generation_is_deterministic_and_shaped(kind, make_model_dict):
    model = build(make_model_dict(kind), dtype=torch.float32)
    z = torch.randn(3, 8)
    a, b = model.decode(z), model.decode(z, temperature=0)
    assert a.shape == (3, 32) and a.dtype == torch.long
    assert torch.equal(a, b) and 0 <= a.min() and a.max() < NUM_CLASSES
    assert model.decode(z, length=64).shape == (3, 64)


def test_sample_decoder_is_reproducible_per_seed(make_model_dict):
    model = build(make_model_dict("another", seq="sample"), dtype=torch.float32)

    def draw(seed: int) -> torch.Tensor:
        return model.sample(6, generator=torch.Generator().manual_seed(seed))

    assert torch.equal(draw(0), draw(0))
    assert not torch.equal(draw(0), draw(1))


def test_temperature_overrides_the_configured_strategy(make_model_dict):
    greedy = build(make_model_dict("hier"), dtype=torch.float32)
    z = torch.randn(6, 8, generator=torch.Generator().manual_seed(0))
    hot = [greedy.decode(z, temperature=2.0, generator=torch.Generator().manual_seed(s))
           for s in (0, 0, 1)]
    assert torch.equal(hot[0], hot[1]) and not torch.equal(hot[0], hot[2])
    sampler = build(make_model_dict("hier", seq="sample"), dtype=torch.float32)
    assert torch.equal(sampler.decode(z, temperature=0), sampler.decode(z, temperature=0))


def test_hier_generation_starts_each_piece_from_the_last_token(make_model_dict):
    model = build(make_model_dict("hier", n_subsequences=4), dtype=torch.float32)
    z = torch.randn(2, 8)
    tokens = model.decode(z)
    embeddings = model.decoder.conductor(z, 4)
    inner = model.decoder.inner
    third = inner.generate(embeddings[:, 2], 8, first_input=tokens[:, 15])
    assert torch.equal(third, tokens[:, 16:24])
    with pytest.raises(ValueError, match="multiple of its subsequence length 8"):
        model.decode(z, length=20)


def test_hier_teacher_forcing_starts_each_piece_from_the_previous_target(make_model_dict):
    model = build(make_model_dict("hier", n_subsequences=4))
    tunes = torch.randint(2, NUM_CLASSES, (4, 32), generator=torch.Generator().manual_seed(0))
    out = model(tunes, use_mean=True)
    mu, _ = model.encode(tunes)
    embeddings = model.decoder.conductor(mu, 4)
    third, _ = model.decoder.inner(embeddings[:, 2], tunes[:, 16:24], first_input=tunes[:, 15])
    torch.testing.assert_close(out.logits[:, 16:24], third, rtol=0, atol=1e-10)


@pytest.mark.parametrize("flush_denormal", [False, True])
@pytest.mark.parametrize("temperature", [1e-38, 1e-40, 1e-45])
def test_a_temperature_at_the_bottom_of_float_range_draws_the_argmax(temperature,
                                                                     flush_denormal):
    """softmax(logits / 1e-40) was NaN (inf - inf) and torch.multinomial raised; with the
    trainer's flush-denormal mode on, a subnormal temperature read as 0 (0 / 0)."""
    from symusic.musicvae.model.step_io import choose_tokens

    logits = torch.randn(64, NUM_CLASSES, generator=torch.Generator().manual_seed(0)) * 5
    torch.set_flush_denormal(flush_denormal)
    try:
        tokens = choose_tokens(logits, temperature, torch.Generator().manual_seed(1))
    finally:
        torch.set_flush_denormal(False)
    assert torch.equal(tokens, logits.argmax(dim=-1))


def test_a_sample_decoder_configured_with_a_tiny_temperature_generates(make_model_dict):
    config = make_model_dict(seq="sample")
    config["seq_decoder_args"]["params"]["temperature"] = 1e-40
    model = MusicVAE(ModelConfig.from_dict(config, seq_len=32))
    tokens = model.sample(3, generator=torch.Generator().manual_seed(0))
    assert tokens.shape == (3, 32)


def with_word_dropout(d: dict, rate: float) -> dict:
    """``d`` with every token decoder's ``word_dropout`` set to ``rate``."""
    seq = d["seq_decoder_args"]["params"]
    seq = seq.get("seq_decoder_args", {"params": seq})["params"]
    seq["decoder_args"]["params"]["word_dropout"] = rate
    return d


@pytest.mark.parametrize("kind", KINDS)
def test_word_dropout_hides_previous_tokens_in_training_only(kind, make_model_dict, tunes):
    plain = build(make_model_dict(kind))
    dropped = build(with_word_dropout(make_model_dict(kind), 0.999999))
    # the same weights: word dropout has no parameters, and evaluation never drops
    torch.testing.assert_close(plain(tunes, use_mean=True).logits,
                               dropped.eval()(tunes, use_mean=True).logits, rtol=0, atol=0)
    dropped.train()
    other = tunes.roll(1, 1)  # other previous tokens, the same encoder input via z = mu
    mu, _ = dropped.encode(tunes)
    seen = dropped.decoder(mu, tunes)[0]
    seen_other = dropped.decoder(mu, other)[0]
    # every previous token hidden: the outputs cannot depend on them
    torch.testing.assert_close(seen, seen_other, rtol=0, atol=1e-12)
    plain.train()
    assert not torch.allclose(plain.decoder(mu, tunes)[0], plain.decoder(mu, other)[0])


def test_word_dropout_hides_about_its_share_of_steps_and_round_trips(make_model_dict, tunes):
    model = build(with_word_dropout(make_model_dict("another"), 0.5)).train()
    decoder = model.decoder.decoder
    inputs = []
    decoder.lstm.register_forward_hook(lambda _m, args, _out: inputs.append(args[0]))
    torch.manual_seed(3)
    model(tunes)
    features = inputs[0][..., : decoder.embed.embedding_dim]  # the previous token's part
    hidden = (features == 0).all(-1).double().mean()
    assert 0.4 < float(hidden) < 0.6
    params = model.config.to_dict()["seq_decoder_args"]["params"]["decoder_args"]["params"]
    assert params["word_dropout"] == 0.5
    plain = build(make_model_dict("another")).config.to_dict()
    assert "word_dropout" not in plain["seq_decoder_args"]["params"]["decoder_args"]["params"]
