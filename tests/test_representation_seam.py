"""The representation seam is real: a second, 12-token representation registered here builds,
trains a step of, saves and loads a MusicVAE, and a checkpoint whose recorded vocabulary
differs is refused in one line."""

from __future__ import annotations

import pytest
import torch
from midi_files import tiny_model_config, toy_representation_class

from symusic.data import representation as rep
from symusic.data.settings import DataSettings
from symusic.musicvae.model.config import ModelConfig
from symusic.musicvae.model.vae import CheckpointError, MusicVAE

SEQ_LEN = 16  # two 8-step bars of the toy


Toy = toy_representation_class()


@pytest.fixture
def toy(monkeypatch) -> Toy:
    representation = Toy()
    monkeypatch.setitem(rep.REPRESENTATIONS, "toy", representation)
    return representation


def toy_model() -> MusicVAE:
    torch.manual_seed(0)
    config = ModelConfig.from_dict(tiny_model_config(), seq_len=SEQ_LEN)
    return MusicVAE(config, DataSettings(representation="toy"))


def test_a_toy_representation_sizes_the_model(toy, tmp_path):
    model = toy_model()
    assert model.representation is toy
    draw = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, toy.vocab_size, (3, SEQ_LEN), generator=draw)
    out = model(tokens)
    assert out.logits.shape == (3, SEQ_LEN, 12)
    out.loss.backward()
    samples = model.sample(4, temperature=1.0, generator=torch.Generator().manual_seed(2))
    assert samples.shape == (4, SEQ_LEN) and int(samples.max()) < 12

    model.save(tmp_path / "toy.pt")
    state = torch.load(tmp_path / "toy.pt", weights_only=True)
    assert state["representation"] == {"name": "toy", "vocab_size": 12}
    loaded = MusicVAE.load(tmp_path / "toy.pt")
    assert loaded.representation is toy and loaded.data_settings.representation == "toy"
    with torch.no_grad():
        torch.testing.assert_close(loaded(tokens, use_mean=True).logits,
                                   model.eval()(tokens, use_mean=True).logits)


def test_a_different_recorded_vocabulary_is_refused_in_one_line(toy, tmp_path):
    state = toy_model().to_state()
    state["representation"] = {"name": "toy", "vocab_size": 13}
    torch.save(state, tmp_path / "other.pt")
    with pytest.raises(CheckpointError) as caught:
        MusicVAE.load(tmp_path / "other.pt")
    message = str(caught.value)
    assert "\n" not in message
    assert message == (f"{tmp_path / 'other.pt'}: the model's toy vocabulary has 13 tokens; "
                       "this version's has 12")


def test_an_unknown_representation_is_refused(toy, tmp_path):
    state = toy_model().to_state()
    state["representation"] = {"name": "piano", "vocab_size": 9}
    with pytest.raises(CheckpointError, match=r"unknown representation 'piano' \(known: "
                                              r"'melody', 'drums', .*'toy'"):
        MusicVAE.from_state(state, "piano.pt")


def test_the_record_and_the_data_settings_must_agree(toy):
    state = toy_model().to_state()
    state["representation"] = rep.MELODY.record()
    with pytest.raises(CheckpointError, match="records the 'melody' representation but data "
                                              "settings of 'toy'"):
        MusicVAE.from_state(state, "mixed.pt")


def test_a_checkpoint_from_before_the_record_loads_as_melody():
    config = ModelConfig.from_dict(tiny_model_config(), seq_len=32)
    state = MusicVAE(config).to_state()
    assert state["representation"] == {"name": "melody", "vocab_size": 90}
    del state["representation"]
    model = MusicVAE.from_state(state, "old.pt")
    assert model.representation is rep.MELODY
    assert model.encoder.embed.num_embeddings == 90
