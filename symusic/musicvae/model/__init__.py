"""The MusicVAE model: config, encoder, decoders, sequence decoders, loss and the VAE."""

from symusic.musicvae.model.config import ConfigError, ModelConfig
from symusic.musicvae.model.decoders import DECODERS
from symusic.musicvae.model.seq_decoders import SEQ_DECODERS
from symusic.musicvae.model.vae import CheckpointError, MusicVAE, VAEOutput

__all__ = [
    "DECODERS",
    "SEQ_DECODERS",
    "CheckpointError",
    "ConfigError",
    "ModelConfig",
    "MusicVAE",
    "VAEOutput",
]
