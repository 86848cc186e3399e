"""The encoder: windows -> input features -> bidirectional LSTM -> q(z|x) = N(mu, sigma^2).

The input features are the model's :class:`~step_io.StepIO`'s: a learned token embedding, or
fixed features the representation gives for each token (the drums' hit bits, Magenta's
``roll_input``), which the LSTM reads as Magenta's encoder reads its input tensors."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import model_serializer
from torch import Tensor, nn

from symusic.musicvae.model.params import ConfigError, ConfigModel, PositiveInt
from symusic.musicvae.model.step_io import StepIO, TokenFeatures

__all__ = ["Encoder", "EncoderParams", "HierarchicalEncoder", "TokenFeatures"]


class EncoderParams(ConfigModel):
    """``encoder_params``: the token embedding and the bidirectional LSTM.

    With ``segment_length`` (an extra key, in steps: 16 is one bar) the encoder is Magenta's
    ``HierarchicalLstmEncoder`` of two levels: the bidirectional LSTM reads each segment on its
    own, and a second one (``segment_hidden_size`` units, default ``hidden_size``) reads the
    segments' final states in order, as ``hier-mel_16bar`` does with one-bar segments."""

    embed_size: PositiveInt
    hidden_size: PositiveInt
    n_layers: PositiveInt
    segment_length: PositiveInt | None = None
    segment_hidden_size: PositiveInt | None = None

    @model_serializer(mode="wrap")
    def _without_unset_extras(self, handler):
        # a flat encoder's config stays the spec's three keys (checkpoints, to_dict)
        return {key: value for key, value in handler(self).items() if value is not None}

    def check(self, path: str, seq_len: int) -> None:
        """``ConfigError`` naming ``path`` unless the segments tile the window."""
        if self.segment_length is not None and seq_len % self.segment_length:
            raise ConfigError(f"{path}.segment_length: {self.segment_length} steps do not "
                              f"divide the window of {seq_len} steps")
        if self.segment_hidden_size is not None and self.segment_length is None:
            raise ConfigError(f"{path}.segment_hidden_size: only with segment_length")

    def build(self, z_size: int, io: StepIO) -> Encoder:
        """The encoder of ``io``'s windows into a ``z_size`` latent (its input features:
        ``io.encoder_input(embed_size)``)."""
        embed = io.encoder_input(self.embed_size)
        if self.segment_length is not None:
            return HierarchicalEncoder(z_size, embed, self.hidden_size, self.n_layers,
                                       self.segment_length,
                                       self.segment_hidden_size or self.hidden_size)
        return Encoder(z_size, embed, self.hidden_size, self.n_layers)


class Encoder(nn.Module):
    """The top layer's final hidden states of both directions, concatenated, give mu and
    sigma = softplus(.) through two linear layers (Magenta's ``BidirectionalLstmEncoder``).

    ``embed``: windows ``[B, T, *item_shape]`` -> features ``[B, T, embed.embedding_dim]``."""

    def __init__(self, z_size: int, embed: nn.Module, hidden_size: int, n_layers: int,
                 summary_size: int | None = None):
        super().__init__()
        self.embed = embed
        self.lstm = nn.LSTM(
            self.embed.embedding_dim, hidden_size, n_layers, batch_first=True,
            bidirectional=True
        )
        summary_size = 2 * hidden_size if summary_size is None else summary_size
        self.mu = nn.Linear(summary_size, z_size)
        self.sigma = nn.Linear(summary_size, z_size)

    def summary(self, windows: Tensor) -> Tensor:
        """windows [B, T, *item_shape] -> the top layer's final states, both directions:
        [B, 2H]."""
        _, (h, _) = self.lstm(self.embed(windows))  # h [n_layers * 2, B, H]
        return torch.cat([h[-2], h[-1]], dim=-1)  # top layer: forward, backward

    def forward(self, windows: Tensor) -> tuple[Tensor, Tensor]:
        """windows [B, T, *item_shape] -> (mu [B, Z], sigma [B, Z])."""
        final = self.summary(windows)
        return self.mu(final), F.softplus(self.sigma(final))


class HierarchicalEncoder(Encoder):
    """Two levels: the bidirectional LSTM summarises each ``segment_length``-step segment,
    a second bidirectional LSTM reads those summaries, and its final states give mu and
    sigma."""

    def __init__(self, z_size: int, embed: nn.Module, hidden_size: int, n_layers: int,
                 segment_length: int, segment_hidden_size: int):
        super().__init__(z_size, embed, hidden_size, n_layers,
                         summary_size=2 * segment_hidden_size)
        self.segment_length = segment_length
        self.segment_lstm = nn.LSTM(2 * hidden_size, segment_hidden_size, 1, batch_first=True,
                                    bidirectional=True)

    def forward(self, windows: Tensor) -> tuple[Tensor, Tensor]:
        """windows [B, T, *item_shape] (T a multiple of the segment length) ->
        (mu [B, Z], sigma [B, Z])."""
        batch, steps = windows.shape[:2]
        n_segments = steps // self.segment_length
        segments = windows.reshape(batch * n_segments, self.segment_length, *windows.shape[2:])
        summaries = self.summary(segments).reshape(batch, n_segments, -1)
        _, (h, _) = self.segment_lstm(summaries)
        final = torch.cat([h[-2], h[-1]], dim=-1)
        return self.mu(final), F.softplus(self.sigma(final))
