"""The model config: typed (pydantic), validated once, with errors that name the dotted key path.

The shape is the spec's (``z_size``, ``encoder_params``, ``seq_decoder_args``), e.g. a flat model::

    {"z_size": 512,
     "encoder_params": {"embed_size": 12, "hidden_size": 2048, "n_layers": 2},
     "seq_decoder_args": {"key": "greedy", "params": {"z_size": 512,
         "decoder_args": {"key": "another", "params": {
             "z_size": 512, "embed_size": 12, "hidden_size": 2048, "n_layers": 3}}}}}

Each params class lives beside the module it configures and builds it (``EncoderParams`` in
``encoder.py``, the decoders' in ``decoders.py``, the sequence decoders' in ``seq_decoders.py``);
a ``{"key", "params"}`` section is a union discriminated on ``key``, derived from its concept's
registry (:class:`~symusic.musicvae.model.params.Registry`).

``ModelConfig.from_dict`` reads those three keys (plus ``seq_len`` when it is stored there, as in
``to_dict``'s output) and ignores every other top-level key: those belong to the experiment config,
which checks them. Below the top level every key is checked: unknown, missing, mistyped and
inconsistent values raise ``ConfigError`` naming the key, e.g.
``seq_decoder_args.params.conductor_args.params.c_size: must be a positive integer, got 'abc'``.

The context a decoder receives: the encoder's ``z_size`` at the top; inside ``hier``, the
conductor's ``c_size``. Every ``z_size`` below the top must equal the context it receives.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError, ValidationInfo, model_validator

from symusic.musicvae.model.encoder import EncoderParams
from symusic.musicvae.model.params import (
    ConfigError,
    ConfigModel,
    Context,
    PositiveInt,
    config_error,
    join,
)
from symusic.musicvae.model.seq_decoders import SeqDecoderArgs

__all__ = ["ConfigError", "ModelConfig"]

MODEL_KEYS = ("z_size", "encoder_params", "seq_decoder_args")


class ModelConfig(ConfigModel):
    """The whole model: latent size, the sequence length it is trained on
    (the representation's window length), encoder and sequence decoder."""

    z_size: PositiveInt
    seq_len: PositiveInt
    encoder_params: EncoderParams
    seq_decoder_args: SeqDecoderArgs

    @model_validator(mode="after")
    def _sizes_agree(self, info: ValidationInfo) -> ModelConfig:
        prefix = (info.context or {}).get("path_prefix", "")
        self.encoder_params.check(join(prefix, "encoder_params"), self.seq_len)
        self.seq_decoder_args.params.check(join(prefix, "seq_decoder_args.params"),
                                           Context(self.z_size, join(prefix, "z_size")),
                                           self.seq_len)
        return self

    @classmethod
    def from_dict(cls, d: Any, seq_len: int | None = None, path_prefix: str = "") -> ModelConfig:
        """Validate and build.

        Reads ``z_size``, ``encoder_params`` and ``seq_decoder_args``; every other top-level key
        is ignored (the experiment config owns and checks them). ``seq_len`` comes from the
        argument or from ``d["seq_len"]`` (as ``to_dict`` writes it); given both, they must
        agree. ``path_prefix`` is put in front of every key path in error messages.
        """
        if not isinstance(d, dict):
            raise ConfigError(f"{path_prefix or '<model config>'}: must be a mapping, got {d!r}")
        if seq_len is None:
            seq_len = d.get("seq_len")
        elif "seq_len" in d and d["seq_len"] != seq_len:
            raise ConfigError(
                f"{join(path_prefix, 'seq_len')}: {d['seq_len']!r} disagrees with "
                f"seq_len={seq_len} given by the caller"
            )
        model_keys = {k: d[k] for k in MODEL_KEYS if k in d}
        if seq_len is not None:
            model_keys["seq_len"] = seq_len
        try:
            return cls.model_validate(model_keys, context={"path_prefix": path_prefix})
        except ValidationError as err:
            raise config_error(err, path_prefix) from None

    def to_dict(self) -> dict:
        """Plain nested dict (``seq_len`` included); ``from_dict(to_dict())`` round-trips."""
        return self.model_dump()
