"""MusicVAE: the encoder and a sequence decoder, its loss, generation and checkpoints.

    model = MusicVAE(ModelConfig.from_dict(config_dict, seq_len=32))
    out = model(tokens, sampling_probability=0.0, beta=1.0, free_bits=48)  # VAEOutput
    out.loss.backward()
    melodies = model.sample(4, temperature=0.5)                              # [4, 32]

A checkpoint holds the config, so ``MusicVAE.load(path)`` alone rebuilds the model. A trainer
that keeps the model inside its own checkpoint stores ``model.to_state()`` (a dict
``{"kind", "model_config", "state_dict"}``) and rebuilds with ``MusicVAE.from_state(state)``.
"""

from __future__ import annotations

import os
import pickle
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict, Unpack

import torch
from torch import Tensor, nn

from symusic.atomic import atomic_write
from symusic.data.representation import Representation, check_recorded, get_representation
from symusic.data.settings import DataSettings
from symusic.musicvae.model import loss as L
from symusic.musicvae.model.checkpoint_limits import (
    CheckpointLimitError,
    check_archive,
    check_model_sizes,
    check_plain_structure,
)
from symusic.musicvae.model.config import ConfigError, ModelConfig
from symusic.musicvae.model.prior import MixturePrior, PriorError, draw_codes
from symusic.musicvae.model.seq_decoders import TokenSeqDecoder
from symusic.musicvae.model.step_io import StepIO, step_io_for

CHECKPOINT_KIND = "symusic.musicvae"


class CheckpointError(ValueError):
    """A file or dict that is not a readable MusicVAE checkpoint."""


def read_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """The dict saved at ``path``, read with ``torch.load(weights_only=True)`` (an untrusted file
    cannot run code). Raises FileNotFoundError for a missing file and CheckpointError when the
    file is not a readable MusicVAE checkpoint (see :func:`check_checkpoint_state`) or is
    beyond the bounds of :mod:`checkpoint_limits` (its unpacked size before reading, its
    structure after). A shipped model's name is the caller's to resolve
    (``pretrained.resolve_checkpoint``). A folder is read as a magenta.js checkpoint
    (:mod:`symusic.magenta`: JSON and raw numbers, bounded), into the same state, and so is a
    Magenta TensorFlow checkpoint (a folder, an ``.index`` file or a ``.tar``)."""
    from symusic.magenta import is_magenta_checkpoint, read_magenta_state

    if is_magenta_checkpoint(path):
        state = read_magenta_state(path)
        check_checkpoint_state(state, str(path))
        return state
    if not Path(path).is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        check_archive(path)
    except CheckpointLimitError as e:
        raise CheckpointError(f"{path}: refused: {e}") from None
    try:
        with warnings.catch_warnings():  # torch warns (more lines) about odd pickle protocols
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # torch raises many kinds for a file it cannot read
        reason = _load_failure(e)
        raise CheckpointError(f"{path}: not a readable torch checkpoint ({reason})") from e
    try:
        check_plain_structure(state)
    except CheckpointLimitError as e:
        raise CheckpointError(f"{path}: refused: {e}") from None
    check_checkpoint_state(state, str(path))
    return state


def _load_failure(err: Exception) -> str:
    """Torch's reason on one line, without its advice to load unsafely (weights_only=False)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    if isinstance(err, pickle.UnpicklingError):  # what the weights-only unpickler refuses
        details = [line for line in lines if "weights_only" not in line.lower()
                   and "weights only" not in line.lower() and "documentation" not in line]
        return ("it holds objects that a safe (weights-only) load refuses"
                + (f": {details[-1][:200]}" if details else ""))
    first = lines[0].split(". ")[0] if lines else type(err).__name__
    return "damaged, or not a torch file" if "weights_only" in first else first[:200]


def check_checkpoint_state(state: object, source: str) -> None:
    """Raise CheckpointError unless ``state`` looks like what :meth:`MusicVAE.to_state` makes
    (``kind`` may be absent; extra keys, such as a trainer's ``"training"``, are allowed)."""
    if not isinstance(state, dict) or not {"model_config", "state_dict"} <= set(state):
        found = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(
            f"{source}: not a MusicVAE checkpoint (needs 'model_config' and 'state_dict', "
            f"found {found})"
        )
    kind = state.get("kind", CHECKPOINT_KIND)
    if kind != CHECKPOINT_KIND:
        raise CheckpointError(f"{source}: a checkpoint of kind {kind!r}, not {CHECKPOINT_KIND!r}")
    representation_of(state, source)


def representation_of(state: dict, source: str) -> Representation:
    """The representation a checkpoint records (one from before the record: melody);
    CheckpointError, one line naming what differs, when this version has no such
    representation or its vocabulary differs."""
    try:
        return check_recorded(state.get("representation"))
    except ValueError as e:
        raise CheckpointError(f"{source}: {e}") from None


def data_settings_of(state: dict) -> DataSettings:
    """A checkpoint's data settings; one written before they were recorded was trained with
    ``any_meter`` and its training config's programs (0..31 when it has none)."""
    if "data_settings" in state:
        return DataSettings.from_dict(state["data_settings"])
    training = state.get("training")
    config = training.get("config") if isinstance(training, dict) else None
    return DataSettings.legacy(config if isinstance(config, dict) else None)


@dataclass
class VAEOutput:
    """What ``MusicVAE.forward`` returns. Scalars are 0-d tensors; only ``loss`` (and
    ``logits``) carry gradients."""

    logits: Tensor  # [B, T, output_size]: the decoder's outputs (logits for tokens)
    loss: Tensor  # reconstruction + beta * kl_cost
    reconstruction: Tensor  # the StepIO's loss (cross entropy) summed over steps, batch mean
    kl: Tensor  # mean KL(q(z|x) || N(0, I)) in nats
    kl_bits: Tensor  # the same in bits
    kl_cost: Tensor  # mean over the batch of max(KL - free_bits * ln 2, 0), before beta
    elbo: Tensor  # -(reconstruction + kl)
    accuracy: Tensor  # teacher-forced token accuracy (the StepIO's accuracy)
    note_accuracy: Tensor  # the same over steps where something happens (the StepIO's events)
    sampled_fraction: Tensor  # fraction of decoder steps fed the model's own output
    mu: Tensor  # [B, Z] posterior mean (detached): decode(mu) reconstructs without re-encoding


class DecodeOptions(TypedDict, total=False):
    """``MusicVAE.decode``'s options, which ``sample`` passes on."""

    length: int | None
    temperature: float | None
    generator: torch.Generator | None


class MusicVAE(nn.Module):
    """The VAE of ``config`` over the windows of ``data_settings.representation``; what a
    step reads and writes (embeddings, outputs, the loss) is that representation's
    :class:`~step_io.StepIO` (``self.io``). Move it with ``.to(device)``;
    generation returns tokens on the model's device, and a ``generator`` must live on that
    device too."""

    def __init__(self, config: ModelConfig, data_settings: DataSettings | None = None):
        super().__init__()
        self.config = config
        # how MIDI files become windows for this model (the trainer sets its config's)
        self.data_settings = DataSettings() if data_settings is None else data_settings
        representation = get_representation(self.data_settings.representation)
        self.io: StepIO = step_io_for(representation, self.data_settings)
        self.encoder = config.encoder_params.build(config.z_size, self.io)
        self.decoder = config.seq_decoder_args.params.build(config.seq_len, self.io)
        # a mixture fitted to the model's codes (prior.py), kept beside the weights, not in them
        self.prior: MixturePrior | None = None

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def force_step_loop(self) -> bool:
        """Train and generate with one decoder call a step, the plain path (tests, benchmarks)."""
        return any(m.force_step_loop for m in self.modules() if isinstance(m, TokenSeqDecoder))

    @force_step_loop.setter
    def force_step_loop(self, value: bool) -> None:
        for m in self.modules():
            if isinstance(m, TokenSeqDecoder):
                m.force_step_loop = value

    # --- the VAE ------------------------------------------------------------------------------

    def encode(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """tokens [B, T, *item_shape] -> (mu [B, Z], sigma [B, Z])."""
        return self.encoder(tokens)

    def forward(
        self,
        tokens: Tensor,
        sampling_probability: float = 0.0,
        beta: float = 1.0,
        free_bits: float = 0.0,
        use_mean: bool = False,
    ) -> VAEOutput:
        """tokens [B, T, *item_shape] -> VAEOutput. ``use_mean``: z = mu instead of a draw
        from q(z|x);
        ``sampling_probability``: per step and sequence, feed the model's own previous output
        instead of the target (scheduled sampling)."""
        mu, sigma = self.encode(tokens)
        z = mu if use_mean else mu + sigma * torch.randn_like(mu)
        logits, sampled = self.decoder(z, tokens, sampling_probability=sampling_probability)

        reconstruction = self.io.reconstruction(logits, tokens).mean()
        kl = L.kl_divergence(mu, sigma)
        kl_cost = L.kl_cost(kl, free_bits).mean()
        loss = reconstruction + beta * kl_cost
        with torch.no_grad():
            accuracy, note_accuracy = self.io.accuracies(logits, tokens)
            return VAEOutput(
                logits=logits,
                loss=loss,
                reconstruction=reconstruction.detach(),
                kl=kl.mean(),
                kl_bits=kl.mean() / L.LN2,
                kl_cost=kl_cost.detach(),
                elbo=-(reconstruction + kl.mean()),
                accuracy=accuracy,
                note_accuracy=note_accuracy,
                sampled_fraction=sampled.float().mean(),
                mu=mu.detach(),
            )

    # --- generation ---------------------------------------------------------------------------

    @torch.no_grad()
    def decode(
        self,
        z: Tensor,
        length: int | None = None,
        temperature: float | None = None,
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """z [B, Z] -> tokens [B, length, *item_shape] (default ``config.seq_len``;
        hierarchical models need
        a multiple of their subsequence length). ``temperature`` None: the configured strategy;
        0: argmax; > 0: sample from softmax(logits / temperature)."""
        length = self.config.seq_len if length is None else length
        return self.decoder.generate(z, length, temperature=temperature, generator=generator)

    def draw_z(self, n: int, prior: str = "auto",
               generator: torch.Generator | None = None) -> Tensor:
        """n codes [n, Z] from ``prior`` (:data:`prior.PRIORS`: ``normal`` N(0, I),
        ``fitted`` the checkpoint's mixture, ``auto`` the fitted one where there is one);
        ``PriorError`` for ``fitted`` on a model without one."""
        return draw_codes(prior, self.prior, n, self.config.z_size, self.device, generator)

    @torch.no_grad()
    def sample(self, n: int, prior: str = "auto", **options: Unpack[DecodeOptions]) -> Tensor:
        """n windows from z drawn from ``prior`` (see :meth:`draw_z`) -> tokens
        [n, length, *item_shape]; ``options`` as ``decode``'s (the ``generator`` draws z too)."""
        z = self.draw_z(n, prior, options.get("generator"))
        return self.decode(z, **options)

    @torch.no_grad()
    def reconstruct(self, tokens: Tensor, temperature: float | None = None) -> Tensor:
        """tokens [B, T, *item_shape] -> decode(mu), the same shape."""
        mu, _ = self.encode(tokens)
        return self.decode(mu, tokens.shape[1], temperature)

    @staticmethod
    def interpolate(z_a: Tensor, z_b: Tensor, steps: int) -> Tensor:
        """Spherical interpolation, both ends included: z_a, z_b [Z] -> [steps, Z].
        Nearly parallel (or opposite) vectors fall back to linear interpolation."""
        if steps < 2:
            raise ValueError(f"interpolate needs steps >= 2 (both ends included), got {steps}")
        z_a, z_b = z_a.reshape(-1), z_b.reshape(-1)
        t = torch.linspace(0.0, 1.0, steps, dtype=z_a.dtype, device=z_a.device)[:, None]
        cos = torch.dot(z_a, z_b) / (z_a.norm() * z_b.norm()).clamp_min(1e-12)
        omega = torch.arccos(cos.clamp(-1.0, 1.0))
        if torch.sin(omega).abs() < 1e-4:
            path = (1 - t) * z_a + t * z_b
        else:
            weights_a, weights_b = torch.sin((1 - t) * omega), torch.sin(t * omega)
            path = (weights_a * z_a + weights_b * z_b) / torch.sin(omega)
        path[0], path[-1] = z_a, z_b
        return path

    # --- checkpoints --------------------------------------------------------------------------

    @property
    def representation(self) -> Representation:
        """What the model's tokens are (its data settings' representation)."""
        return get_representation(self.data_settings.representation)

    def to_state(self) -> dict:
        """``{"kind", "model_config", "data_settings", "representation", "state_dict"}``: all
        a checkpoint needs (plain types besides the tensors); ``representation`` records the
        tokens' name and vocabulary size, which loading checks; ``prior`` the fitted prior,
        where the model has one."""
        state = {
            "kind": CHECKPOINT_KIND,
            "model_config": self.config.to_dict(),
            "data_settings": self.data_settings.to_dict(),
            "representation": self.representation.record(),
            "state_dict": self.state_dict(),
        }
        if self.prior is not None:
            state["prior"] = self.prior.to_state()
        return state

    @classmethod
    def from_state(cls, state: dict, source: str = "state") -> MusicVAE:
        """Rebuild from ``to_state()``'s dict (``kind`` may be absent); raises CheckpointError,
        also before building anything when the config's sizes disagree with the weights'
        (:func:`checkpoint_limits.check_model_sizes`)."""
        check_checkpoint_state(state, source)
        recorded = representation_of(state, source).name
        try:
            settings = data_settings_of(state)
            if settings.representation != recorded:
                raise ValueError(f"it records the {recorded!r} representation but data "
                                 f"settings of {settings.representation!r}")
            config = ModelConfig.from_dict(state["model_config"])
            check_model_sizes(config, lambda: cls(config, settings), state["state_dict"])
            model = cls(config, settings)
            model.load_state_dict(state["state_dict"])
            if state.get("prior") is not None:
                model.prior = MixturePrior.from_state(state["prior"], config.z_size)
        except PriorError as e:
            raise CheckpointError(f"{source}: unusable fitted prior: {e}") from None
        except CheckpointLimitError as e:
            raise CheckpointError(f"{source}: refused: {e}") from None
        except (ConfigError, RuntimeError, TypeError, AttributeError, ValueError) as e:
            raise CheckpointError(f"{source}: damaged MusicVAE checkpoint: {e}") from e
        return model

    def save(self, path: str | os.PathLike) -> None:
        """Write the checkpoint atomically (a temporary file, then ``os.replace``)."""
        with atomic_write(path) as handle:
            torch.save(self.to_state(), handle)

    @classmethod
    def load(cls, path: str | os.PathLike, map_location="cpu") -> MusicVAE:
        """Rebuild a saved model (``torch.load(weights_only=True)``) on ``map_location``.
        Raises FileNotFoundError for a missing file, CheckpointError for anything else wrong."""
        model = cls.from_state(read_checkpoint(path, map_location), source=str(path))
        if isinstance(map_location, (str, torch.device)):
            model.to(map_location)
        return model
