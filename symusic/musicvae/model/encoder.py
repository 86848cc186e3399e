"""The encoder: tokens -> embedding -> bidirectional LSTM -> q(z|x) = N(mu, sigma^2).

The embedding is learned, or fixed features the representation gives for each token (the
drums' hit bits, Magenta's ``roll_input``): then the LSTM reads those features as Magenta's
encoder reads its input tensors."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import model_serializer
from torch import Tensor, nn

from symusic.musicvae.model.params import ConfigError, ConfigModel, PositiveInt


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

    def build(self, z_size: int, vocab_size: int, input_table: np.ndarray | None = None
              ) -> Encoder:
        """The encoder of tokens ``0..vocab_size-1`` into a ``z_size`` latent; with an
        ``input_table`` (``[vocab_size, F]``) it reads those fixed features instead of a
        learned ``embed_size`` embedding."""
        if self.segment_length is not None:
            return HierarchicalEncoder(z_size, self.embed_size, self.hidden_size,
                                       self.n_layers, vocab_size, input_table,
                                       self.segment_length,
                                       self.segment_hidden_size or self.hidden_size)
        return Encoder(z_size, self.embed_size, self.hidden_size, self.n_layers, vocab_size,
                       input_table)


class TokenFeatures(nn.Module):
    """Each token's fixed row of a table (not learned, not saved: the representation owns it)."""

    def __init__(self, table: np.ndarray):
        super().__init__()
        self.register_buffer("table", torch.as_tensor(table, dtype=torch.float32),
                             persistent=False)

    @property
    def embedding_dim(self) -> int:
        return self.table.shape[1]

    def forward(self, tokens: Tensor) -> Tensor:
        """tokens [B, T] -> features [B, T, F]."""
        return F.embedding(tokens, self.table)


class Encoder(nn.Module):
    """The top layer's final hidden states of both directions, concatenated, give mu and
    sigma = softplus(.) through two linear layers (Magenta's ``BidirectionalLstmEncoder``)."""

    def __init__(self, z_size: int, embed_size: int, hidden_size: int, n_layers: int,
                 vocab_size: int, input_table: np.ndarray | None = None):
        super().__init__()
        if input_table is None:
            self.embed: nn.Module = nn.Embedding(vocab_size, embed_size)
        else:
            if len(input_table) != vocab_size:
                raise ValueError(f"the input table has {len(input_table)} rows for "
                                 f"{vocab_size} tokens")
            self.embed = TokenFeatures(input_table)
        self.lstm = nn.LSTM(
            self.embed.embedding_dim, hidden_size, n_layers, batch_first=True,
            bidirectional=True
        )
        self.mu = nn.Linear(2 * hidden_size, z_size)
        self.sigma = nn.Linear(2 * hidden_size, z_size)

    def summary(self, tokens: Tensor) -> Tensor:
        """tokens [B, T] -> the top layer's final states, both directions: [B, 2H]."""
        _, (h, _) = self.lstm(self.embed(tokens))  # h [n_layers * 2, B, H]
        return torch.cat([h[-2], h[-1]], dim=-1)  # top layer: forward, backward

    def forward(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """tokens [B, T] -> (mu [B, Z], sigma [B, Z])."""
        final = self.summary(tokens)
        return self.mu(final), F.softplus(self.sigma(final))


class HierarchicalEncoder(Encoder):
    """Two levels: the bidirectional LSTM summarises each ``segment_length``-step segment,
    a second bidirectional LSTM reads those summaries, and its final states give mu and
    sigma."""

    def __init__(self, z_size: int, embed_size: int, hidden_size: int, n_layers: int,
                 vocab_size: int, input_table: np.ndarray | None, segment_length: int,
                 segment_hidden_size: int):
        super().__init__(z_size, embed_size, hidden_size, n_layers, vocab_size, input_table)
        self.segment_length = segment_length
        self.segment_lstm = nn.LSTM(2 * hidden_size, segment_hidden_size, 1, batch_first=True,
                                    bidirectional=True)
        self.mu = nn.Linear(2 * segment_hidden_size, z_size)
        self.sigma = nn.Linear(2 * segment_hidden_size, z_size)

    def forward(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """tokens [B, T] (T a multiple of the segment length) -> (mu [B, Z], sigma [B, Z])."""
        batch, steps = tokens.shape
        segments = tokens.reshape(batch * (steps // self.segment_length), self.segment_length)
        summaries = self.summary(segments).reshape(batch, steps // self.segment_length, -1)
        _, (h, _) = self.segment_lstm(summaries)
        final = torch.cat([h[-2], h[-1]], dim=-1)
        return self.mu(final), F.softplus(self.sigma(final))
