"""LSTMStepper (model/recurrent.py): one generation step through an nn.LSTM's own weights
equals the nn.LSTM call it replaces, and the decoders' generation is unchanged by it (on tiny
models and on shipped checkpoints)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from symusic.musicvae.inference import TrainedModel
from symusic.musicvae.model import ModelConfig, MusicVAE
from symusic.musicvae.model.decoders import TokenDecoder
from symusic.musicvae.model.recurrent import LSTMStepper, decoding_step


def run_both(lstm: nn.LSTM, context_size: int, steps: int = 12, batch: int = 5,
             dtype=torch.float64, autocast: bool = False):
    """(nn.LSTM's outputs and states, the stepper's), step by step from a random state."""
    torch.manual_seed(1)
    own = lstm.input_size - context_size
    xs = torch.randn(steps, batch, own, dtype=dtype)
    context = torch.randn(batch, context_size, dtype=dtype) if context_size else None
    state = tuple(torch.randn(lstm.num_layers, batch, lstm.hidden_size, dtype=dtype)
                  for _ in range(2))
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        stepper = LSTMStepper(lstm, context)
        ref_state, new_state = state, state
        reference, stepped = [], []
        for x in xs:
            full = x if context is None else torch.cat([x, context], dim=1)
            out, ref_state = lstm(full[:, None], ref_state)
            reference.append((out[:, 0], *ref_state))
            h, new_state = stepper.step(x, new_state)
            stepped.append((h, *new_state))
    return reference, stepped


@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("context_size", [0, 7])
def test_each_step_equals_nn_lstm_in_float64(layers, context_size):
    torch.manual_seed(0)
    lstm = nn.LSTM(4 + context_size, 16, layers, batch_first=True).double()
    reference, stepped = run_both(lstm, context_size)
    for ref, new in zip(reference, stepped, strict=True):
        for a, b in zip(ref, new, strict=True):
            assert a.shape == b.shape
            torch.testing.assert_close(b, a, rtol=0, atol=1e-12)


def test_each_step_is_within_float32_rounding_of_nn_lstm():
    torch.manual_seed(0)
    lstm = nn.LSTM(12 + 32, 64, 2, batch_first=True)
    reference, stepped = run_both(lstm, 32, steps=32, dtype=torch.float32)
    worst = max((a - b).abs().max().item()
                for ref, new in zip(reference, stepped, strict=True)
                for a, b in zip(ref, new, strict=True))
    assert worst < 2e-6


def test_under_bf16_autocast_it_stays_within_bf16_rounding_of_nn_lstm():
    torch.manual_seed(0)
    lstm = nn.LSTM(12 + 32, 64, 2, batch_first=True)
    reference, stepped = run_both(lstm, 32, steps=16, dtype=torch.float32, autocast=True)
    final_ref, final_new = reference[-1][0].float(), stepped[-1][0].float()
    assert (final_ref - final_new).abs().max() < 3e-2
    # and it is not trivially equal: a wrong gate order would be far off
    assert (final_new - torch.roll(final_ref, 1, dims=1)).abs().max() > 0.1


def test_it_refuses_what_it_does_not_run():
    for lstm in (nn.LSTM(4, 8, bidirectional=True), nn.LSTM(4, 8, proj_size=4),
                 nn.LSTM(4, 8, bias=False)):
        with pytest.raises(ValueError, match="unidirectional"):
            LSTMStepper(lstm)


def test_it_reads_the_weights_and_adds_no_parameters():
    lstm = nn.LSTM(6, 8, 2)
    names = [name for name, _ in lstm.named_parameters()]
    LSTMStepper(lstm)
    assert [name for name, _ in lstm.named_parameters()] == names
    assert not any(p.grad is not None for p in lstm.parameters())


# --- the decoders' generation through it --------------------------------------------------------


def both_ways(model, **options):
    """(tokens decoded through LSTMStepper, the same through one nn.LSTM call per step)."""
    z = torch.randn(6, model.config.z_size, generator=torch.Generator().manual_seed(3))

    def decode():
        generator = torch.Generator().manual_seed(5)
        return model.decode(z, generator=generator, **options)

    stepped = decode()
    model.force_step_loop = True
    try:
        reference = decode()
    finally:
        model.force_step_loop = False
    return stepped, reference


@pytest.mark.parametrize("kind", ["simple", "another", "hier"])
@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_generation_equals_one_nn_lstm_call_per_step(kind, temperature, make_model_dict):
    torch.manual_seed(0)
    model = MusicVAE(ModelConfig.from_dict(make_model_dict(kind), seq_len=32)).eval()
    calls = []
    for module in model.decoder.modules():
        if isinstance(module, TokenDecoder):
            module.register_forward_hook(lambda *_: calls.append(1))
    stepped, reference = both_ways(model, temperature=temperature)
    assert torch.equal(stepped, reference)
    assert len(calls) == 32  # the reference's 32 steps; the stepped path made no such call


def test_in_training_mode_generation_keeps_the_decoders_own_step(make_model_dict):
    torch.manual_seed(0)
    model = MusicVAE(ModelConfig.from_dict(make_model_dict("another"), seq_len=32))
    decoder, context = model.decoder.decoder, torch.randn(2, 8)
    state = decoder.initial_state(context)
    calls = []
    decoder.register_forward_hook(lambda *_: calls.append(1))
    outputs, _ = decoding_step(decoder, context)(torch.tensor([3, 4]), state)
    assert calls == [1] and outputs.shape == (2, model.io.output_size)


@pytest.mark.parametrize("name", ["folk-mel-2bar", "folk-mel-16bar-hier"])
def test_a_shipped_checkpoint_generates_as_before(name):
    model = TrainedModel.load(name).model
    stepped, reference = both_ways(model, temperature=1.0)
    assert torch.equal(stepped, reference)
    # step by step on the generated tokens, its outputs are the fused teacher-forced logits
    decoder = getattr(model.decoder, "inner", model.decoder).decoder
    tokens = stepped.reshape(-1, 16)  # hier: its bars
    context = torch.randn(tokens.shape[0], decoder.initial_state.proj.in_features)
    inputs = torch.cat([decoder.io.start_items(len(tokens), "cpu")[:, None], tokens[:, :-1]], 1)
    with torch.no_grad():
        fused, _ = decoder(inputs, context, decoder.initial_state(context))
        step, state, outputs = decoding_step(decoder, context), decoder.initial_state(context), []
        for t in range(inputs.shape[1]):
            out, state = step(inputs[:, t], state)
            outputs.append(out)
    torch.testing.assert_close(torch.stack(outputs, 1), fused, rtol=0, atol=2e-5)
