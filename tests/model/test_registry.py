"""One registry per concept: a key registered once is parsed by the derived union and built by
its params class; the model's vocabulary comes from its representation."""

from __future__ import annotations

import typing

import pytest
import torch
from pydantic import BaseModel, ValidationError
from torch import nn

from symusic.data import representation as representations
from symusic.data.settings import DataSettings
from symusic.musicvae.model import DECODERS, SEQ_DECODERS, ModelConfig, MusicVAE
from symusic.musicvae.model.decoders import ConductorArgs, TokenDecoderArgs
from symusic.musicvae.model.params import (
    Params,
    PositiveInt,
    Registry,
    config_error,
)
from symusic.musicvae.model.seq_decoders import SeqDecoderArgs


def union_tags(args_type) -> set[str]:
    """The ``key`` literals of a derived ``{"key", "params"}`` type."""
    union = typing.get_args(args_type)[0]  # Annotated[Union[...] or one model, ...]
    members = typing.get_args(union) or (union,)
    return {typing.get_args(m.model_fields["key"].annotation)[0] for m in members}


def test_the_seq_decoder_union_is_derived_from_the_registry():
    assert union_tags(SeqDecoderArgs) == set(SEQ_DECODERS.params) == {"greedy", "sample", "hier"}
    # "split": the trio's one core decoder per part (split_decoder.py), a key beyond the spec's
    assert set(DECODERS.unrestricted()) == {"simple", "another", "split"}
    assert union_tags(TokenDecoderArgs) == {"simple", "another", "split"}
    assert union_tags(ConductorArgs) == {"conductor"}


def test_a_key_registered_once_is_parsed_and_built():
    widgets = Registry("widget")

    @widgets.register("linear")
    class LinearParams(Params):
        size: PositiveInt

        def build(self) -> nn.Module:
            return nn.Linear(self.size, self.size)

    @widgets.register("identity")
    class IdentityParams(Params):
        def build(self) -> nn.Module:
            return nn.Identity()

    class Holder(BaseModel):
        widget_args: widgets.args_type()

    held = Holder.model_validate({"widget_args": {"key": "linear", "params": {"size": 3}}})
    built = held.widget_args.params.build()
    assert isinstance(built, nn.Linear) and built.in_features == 3
    assert isinstance(Holder.model_validate(
        {"widget_args": {"key": "identity", "params": {}}}).widget_args.params.build(),
        nn.Identity)
    with pytest.raises(ValidationError) as caught:
        Holder.model_validate({"widget_args": {"key": "conv", "params": {}}})
    assert str(config_error(caught.value)) == (
        "widget_args.key: unknown key 'conv'; known: identity, linear")
    with pytest.raises(ValidationError) as caught:
        Holder.model_validate({"widget_args": {"key": "linear", "params": {"size": 0}}})
    assert str(config_error(caught.value, "top")) == (
        "top.widget_args.params.size: must be a positive integer, got 0")


def test_a_key_cannot_be_registered_twice():
    widgets = Registry("widget")
    widgets.register("a")(Params)
    with pytest.raises(ValueError, match="widget key 'a' registered twice"):
        widgets.register("a")(Params)


def test_the_vocabulary_size_comes_from_the_representation(monkeypatch, make_model_dict):
    class ToyRepresentation(representations.MelodyRepresentation):
        name = "toy"
        vocab_size = 7

    monkeypatch.setitem(representations.REPRESENTATIONS, "toy", ToyRepresentation())
    for kind in ("another", "hier"):
        config = ModelConfig.from_dict(make_model_dict(kind), seq_len=32)
        model = MusicVAE(config, DataSettings(representation="toy"))
        tokens = torch.randint(0, 7, (3, 32), generator=torch.Generator().manual_seed(0))
        assert model.encoder.embed.num_embeddings == 7
        assert model.io.start_token == 7
        assert model(tokens).logits.shape == (3, 32, 7)
        assert model.sample(2).max() < 7
        melody = MusicVAE(config)
        assert melody(torch.zeros(1, 32, dtype=torch.long)).logits.shape[-1] == 90
