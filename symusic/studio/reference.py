"""The reference set of the latent space and what is derived from it, each computed once.

The reference set is the windows of ``--data`` (at most ``max_windows`` of them) with their
posterior means; without data it is melodies decoded from prior samples, re-encoded. From it
come the most active latent dimensions (largest variance of mu: the sliders of the mixer),
the attribute vectors and, with data, the 2-D map.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from symusic.studio.attributes import AttributeVector, attribute_vectors, measure_all
from symusic.studio.library import DataLibrary
from symusic.studio.projection import project
from symusic.studio.service import ModelService

PRIOR_SAMPLES = 256
MIN_WINDOWS = 8  # fewer data windows than this: use prior samples for the dimensions too


@dataclass(frozen=True)
class Reference:
    """Melodies ``[N, T]``, their codes ``mu [N, Z]``, labels and where they came from."""

    melodies: np.ndarray
    mu: np.ndarray
    labels: list[str]
    basis: str  # "data" or "prior"


def active_dimensions(mu: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``count`` dimensions of largest variance of ``mu [N, Z]``, largest first.

    Returns ``(indices [count], std [count])``; ties keep the lower index first.
    """
    std = np.asarray(mu, dtype=np.float64).std(axis=0)
    order = np.argsort(-std, kind="stable")[: max(0, min(count, len(std)))]
    return order, std[order]


class LatentSpace:
    """Lazily built, cached views of the latent space over the reference set (thread-safe)."""

    def __init__(self, service: ModelService, library: DataLibrary, max_windows: int = 2000,
                 seed: int = 0) -> None:
        self.service, self.library = service, library
        self.max_windows, self.seed = max_windows, seed
        self._lock = threading.RLock()
        self._reference: Reference | None = None
        self._maps: dict[str, np.ndarray] = {}
        self._vectors: dict[str, AttributeVector] | None = None
        self._measures: dict[str, list[float]] | None = None

    @property
    def has_data(self) -> bool:
        """Whether the reference set is the data (so there is a map to show)."""
        return self.reference().basis == "data"

    def reference(self) -> Reference:
        """The reference set, built on first use."""
        with self._lock:
            if self._reference is None:
                self._reference = self._build()
            return self._reference

    def _build(self) -> Reference:
        windows, labels = self.library.windows(self.max_windows)
        if len(windows) >= MIN_WINDOWS:
            return Reference(windows, self.service.encode_many(windows), labels, "data")
        z = np.random.default_rng(self.seed).standard_normal(
            (PRIOR_SAMPLES, self.service.z_size)).astype(np.float32)
        melodies = self.service.decode_many(z)
        labels = [f"prior sample {i + 1}" for i in range(len(melodies))]
        return Reference(melodies, self.service.encode_many(melodies), labels, "prior")

    def dimensions(self, count: int) -> dict:
        """The JSON of the mixer's sliders: the most active dimensions, their mean and spread."""
        ref = self.reference()
        indices, std = active_dimensions(ref.mu, count)
        mean = ref.mu.mean(axis=0)[indices]
        return {"basis": ref.basis, "count": len(ref.mu),
                "dims": [{"index": int(i), "std": round(float(s), 4), "mean": round(float(m), 4)}
                         for i, s, m in zip(indices, std, mean, strict=True)]}

    def measures(self) -> dict[str, list[float]]:
        """Every attribute of every reference melody."""
        with self._lock:
            if self._measures is None:
                self._measures = measure_all(self.reference().melodies,
                                              self.service.representation)
            return self._measures

    def map(self, method: str) -> np.ndarray:
        """2-D coordinates ``[N, 2]`` of the reference codes by ``method`` (cached)."""
        with self._lock:
            if method not in self._maps:
                self._maps[method] = project(self.reference().mu, method)
            return self._maps[method]

    def vectors(self) -> dict[str, AttributeVector]:
        """The attribute vectors over the reference set."""
        with self._lock:
            if self._vectors is None:
                ref = self.reference()
                self._vectors = attribute_vectors(ref.melodies, ref.mu,
                                                  self.service.representation)
            return self._vectors
