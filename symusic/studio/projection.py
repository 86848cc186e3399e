"""2-D maps of latent codes: PCA in numpy, t-SNE when scikit-learn is installed.

Both return coordinates scaled into [-1, 1] on each axis, so the browser draws them as they come.
"""

from __future__ import annotations

import importlib.util

import numpy as np

METHODS = ("pca", "tsne")


class ProjectionUnavailableError(RuntimeError):
    """The projection asked for needs a package that is not installed; the message says which."""


def tsne_available() -> bool:
    """Whether scikit-learn (for t-SNE) can be imported."""
    return importlib.util.find_spec("sklearn") is not None


def _scale(points: np.ndarray) -> np.ndarray:
    centred = points - points.mean(axis=0)
    extent = np.abs(centred).max(axis=0)
    return centred / np.where(extent > 0, extent, 1.0)


def pca_2d(codes: np.ndarray) -> np.ndarray:
    """The first two principal components of ``codes [N, Z]`` -> ``[N, 2]``, scaled to [-1, 1].

    The sign of each component is fixed (its largest loading positive), so the map does not
    flip between runs. Fewer than two directions of variance give zeros in the missing axes.
    """
    codes = np.asarray(codes, dtype=np.float64)
    centred = codes - codes.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    components = np.zeros((2, codes.shape[1]))
    components[: min(2, len(vt))] = vt[:2]
    for c in components:
        if c[np.argmax(np.abs(c))] < 0:
            c *= -1
    return _scale(centred @ components.T)


def tsne_2d(codes: np.ndarray, seed: int = 0) -> np.ndarray:
    """t-SNE of ``codes [N, Z]`` -> ``[N, 2]`` scaled to [-1, 1] (scikit-learn, PCA start).

    Fewer than four codes, or identical ones, give zeros.
    """
    if not tsne_available():
        raise ProjectionUnavailableError("t-SNE needs scikit-learn: pip install scikit-learn")
    from sklearn.manifold import TSNE

    codes = np.asarray(codes, dtype=np.float64)
    if len(codes) < 4 or not np.ptp(codes, axis=0).any():
        return np.zeros((len(codes), 2))  # nothing to spread out (and sklearn fails on it)
    perplexity = float(min(30.0, max(2.0, (len(codes) - 1) / 3)))
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
    return _scale(tsne.fit_transform(codes))


def project(codes: np.ndarray, method: str) -> np.ndarray:
    """``pca_2d`` or ``tsne_2d`` by name; ``ValueError`` for another name."""
    if method == "pca":
        return pca_2d(codes)
    if method == "tsne":
        return tsne_2d(codes)
    raise ValueError(f"unknown map method {method!r}: use one of {', '.join(METHODS)}")
