"""Inference from a trained checkpoint: one ``TrainedModel`` for every front end.

After Magenta's ``TrainedModel``: load a checkpoint by path or by a shipped model's name, then
encode, decode, sample, interpolate and reconstruct on numpy token arrays ``[N, T]`` (int64)
and latent arrays ``[N, Z]`` (float32), and read users' MIDI files into windows as the model's
training data was read (its ``data_settings``). The device and the batching are inside: callers
never touch tensors. The command lines (``generate``, ``evaluate``), the studio and the demo all
go through it; it imports no command-line module.

Seeds: a ``seed`` makes a call deterministic with a ``torch.Generator`` on the model's device
(``None``: the global RNG). ``temperature`` None is the model's configured decoding strategy,
0 is argmax, above 0 samples from ``softmax(logits / temperature)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from symusic.data import midi_windows as mw
from symusic.data.representation import Representation
from symusic.devices import resolve_device
from symusic.errors import InputError
from symusic.musicvae.model.prior import prior_name_of

BATCH_SIZE = 256  # windows per model call


def load_model(checkpoint: str | Path, device: str | torch.device = "cpu"):
    """The ``MusicVAE`` of ``checkpoint`` (a path, a magenta.js folder or a shipped model's
    name) on ``device``, in eval mode.

    Raises ``InputError`` for an unknown name, a missing file, an unusable device or weights
    holding NaN (a diverged training), and the model's ``CheckpointError`` for a file that is
    not a usable MusicVAE checkpoint.
    """
    from symusic.musicvae.model.vae import MusicVAE
    from symusic.musicvae.pretrained import UnknownModelError, resolve_checkpoint

    device = resolve_device(device, InputError, "--device")
    try:
        path = resolve_checkpoint(checkpoint)
    except UnknownModelError as err:
        raise InputError(str(err)) from None
    if not path.exists():
        raise InputError(f"checkpoint {path} does not exist")
    model = MusicVAE.load(path, map_location="cpu")
    tensors = [t for t in model.state_dict().values() if t.is_floating_point()]
    broken = sum(not bool(torch.isfinite(t).all()) for t in tensors)
    if broken:
        raise InputError(f"checkpoint {path}: {broken} of {len(tensors)} weight tensors hold NaN "
                         f"or infinity (its training diverged); use an earlier checkpoint")
    return model.to(device).eval()


class TrainedModel:
    """A ``MusicVAE`` for inference, on numpy arrays; ``model`` stays reachable for metrics."""

    def __init__(self, model: torch.nn.Module, batch_size: int = BATCH_SIZE) -> None:
        self.model = model.eval()
        self.batch_size = batch_size

    @classmethod
    def load(cls, checkpoint: str | Path, device: str | torch.device = "cpu",
             batch_size: int = BATCH_SIZE) -> TrainedModel:
        """The model of ``checkpoint`` (path or shipped name) on ``device`` (see
        :func:`load_model` for the errors)."""
        return cls(load_model(checkpoint, device), batch_size)

    # --- what the model is ----------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        """Where the weights live."""
        return next(self.model.parameters()).device

    @property
    def config(self):
        """The model's ``ModelConfig``."""
        return self.model.config

    @property
    def data_settings(self):
        """How the model's training data was read (``DataSettings``)."""
        return self.model.data_settings

    @property
    def representation(self) -> Representation:
        """What the model's tokens are (its vocabulary, note view, bars and MIDI writer)."""
        return self.model.representation

    @property
    def seq_len(self) -> int:
        """Steps in one window the model reads and writes."""
        return int(self.model.config.seq_len)

    @property
    def bars(self) -> int:
        """Bars in one window."""
        return self.representation.bars_in(self.seq_len)

    @property
    def z_size(self) -> int:
        """Size of the latent code."""
        return int(self.model.config.z_size)

    def _generator(self, seed: int | None) -> torch.Generator | None:
        return None if seed is None else torch.Generator(device=self.device).manual_seed(seed)

    # --- tokens and codes -----------------------------------------------------------------

    @torch.no_grad()
    def encode(self, tokens: np.ndarray, progress: bool = False) -> np.ndarray:
        """The posterior means (z = mu) of token windows ``[N, T]``: ``[N, z_size]`` float32."""
        tokens = np.asarray(tokens)
        mus = []
        for i in tqdm(range(0, len(tokens), self.batch_size), desc="encoding", unit="batch",
                      disable=None if progress else True):
            batch = torch.as_tensor(tokens[i : i + self.batch_size],
                                    dtype=self.model.io.item_dtype)
            mu, _ = self.model.encode(batch.to(self.device))
            mus.append(mu.float().cpu())
        return torch.cat(mus).numpy()

    @torch.no_grad()
    def decode(self, z: np.ndarray | torch.Tensor, temperature: float | None = 0.0,
               seed: int | None = None) -> np.ndarray:
        """Token windows ``[N, seq_len]`` (int64) decoded from codes ``[N, z_size]``."""
        z = torch.as_tensor(z, dtype=torch.float32).to(self.device)
        generator = self._generator(seed)
        out = [self.model.decode(z[i : i + self.batch_size], temperature=temperature,
                                 generator=generator)
               for i in range(0, len(z), self.batch_size)]
        return torch.cat(out).cpu().numpy().astype(self.representation.window_dtype)

    def draw_z(self, n: int, prior: str = "auto", seed: int | None = None) -> np.ndarray:
        """``n`` codes ``[n, z_size]`` from ``prior``: ``normal`` (N(0, I)), ``fitted`` (the
        checkpoint's mixture, :mod:`model.prior`) or ``auto`` (the fitted one where the
        checkpoint has one); ``PriorError`` (a user error) for an unknown prior or a missing
        fitted one."""
        return self.model.draw_z(n, prior, self._generator(seed)).float().cpu().numpy()

    @property
    def prior_name(self) -> str:
        """What ``auto`` draws from, in words: ``normal`` or ``fitted (K components)``."""
        return prior_name_of("auto", self.model.prior)

    @torch.no_grad()
    def sample(self, n: int, temperature: float | None = None,
               seed: int | None = None, prior: str = "auto") -> np.ndarray:
        """``n`` windows decoded from z drawn from ``prior`` (see :meth:`draw_z`):
        ``[n, seq_len]``."""
        generator = self._generator(seed)
        chunks = [self.model.sample(min(self.batch_size, n - i), prior,
                                    temperature=temperature, generator=generator)
                  for i in range(0, n, self.batch_size)]
        return torch.cat(chunks).cpu().numpy().astype(self.representation.window_dtype)

    @torch.no_grad()
    def interpolate(self, start: np.ndarray, end: np.ndarray, steps: int,
                    temperature: float | None = 0.0,
                    seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Slerp from the mu of ``start`` to the mu of ``end`` (both ``[T]``), ends included.

        Returns ``(z [steps, z_size], tokens [steps, T])``; at temperature 0 the ends are the
        reconstructions of the two inputs.
        """
        if steps < 2:
            raise InputError(f"--steps must be 2 or more (both ends are included), got {steps}")
        mu = torch.as_tensor(self.encode(np.stack([start, end]))).to(self.device)
        z = self.model.interpolate(mu[0], mu[1], steps)
        return z.float().cpu().numpy(), self.decode(z, temperature, seed)

    def reconstruct(self, tokens: np.ndarray, temperature: float | None = 0.0,
                    seed: int | None = None) -> np.ndarray:
        """Encode (z = mu) and decode token windows ``[N, T]``: ``[N, T]``."""
        return self.decode(self.encode(tokens), temperature, seed)

    # --- MIDI files, read as the model's training data was --------------------------------

    def pick_window(self, path: str | Path, track: int | None = None,
                    bar: int | None = None) -> tuple[np.ndarray, mw.WindowSource]:
        """The window starting at the file's ``bar`` (default: the first) of ``track``."""
        return mw.pick_window(path, self.seq_len, track, bar, settings=self.data_settings)

    def file_windows(self, path: str | Path,
                     track: int | None = None) -> tuple[np.ndarray, list[mw.WindowSource]]:
        """The non-overlapping windows of a track, in order: ``[N, seq_len]`` and sources."""
        return mw.consecutive_windows(path, self.seq_len, track, settings=self.data_settings)

    def folder_windows(self, files: Iterable[Path], hop: int | None = None,
                       skipped: dict[str, str] | None = None,
                       ) -> Iterator[tuple[np.ndarray, mw.WindowSource]]:
        """Every window with notes, ``hop`` steps apart (default a bar), of every track of
        ``files`` (unreadable files go to ``skipped``)."""
        return mw.iter_folder_windows(files, self.seq_len, hop, skipped=skipped,
                                      settings=self.data_settings)
