"""Where prior samples draw z from: N(0, I), or a mixture fitted to the model's own codes.

A VAE is trained to make q(z|x) close to N(0, I), but with a KL budget (free bits) the codes
its encoder uses are not spread like N(0, I): on POP909 a 16-bar model's codes fill about a
third of z's dimensions, far off the origin, and a draw from N(0, I) rarely lands where the
windows that restate bars sit (``benchmarks/README.md``, "A mixture prior"). A
:class:`MixturePrior` is a mixture of diagonal Gaussians fitted to the codes (z = mu) of
training windows: drawing from it gives prior samples nearer the data's form. A checkpoint may
carry one (``"prior"`` in its state); ``symusic.musicvae.tools.fit_prior`` fits and adds it.

Prior names: ``normal`` (N(0, I), Magenta's), ``fitted`` (the checkpoint's mixture) and ``auto``
(the fitted one where the checkpoint has one).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

PRIORS = ("auto", "normal", "fitted")
MAX_COMPONENTS = 4096  # a fitted prior beyond this is not one a checkpoint should carry
MIN_SCALE = 1e-4
MAX_MEAN = 1e4


class PriorError(ValueError):
    """A fitted prior that cannot be used (wrong shapes, non-finite numbers, no such prior)."""


class MixturePrior:
    """A mixture of ``K`` diagonal Gaussians over z: ``weights [K]``, ``means [K, Z]``,
    ``scales [K, Z]`` (standard deviations), float32; ``fitted_on`` says on what."""

    def __init__(self, weights: Tensor, means: Tensor, scales: Tensor, fitted_on: str = ""):
        self.weights = torch.as_tensor(weights, dtype=torch.float32)
        self.means = torch.as_tensor(means, dtype=torch.float32)
        self.scales = torch.as_tensor(scales, dtype=torch.float32)
        self.fitted_on = str(fitted_on)
        self._check()

    @property
    def components(self) -> int:
        """How many Gaussians."""
        return int(self.weights.shape[0])

    @property
    def z_size(self) -> int:
        """The size of the codes it draws."""
        return int(self.means.shape[1])

    def _check(self) -> None:
        w, m, s = self.weights, self.means, self.scales
        if w.ndim != 1 or not 1 <= len(w) <= MAX_COMPONENTS:
            raise PriorError(f"its weights must be 1 to {MAX_COMPONENTS} numbers, got shape "
                             f"{list(w.shape)}")
        if m.ndim != 2 or m.shape[0] != len(w) or s.shape != m.shape:
            raise PriorError(f"its means {list(m.shape)} and scales {list(s.shape)} must both "
                             f"be [{len(w)}, z_size]")
        if not (torch.isfinite(w).all() and torch.isfinite(m).all()
                and torch.isfinite(s).all()):
            raise PriorError("it holds NaN or infinity")
        if (w < 0).any() or not abs(float(w.sum()) - 1.0) < 1e-3:
            raise PriorError("its weights must be non-negative and sum to 1")
        if (s < MIN_SCALE).any() or (m.abs() > MAX_MEAN).any():
            raise PriorError(f"its scales must be at least {MIN_SCALE} and its means within "
                             f"+/-{MAX_MEAN:g}")

    def sample(self, n: int, device: torch.device | str = "cpu",
               generator: torch.Generator | None = None) -> Tensor:
        """``n`` codes ``[n, Z]`` on ``device``: a component by its weight, then its Gaussian
        (``generator`` on ``device``, as the model's generation takes it)."""
        weights, means, scales = (t.to(device) for t in (self.weights, self.means,
                                                         self.scales))
        picks = torch.multinomial(weights, n, replacement=True, generator=generator)
        noise = torch.randn(n, self.z_size, device=device, generator=generator)
        return means[picks] + scales[picks] * noise

    def to_state(self) -> dict[str, Any]:
        """Plain types and tensors, for a checkpoint's ``"prior"``."""
        return {"kind": "diagonal_mixture", "weights": self.weights, "means": self.means,
                "scales": self.scales, "fitted_on": self.fitted_on}

    @classmethod
    def from_state(cls, state: object, z_size: int) -> MixturePrior:
        """Rebuild from :meth:`to_state`'s dict; ``PriorError`` unless it is a mixture over
        codes of ``z_size``."""
        if not isinstance(state, dict) or state.get("kind") != "diagonal_mixture":
            raise PriorError("its prior is not a diagonal mixture")
        tensors = [state.get(key) for key in ("weights", "means", "scales")]
        if not all(isinstance(t, Tensor) for t in tensors):
            raise PriorError("its prior's weights, means and scales must be tensors")
        prior = cls(*tensors, fitted_on=str(state.get("fitted_on", ""))[:1000])
        if prior.z_size != z_size:
            raise PriorError(f"its prior draws codes of {prior.z_size} numbers for a model "
                             f"whose z has {z_size}")
        return prior

    @classmethod
    def fit(cls, codes: np.ndarray, components: int, seed: int = 0,
            fitted_on: str = "") -> MixturePrior:
        """A mixture of ``components`` diagonal Gaussians fitted by EM (scikit-learn's
        ``GaussianMixture``, k-means start) to ``codes [N, Z]``."""
        from sklearn.mixture import GaussianMixture

        codes = np.asarray(codes, dtype=np.float64)
        if not 1 <= components <= min(MAX_COMPONENTS, len(codes)):
            raise PriorError(f"--components must be 1 to {min(MAX_COMPONENTS, len(codes))} "
                             f"(at most one a code), got {components}")
        mixture = GaussianMixture(components, covariance_type="diag", reg_covar=1e-3,
                                  random_state=seed).fit(codes)
        weights = mixture.weights_ / mixture.weights_.sum()
        return cls(torch.as_tensor(weights), torch.as_tensor(mixture.means_),
                   torch.as_tensor(np.sqrt(mixture.covariances_)), fitted_on)


def draw_codes(prior_name: str, fitted: MixturePrior | None, n: int, z_size: int,
               device: torch.device | str = "cpu",
               generator: torch.Generator | None = None) -> Tensor:
    """``n`` codes ``[n, z_size]`` from the prior ``prior_name`` (:data:`PRIORS`), with
    ``fitted`` the model's mixture or None; ``PriorError`` for ``fitted`` when there is none."""
    if prior_name not in PRIORS:
        raise PriorError(f"the prior must be one of {', '.join(PRIORS)}, got {prior_name!r}")
    if prior_name == "fitted" and fitted is None:
        raise PriorError("this model carries no fitted prior (add one with python -m "
                         "symusic.musicvae.tools.fit_prior); use the normal prior")
    if prior_name == "normal" or fitted is None:
        return torch.randn(n, z_size, device=device, generator=generator)
    return fitted.sample(n, device, generator)


def prior_name_of(prior_name: str, fitted: MixturePrior | None) -> str:
    """What ``prior_name`` draws from, in words (``auto`` resolved)."""
    if prior_name == "normal" or fitted is None:
        return "normal"
    return f"fitted ({fitted.components} components)"
