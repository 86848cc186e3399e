"""The step-I/O seam: the sequence decoders and the VAE work on any item shape a StepIO
gives (here a toy of two tokens a step), flat and hierarchical, teacher-forced, under
scheduled sampling and running free; the categorical StepIO is what the token models were."""

import pytest
import torch
from torch import nn

from symusic.data import representation as representations
from symusic.data.settings import DataSettings
from symusic.musicvae.model import loss as L
from symusic.musicvae.model import step_io
from symusic.musicvae.model.config import ModelConfig
from symusic.musicvae.model.vae import MusicVAE


class PairEmbedding(nn.Module):
    """Two tokens a step, each embedded, concatenated."""

    def __init__(self, rows: int, size: int):
        super().__init__()
        self.parts = nn.ModuleList(nn.Embedding(rows, size) for _ in range(2))
        self.embedding_dim = 2 * size

    def forward(self, items):
        return torch.cat([part(items[..., i]) for i, part in enumerate(self.parts)], dim=-1)


class PairIO(step_io.StepIO):
    """Two parts of 5 tokens each a step; the start marker is token 5 in both."""

    item_shape = (2,)
    output_size = 10

    def encoder_input(self, embed_size):
        return PairEmbedding(5, embed_size)

    def decoder_input(self, embed_size, zero_start):
        return PairEmbedding(6, embed_size)

    def start_items(self, batch, device):
        return torch.full((batch, 2), 5, dtype=torch.long, device=device)

    def choose(self, outputs, temperature, generator=None):
        return torch.stack([step_io.choose_tokens(part, temperature, generator)
                            for part in outputs.split(5, dim=-1)], dim=-1)

    def reconstruction(self, outputs, targets):
        return sum(L.sequence_cross_entropy(part, targets[..., i])
                   for i, part in enumerate(outputs.split(5, dim=-1)))

    def accuracies(self, outputs, targets):
        chosen = self.choose(outputs.reshape(-1, 10), 0).reshape(targets.shape)
        correct = (chosen == targets).float().mean()
        return correct, correct


@pytest.fixture
def pair_model(monkeypatch, make_model_dict):
    class PairRepresentation(representations.MelodyRepresentation):
        name = "pairs"
        vocab_size = 5
        step_io_kind = "pairs"

    monkeypatch.setitem(representations.REPRESENTATIONS, "pairs", PairRepresentation())
    monkeypatch.setitem(step_io.STEP_IO, "pairs", lambda representation, settings: PairIO())

    def build(kind):
        config = ModelConfig.from_dict(make_model_dict(kind), seq_len=32)
        return MusicVAE(config, DataSettings(representation="pairs"))
    return build


@pytest.mark.parametrize("kind", ["another", "hier"])
def test_a_two_part_item_trains_samples_and_reconstructs(pair_model, kind):
    torch.manual_seed(0)
    model = pair_model(kind)
    windows = torch.randint(0, 5, (4, 32, 2))
    out = model(windows, sampling_probability=0.5)
    assert out.logits.shape == (4, 32, 10)
    assert 0 < out.sampled_fraction < 1
    out.loss.backward()
    assert model.encoder.embed.parts[1].weight.grad.abs().sum() > 0
    assert model.sample(3).shape == (3, 32, 2)
    assert model.reconstruct(windows).shape == (4, 32, 2)
    assert model.sample(3).max() < 5  # never the start marker


def test_a_hierarchical_bar_starts_from_the_last_item_of_the_bar_before(pair_model):
    """Teacher forcing: bar i's first input is bar i-1's last target, in both parts."""
    model = pair_model("hier")
    seen = []
    decoder = model.decoder.inner.decoder
    decoder.embed.register_forward_hook(lambda module, args, output: seen.append(args[0]))
    windows = torch.randint(0, 5, (2, 32, 2))
    model(windows)
    firsts = seen[0][:, 0].reshape(2, -1, 2)  # [B, bars, 2]
    sub_len = model.decoder.sub_len
    torch.testing.assert_close(firsts[:, 1:], windows[:, sub_len - 1:-1:sub_len])
    assert (firsts[:, 0] == 5).all()


def test_the_categorical_io_is_the_token_models_loss_and_accuracies():
    io = step_io.CategoricalIO(90, no_event=0)
    logits = torch.randn(3, 8, 90)
    targets = torch.randint(0, 90, (3, 8))
    torch.testing.assert_close(io.reconstruction(logits, targets).mean(),
                               L.reconstruction_loss(logits, targets))
    assert io.accuracies(logits, targets)[0] == L.token_accuracy(logits, targets)
    assert io.start_items(2, "cpu").tolist() == [90, 90]


def test_an_unregistered_step_kind_is_named(monkeypatch):
    class Unheard(representations.MelodyRepresentation):
        name = "unheard"
        step_io_kind = "nothing-registers-this"

    with pytest.raises(ValueError, match="no model head for the 'unheard'"):
        step_io.step_io_for(Unheard(), DataSettings())
