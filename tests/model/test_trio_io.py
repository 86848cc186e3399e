"""The trio step head: Magenta's multi-output decoders (one distribution per part, the loss
their sum), the fixed one-hot input, and the split decoder's refusal of a one-part model."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from symusic.data.representation import get_representation
from symusic.data.settings import DataSettings
from symusic.musicvae.model.params import ConfigError
from symusic.musicvae.model.split_decoder import SplitDecoderParams
from symusic.musicvae.model.step_io import CategoricalIO, step_io_for

SIZES = (90, 90, 512)


@pytest.fixture
def io():
    return step_io_for(get_representation("trio"), DataSettings("trio"))


def random_trio(batch: int, steps: int, generator: torch.Generator) -> torch.Tensor:
    return torch.stack([torch.randint(0, n, (batch, steps), generator=generator)
                        for n in SIZES], dim=-1)


def test_the_loss_is_the_parts_cross_entropies_summed(io):
    g = torch.Generator().manual_seed(0)
    outputs = torch.randn(2, 5, 692, generator=g)
    targets = random_trio(2, 5, g)
    expected = sum(F.cross_entropy(part.transpose(1, 2), targets[..., p], reduction="none")
                   .sum(dim=1) for p, part in enumerate(outputs.split(SIZES, dim=-1)))
    assert torch.allclose(io.reconstruction(outputs, targets), expected)
    assert io.reconstruction(outputs, targets).shape == (2,)


def test_each_part_is_chosen_from_its_own_distribution(io):
    outputs = torch.full((1, 692), -10.0)
    outputs[0, 7] = outputs[0, 90 + 33] = outputs[0, 180 + 300] = 10.0
    assert io.choose(outputs, 0.0).tolist() == [[7, 33, 300]]
    drawn = io.choose(outputs.expand(50, -1), 1.0, torch.Generator().manual_seed(1))
    assert (drawn == torch.tensor([7, 33, 300])).all()  # 20 nats apart: always the peak
    assert io.start_items(2, "cpu").tolist() == [[90, 90, 512]] * 2


def test_the_accuracies_count_tokens_and_events(io):
    targets = torch.tensor([[[2, 0, 0], [0, 5, 3]]])  # events: lead onset, bass onset, drums
    outputs = torch.full((1, 2, 692), -5.0)
    for step, (lead, bass, drums) in enumerate([(2, 0, 0), (0, 0, 3)]):  # the bass is wrong
        outputs[0, step, lead] = outputs[0, step, 90 + bass] = outputs[0, step, 180 + drums] = 5
    accuracy, events = io.accuracies(outputs, targets)
    assert accuracy.item() == pytest.approx(5 / 6) and events.item() == pytest.approx(2 / 3)


def test_the_encoder_reads_the_concatenated_one_hots(io):
    features = io.encoder_input(8)(torch.tensor([[[2, 5, 3]]]))
    assert features.shape == (1, 1, 692)
    assert torch.nonzero(features[0, 0]).flatten().tolist() == [2, 95, 183]


def test_split_needs_several_parts():
    params = SplitDecoderParams(embed_size=4, hidden_size=8, n_layers=1)
    with pytest.raises(ConfigError, match="'split' decoder decodes a step of several parts"):
        params.build(6, CategoricalIO(90, 0))


def test_split_takes_one_embedding_size_a_part_and_the_context_at_every_step():
    params = SplitDecoderParams(embed_size=[90, 90, 512], hidden_size=8, n_layers=1,
                                start_input="zeros", context_every_step=True)
    decoder = params.build(6, step_io_for(get_representation("trio"), DataSettings("trio")))
    assert [core.embed.embedding_dim for core in decoder.cores] == [90, 90, 512]
    assert [core.lstm.input_size for core in decoder.cores] == [96, 96, 518]
    default = SplitDecoderParams(embed_size=4, hidden_size=8, n_layers=1)
    assert default.model_dump() == {"embed_size": 4, "hidden_size": 8, "n_layers": 1}
    assert params.model_dump()["context_every_step"] is True


def test_embedding_sizes_that_are_not_one_a_part_are_refused(io):
    with pytest.raises(ConfigError, match=r"embed_size \[4, 4\] must give one size for each "
                       "of the step's 3 parts"):
        SplitDecoderParams(embed_size=[4, 4], hidden_size=8, n_layers=1).build(6, io)
    with pytest.raises(ConfigError, match="this model's step is one token: give one size"):
        CategoricalIO(90, 0).decoder_input((4, 4), False)
    with pytest.raises(ValueError, match="must be a positive integer, or a list of 1 to 16"):
        SplitDecoderParams(embed_size=[], hidden_size=8, n_layers=1)
