"""The encoder: tokens -> embedding -> bidirectional LSTM -> q(z|x) = N(mu, sigma^2)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from symusic.musicvae.model.params import ConfigModel, PositiveInt


class EncoderParams(ConfigModel):
    """``encoder_params``: the token embedding and the bidirectional LSTM."""

    embed_size: PositiveInt
    hidden_size: PositiveInt
    n_layers: PositiveInt

    def build(self, z_size: int, vocab_size: int) -> Encoder:
        """The encoder of tokens ``0..vocab_size-1`` into a ``z_size`` latent."""
        return Encoder(z_size, self.embed_size, self.hidden_size, self.n_layers, vocab_size)


class Encoder(nn.Module):
    """The top layer's final hidden states of both directions, concatenated, give mu and
    sigma = softplus(.) through two linear layers (Magenta's ``BidirectionalLstmEncoder``)."""

    def __init__(self, z_size: int, embed_size: int, hidden_size: int, n_layers: int,
                 vocab_size: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size)
        self.lstm = nn.LSTM(
            embed_size, hidden_size, n_layers, batch_first=True, bidirectional=True
        )
        self.mu = nn.Linear(2 * hidden_size, z_size)
        self.sigma = nn.Linear(2 * hidden_size, z_size)

    def forward(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """tokens [B, T] -> (mu [B, Z], sigma [B, Z])."""
        _, (h, _) = self.lstm(self.embed(tokens))  # h [n_layers * 2, B, H]
        final = torch.cat([h[-2], h[-1]], dim=-1)  # top layer: forward, backward
        return self.mu(final), F.softplus(self.sigma(final))
