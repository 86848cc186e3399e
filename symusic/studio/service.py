"""The trained model as the web app uses it: token and latent arrays in numpy, one call at a time.

Requests arrive on several threads; a lock serialises the model calls, so two requests never
race on the model or on torch's global state. Every input a browser can send is checked here
(shapes, token range, finite numbers), and a bad one raises ``InputError`` with a message
fit to show the user.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import torch

from symusic.data.tokens import NUM_CLASSES, STEPS_PER_BAR
from symusic.errors import InputError
from symusic.musicvae.generate import encode_mu, interpolate_melodies

MAX_BATCH = 64  # melodies one request may ask for
MAX_STEPS = 33  # interpolation steps, both ends included


class ModelService:
    """A ``MusicVAE`` in eval mode behind a lock; every method takes and returns numpy."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model.eval()
        self.device = next(model.parameters()).device
        self.seq_len: int = int(model.config.seq_len)
        self.z_size: int = int(model.config.z_size)
        self._lock = threading.Lock()

    @property
    def bars(self) -> int:
        """Bars in one melody the model reads and writes."""
        return self.seq_len // STEPS_PER_BAR

    # --- checks ---------------------------------------------------------------------------

    def check_tokens(self, tokens: Sequence[Sequence[int]] | np.ndarray) -> np.ndarray:
        """``tokens`` as ``int64 [N, seq_len]``; ``InputError`` unless they fit the model."""
        try:
            array = np.asarray(tokens, dtype=np.int64)
        except (TypeError, ValueError) as err:
            raise InputError("melodies must be lists of integer tokens of equal length") from err
        if array.ndim == 1:
            array = array[None]
        if array.ndim != 2 or array.shape[0] == 0:
            raise InputError("expected one or more melodies, each a list of tokens")
        if array.shape[1] != self.seq_len:
            raise InputError(f"a melody must be {self.seq_len} steps ({self.bars} bars) "
                             f"for this model, got {array.shape[1]}")
        if array.shape[0] > MAX_BATCH:
            raise InputError(f"at most {MAX_BATCH} melodies at once, got {array.shape[0]}")
        if array.min() < 0 or array.max() >= NUM_CLASSES:
            raise InputError(f"tokens must lie in 0..{NUM_CLASSES - 1}")
        return array

    def check_z(self, z: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
        """``z`` as a ``float32 [N, z_size]`` array; ``InputError`` unless it fits the model."""
        try:
            array = np.asarray(z, dtype=np.float32)
        except (TypeError, ValueError) as err:
            raise InputError("z must be a list of numbers") from err
        if array.ndim == 1:
            array = array[None]
        if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] != self.z_size:
            raise InputError(f"z must have {self.z_size} numbers per melody, got shape "
                             f"{list(array.shape)}")
        if array.shape[0] > MAX_BATCH:
            raise InputError(f"at most {MAX_BATCH} melodies at once, got {array.shape[0]}")
        if not np.isfinite(array).all():
            raise InputError("z must hold finite numbers")
        return array

    @staticmethod
    def _generator(seed: int | None) -> torch.Generator | None:
        return None if seed is None else torch.Generator().manual_seed(int(seed))

    # --- model calls ----------------------------------------------------------------------

    def sample_z(self, n: int, seed: int | None = None) -> np.ndarray:
        """``n`` latent vectors drawn from the prior N(0, I): ``[n, z_size]``."""
        if not 1 <= n <= MAX_BATCH:
            raise InputError(f"the number of melodies must be 1..{MAX_BATCH}, got {n}")
        z = torch.randn(n, self.z_size, generator=self._generator(seed))
        return z.numpy()

    @torch.no_grad()
    def decode(self, z: np.ndarray, temperature: float | None = 0.0,
               seed: int | None = None) -> np.ndarray:
        """Melodies ``[N, seq_len]`` decoded from ``z [N, z_size]`` (temperature 0: argmax)."""
        z = torch.as_tensor(self.check_z(z), device=self.device)
        generator = None
        if seed is not None:
            generator = torch.Generator(device=self.device).manual_seed(int(seed))
        with self._lock:
            tokens = self.model.decode(z, temperature=temperature, generator=generator)
        return tokens.cpu().numpy().astype(np.int64)

    @torch.no_grad()
    def encode(self, tokens: np.ndarray) -> np.ndarray:
        """The posterior means ``[N, z_size]`` of melodies ``[N, seq_len]``."""
        tokens = self.check_tokens(tokens)
        with self._lock:
            return encode_mu(self.model, tokens)

    def encode_many(self, tokens: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """``encode`` for a large set (the reference windows), without the request limit."""
        tokens = np.asarray(tokens, dtype=np.int64)
        with self._lock:
            return encode_mu(self.model, tokens, batch_size=batch_size)

    def decode_many(self, z: np.ndarray, temperature: float | None = 0.0,
                    batch_size: int = 256) -> np.ndarray:
        """``decode`` for a large set (prior samples for the reference), without the limit."""
        out = []
        with self._lock, torch.no_grad():
            for i in range(0, len(z), batch_size):
                chunk = torch.as_tensor(z[i : i + batch_size], dtype=torch.float32,
                                        device=self.device)
                out.append(self.model.decode(chunk, temperature=temperature).cpu().numpy())
        return np.concatenate(out).astype(np.int64)

    def interpolate(self, start: np.ndarray, end: np.ndarray, steps: int,
                    temperature: float | None = 0.0,
                    seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Slerp between the codes of two melodies ``[seq_len]``: ``(z [K, Z], tokens [K, T])``."""
        if not 2 <= steps <= MAX_STEPS:
            raise InputError(f"steps must be 2..{MAX_STEPS} (both ends included), got {steps}")
        start, end = self.check_tokens(start)[0], self.check_tokens(end)[0]
        with self._lock:
            z, tokens = interpolate_melodies(self.model, start, end, steps, temperature, seed)
        return z, tokens.astype(np.int64)

    def reconstruct(self, tokens: np.ndarray, temperature: float | None = 0.0) -> np.ndarray:
        """Encode (z = mu) and decode melodies ``[N, seq_len]``."""
        return self.decode(self.encode(tokens), temperature=temperature)
