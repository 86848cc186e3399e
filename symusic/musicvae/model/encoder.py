"""The encoder: tokens -> embedding -> bidirectional LSTM -> q(z|x) = N(mu, sigma^2).

The embedding is learned, or fixed features the representation gives for each token (the
drums' hit bits, Magenta's ``roll_input``): then the LSTM reads those features as Magenta's
encoder reads its input tensors."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from symusic.musicvae.model.params import ConfigModel, PositiveInt


class EncoderParams(ConfigModel):
    """``encoder_params``: the token embedding and the bidirectional LSTM."""

    embed_size: PositiveInt
    hidden_size: PositiveInt
    n_layers: PositiveInt

    def build(self, z_size: int, vocab_size: int, input_table: np.ndarray | None = None
              ) -> Encoder:
        """The encoder of tokens ``0..vocab_size-1`` into a ``z_size`` latent; with an
        ``input_table`` (``[vocab_size, F]``) it reads those fixed features instead of a
        learned ``embed_size`` embedding."""
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

    def forward(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """tokens [B, T] -> (mu [B, Z], sigma [B, Z])."""
        _, (h, _) = self.lstm(self.embed(tokens))  # h [n_layers * 2, B, H]
        final = torch.cat([h[-2], h[-1]], dim=-1)  # top layer: forward, backward
        return self.mu(final), F.softplus(self.sigma(final))
