"""``lookback_distances``: a token decoder that also reads the items some steps back, the same
in the fused path, the step loop and generation, across a hierarchical decoder's bars."""

from __future__ import annotations

import pytest
import torch

from symusic.data.tokens import NUM_CLASSES
from symusic.musicvae.model import ModelConfig, MusicVAE

KINDS = ["simple", "another", "hier"]


def with_lookback(d: dict, distances: list[int]) -> dict:
    """``d`` with its token decoder's ``lookback_distances`` set."""
    seq = d["seq_decoder_args"]["params"]
    seq = seq.get("seq_decoder_args", {"params": seq})["params"]
    seq["decoder_args"]["params"]["lookback_distances"] = distances
    return d


def build(d: dict, seq_len: int = 32, seed: int = 0) -> MusicVAE:
    torch.manual_seed(seed)
    return MusicVAE(ModelConfig.from_dict(d, seq_len=seq_len)).double()


@pytest.mark.parametrize("kind", KINDS)
def test_lookback_fused_path_equals_step_loop(kind, make_model_dict, tunes):
    model = build(with_lookback(make_model_dict(kind, n_subsequences=4), [8, 16]))
    fused = model(tunes, use_mean=True)
    model.force_step_loop = True
    stepped = model(tunes, use_mean=True)
    torch.testing.assert_close(fused.logits, stepped.logits, rtol=0, atol=1e-8)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("step_loop", [False, True])
def test_greedy_generation_reads_what_teacher_forcing_reads(kind, step_loop, make_model_dict):
    """Teacher-forced on its own greedy output, the decoder's argmax is that output at every
    step: generation gives each step the same lookback items as training does."""
    model = build(with_lookback(make_model_dict(kind, n_subsequences=4), [3, 8, 16])).eval()
    model.force_step_loop = step_loop
    z = torch.randn(6, 8, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    tokens = model.decode(z)
    logits, _ = model.decoder(z, tokens)
    assert torch.equal(logits.argmax(-1), tokens)


def test_hier_bars_read_the_bars_before_them(make_model_dict):
    """Under ``hier`` a bar reads the previous bar only through its last item, unless it looks
    back: then a change at step 3 reaches bar 2's step 3 (11 = 3 + 8)."""
    tunes = torch.randint(2, NUM_CLASSES, (4, 32), generator=torch.Generator().manual_seed(0))
    changed = tunes.clone()
    changed[:, 3] = (tunes[:, 3] + 5) % NUM_CLASSES
    for distances, reached in (([], False), ([8], True)):
        d = make_model_dict("hier", n_subsequences=4)
        model = build(with_lookback(d, distances) if distances else d)
        mu, _ = model.encode(tunes)
        before, after = model.decoder(mu, tunes)[0], model.decoder(mu, changed)[0]
        assert torch.equal(before[:, :4], after[:, :4])  # nothing before the change moves
        assert (not torch.allclose(before[:, 11], after[:, 11])) == reached
        # bar 1's first step reads bar 0's last item, which did not change; 8 back is step 0
        assert torch.allclose(before[:, 8], after[:, 8])


def test_lookback_round_trips_and_is_left_out_when_empty(make_model_dict):
    model = build(with_lookback(make_model_dict("hier"), [16, 8]))
    params = (model.config.to_dict()["seq_decoder_args"]["params"]["seq_decoder_args"]
              ["params"]["decoder_args"]["params"])
    assert params["lookback_distances"] == [16, 8]
    again = MusicVAE(ModelConfig.from_dict(model.config.to_dict(), seq_len=32))
    assert again.decoder.inner.lookback_distances == (16, 8)
    plain = build(make_model_dict("another")).config.to_dict()
    assert "lookback_distances" not in plain["seq_decoder_args"]["params"]["decoder_args"][
        "params"]


@pytest.mark.parametrize("bad", [[0], [-4], ["8"], list(range(1, 10))])
def test_bad_lookback_distances_are_refused_with_the_key(bad, make_model_dict):
    from symusic.musicvae.model.params import ConfigError

    with pytest.raises(ConfigError, match="lookback_distances"):
        ModelConfig.from_dict(with_lookback(make_model_dict("another"), bad), seq_len=32)


def test_magenta_export_refuses_a_decoder_that_looks_back(make_model_dict, tmp_path):
    from symusic.magenta import export_magenta
    from symusic.magenta.export import ExportRefused

    d = with_lookback(make_model_dict("another", layers=1), [16])
    d["seq_decoder_args"]["params"]["decoder_args"]["params"]["start_input"] = "zeros"
    model = build(d).float()
    with pytest.raises(ExportRefused, match="lookback"):
        export_magenta(model, tmp_path / "out")


@pytest.mark.parametrize("kind", KINDS)
def test_added_lookback_decodes_as_the_model_did(kind, make_model_dict, tunes, tmp_path):
    """``tools.add_lookback`` grows a trained model's decoder with lookback inputs whose LSTM
    weights start at zero: the same logits, the same greedy decoding, then trainable."""
    from symusic.musicvae.tools import add_lookback

    model = build(make_model_dict(kind, n_subsequences=4)).float().eval()
    path = tmp_path / "model.pt"
    model.save(path)
    out = tmp_path / "grown.pt"
    assert add_lookback.main([str(path), str(out), "--distances", "8,16"]) == 0
    grown = MusicVAE.load(out).eval()
    assert add_lookback.token_decoder_params(grown.config.to_dict())[
        "lookback_distances"] == [8, 16]
    torch.testing.assert_close(grown(tunes, use_mean=True).logits,
                               model(tunes, use_mean=True).logits, rtol=0, atol=1e-6)
    z = torch.randn(4, 8, generator=torch.Generator().manual_seed(1))
    assert torch.equal(grown.decode(z), model.decode(z))
    grown.train()
    grown(tunes).logits.sum().backward()
    lstm_input = [p for name, p in grown.named_parameters() if name.endswith("weight_ih_l0")]
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in lstm_input)


def test_add_lookback_refuses_bad_input_in_one_line(make_model_dict, tmp_path, capsys):
    from symusic.musicvae.tools import add_lookback

    path = tmp_path / "model.pt"
    build(with_lookback(make_model_dict("another"), [8])).save(path)
    assert add_lookback.main([str(path), str(tmp_path / "o.pt"), "--distances", "16"]) == 1
    assert add_lookback.main([str(path), str(tmp_path / "o.pt"), "--distances", "0"]) == 2
    assert add_lookback.main([str(tmp_path / "none.pt"), str(tmp_path / "o.pt"),
                              "--distances", "8"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and "already looks back [8]" in lines[0]
    assert not (tmp_path / "o.pt").exists()


def with_lookback_dropout(d: dict, share: float, span: int) -> dict:
    """``d`` looking back [8] with ``lookback_dropout`` / ``lookback_span`` set."""
    d = with_lookback(d, [8])
    seq = d["seq_decoder_args"]["params"]
    seq = seq.get("seq_decoder_args", {"params": seq})["params"]
    seq["decoder_args"]["params"].update(lookback_dropout=share, lookback_span=span)
    return d


def test_lookback_dropout_hides_whole_spans_as_the_start_marker(make_model_dict):
    decoder = build(with_lookback_dropout(make_model_dict("another"), 0.5, 4)).decoder.decoder
    lookback = torch.randint(2, NUM_CLASSES, (64, 18, 2),
                             generator=torch.Generator().manual_seed(0))
    marker = decoder.io.start_items(1, "cpu").item()
    assert not (lookback == marker).any()
    torch.manual_seed(1)
    shown = decoder.hide_lookback(lookback)
    hidden = shown == marker
    assert torch.equal(shown[~hidden], lookback[~hidden])
    per_step = hidden.all(-1)
    assert torch.equal(per_step, hidden.any(-1))  # a step hides all its distances or none
    spans = torch.nn.functional.pad(per_step, (0, 2)).reshape(64, 5, 4)
    assert torch.equal(spans[:, :4].all(-1), spans[:, :4].any(-1))  # whole spans of 4
    assert torch.equal(spans[:, 4, :2].all(-1), spans[:, 4, :2].any(-1))  # the cut last one
    assert 0.35 < per_step.float().mean() < 0.65


@pytest.mark.parametrize("kind", KINDS)
def test_lookback_dropout_acts_in_training_only(kind, make_model_dict, tunes):
    plain = build(with_lookback(make_model_dict(kind, n_subsequences=4), [8]))
    dropped = build(with_lookback_dropout(make_model_dict(kind, n_subsequences=4), 0.9, 4))
    torch.testing.assert_close(dropped.eval()(tunes, use_mean=True).logits,
                               plain.eval()(tunes, use_mean=True).logits, rtol=0, atol=0)
    torch.manual_seed(0)
    trained = dropped.train()(tunes, use_mean=True).logits
    assert not torch.allclose(trained, plain.train()(tunes, use_mean=True).logits)


def test_lookback_dropout_round_trips_and_is_left_out_at_its_default(make_model_dict):
    model = build(with_lookback_dropout(make_model_dict("hier"), 0.25, 8))
    d = model.config.to_dict()
    params = d["seq_decoder_args"]["params"]["seq_decoder_args"]["params"]["decoder_args"][
        "params"]
    assert (params["lookback_dropout"], params["lookback_span"]) == (0.25, 8)
    again = MusicVAE(ModelConfig.from_dict(d, seq_len=32)).decoder.inner.decoder
    assert (again.lookback_dropout, again.lookback_span) == (0.25, 8)
    plain = build(with_lookback(make_model_dict("another"), [8])).config.to_dict()
    plain = plain["seq_decoder_args"]["params"]["decoder_args"]["params"]
    assert "lookback_dropout" not in plain and "lookback_span" not in plain


@pytest.mark.parametrize("share", [1.0, -0.1])
def test_bad_lookback_dropout_is_refused_with_the_key(share, make_model_dict):
    from symusic.musicvae.model.params import ConfigError

    with pytest.raises(ConfigError, match="lookback_dropout"):
        ModelConfig.from_dict(with_lookback_dropout(make_model_dict("another"), share, 16),
                              seq_len=32)
