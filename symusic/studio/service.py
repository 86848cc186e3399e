"""The trained model as the web app uses it: token and latent arrays in numpy, one call at a time.

The model work is ``symusic.musicvae.inference.TrainedModel``'s; this module adds what a web
request needs. Requests arrive on several threads; a lock serialises the model calls, so two
requests never race on the model or on torch's global state. Every input a browser can send
is checked here (shapes, token range, finite numbers), and a bad one raises ``InputError``
with a message fit to show the user.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import torch

from symusic.errors import InputError
from symusic.musicvae.inference import TrainedModel
from symusic.musicvae.model.prior import draw_codes

MAX_CODE = 10_000.0  # prior codes lie within +/-6; 3e38 overflowed the decoder into NaN
MAX_BATCH = 64  # melodies one request may ask for
MAX_STEPS = 33  # interpolation steps, both ends included


class ModelService:
    """A ``TrainedModel`` behind a lock, with each request's input checked; numpy in and out."""

    def __init__(self, trained: TrainedModel) -> None:
        self.trained = trained
        self.model = trained.model
        self.seq_len: int = trained.seq_len
        self.z_size: int = trained.z_size
        self.bars: int = trained.bars  # in one melody the model reads and writes
        self.representation = trained.representation  # what its tokens mean
        self._lock = threading.Lock()

    # --- checks ---------------------------------------------------------------------------

    def check_tokens(self, tokens: Sequence[Sequence[int]] | np.ndarray) -> np.ndarray:
        """``tokens`` as ``int64 [N, seq_len]``; ``InputError`` unless they fit the model."""
        item_shape = tuple(self.representation.item_shape)  # a trio step: 3 tokens
        array = _rows(tokens, np.int64, "melodies must be lists of integer tokens of equal length",
                      len(item_shape))
        if array.ndim != 2 + len(item_shape) or array.shape[0] == 0:
            raise InputError("expected one or more melodies, each a list of tokens")
        if array.shape[2:] != item_shape:
            parts = getattr(self.representation, "part_names", ())
            raise InputError(f"a step of this model is {item_shape[0]} tokens"
                             + (f" ({', '.join(parts)})" if parts else "")
                             + f", got {list(array.shape[2:])}")
        if array.shape[1] != self.seq_len:
            raise InputError(f"a melody must be {self.seq_len} steps ({self.bars} bars) "
                             f"for this model, got {array.shape[1]}")
        _check_batch(array)
        try:
            return self.representation.check_tokens(array)
        except ValueError as err:
            raise InputError(str(err)) from None

    def check_z(self, z: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
        """``z`` as a ``float32 [N, z_size]`` array; ``InputError`` unless it fits the model."""
        array = _rows(z, np.float32, "z must be a list of numbers")
        if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] != self.z_size:
            raise InputError(f"z must have {self.z_size} numbers per melody, got shape "
                             f"{list(array.shape)}")
        _check_batch(array)
        if not np.isfinite(array).all():
            raise InputError("z must hold finite numbers")
        if np.abs(array).max() > MAX_CODE:
            raise InputError(f"z must hold numbers within +/-{MAX_CODE:g} (the prior's lie "
                             "within +/-6)")
        return array

    @staticmethod
    def _generator(seed: int | None) -> torch.Generator | None:
        return None if seed is None else torch.Generator().manual_seed(int(seed))

    # --- model calls ----------------------------------------------------------------------

    def sample_z(self, n: int, seed: int | None = None, prior: str = "auto") -> np.ndarray:
        """``n`` latent vectors drawn from ``prior`` (``normal`` N(0, I), ``fitted`` the
        model's fitted mixture, ``auto`` the fitted one where it has one): ``[n, z_size]``."""
        if not 1 <= n <= MAX_BATCH:
            raise InputError(f"the number of melodies must be 1..{MAX_BATCH}, got {n}")
        z = draw_codes(prior, self.model.prior, n, self.z_size, "cpu", self._generator(seed))
        return z.numpy()

    def decode(self, z: np.ndarray, temperature: float | None = 0.0,
               seed: int | None = None) -> np.ndarray:
        """Melodies ``[N, seq_len]`` decoded from ``z [N, z_size]`` (temperature 0: argmax)."""
        z = self.check_z(z)
        with self._lock:
            return self.trained.decode(z, temperature, None if seed is None else int(seed))

    def encode(self, tokens: np.ndarray) -> np.ndarray:
        """The posterior means ``[N, z_size]`` of melodies ``[N, seq_len]``."""
        tokens = self.check_tokens(tokens)
        with self._lock:
            return self.trained.encode(tokens)

    def encode_many(self, tokens: np.ndarray) -> np.ndarray:
        """``encode`` for a large set (the reference windows), without the request limit."""
        with self._lock:
            return self.trained.encode(np.asarray(tokens, dtype=np.int64))

    def decode_many(self, z: np.ndarray, temperature: float | None = 0.0) -> np.ndarray:
        """``decode`` for a large set (prior samples for the reference), without the limit."""
        with self._lock:
            return self.trained.decode(z, temperature)

    def perform_groove(self, groove: np.ndarray, temperature: float = 0.0,
                       seed: int | None = None) -> np.ndarray:
        """A GrooVAE model over ``groove [steps, 27]`` two bars at a time
        (:func:`symusic.musicvae.groove_performance.perform`): ``[steps, 27]``."""
        from symusic.musicvae.groove_performance import perform

        with self._lock:
            return perform(self.trained, groove, temperature, seed)

    def interpolate(self, start: np.ndarray, end: np.ndarray, steps: int,
                    temperature: float | None = 0.0,
                    seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Slerp between the codes of two melodies ``[seq_len]``: ``(z [K, Z], tokens [K, T])``."""
        if not 2 <= steps <= MAX_STEPS:
            raise InputError(f"steps must be 2..{MAX_STEPS} (both ends included), got {steps}")
        start, end = self.check_tokens(start)[0], self.check_tokens(end)[0]
        with self._lock:
            return self.trained.interpolate(start, end, steps, temperature, seed)


def _rows(values: object, dtype: type, not_numbers: str, item_dims: int = 0) -> np.ndarray:
    """``values`` as an array of ``dtype``, one row (``item_dims`` beyond a list of numbers)
    read as a batch of one; ``InputError`` with ``not_numbers`` when they are not numbers in a
    regular shape."""
    try:
        array = np.asarray(values, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise InputError(not_numbers) from err
    return array[None] if array.ndim == 1 + item_dims else array


def _check_batch(array: np.ndarray) -> None:
    """``InputError`` when one request holds more than ``MAX_BATCH`` melodies."""
    if array.shape[0] > MAX_BATCH:
        raise InputError(f"at most {MAX_BATCH} melodies at once, got {array.shape[0]}")
