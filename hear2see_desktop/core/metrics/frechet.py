"""The Fréchet distance between two Gaussians fitted to feature sets: the arithmetic behind FVD (and FID).

Each set of feature vectors (one row per clip or image) is summarised by its mean and covariance, and

    d^2 = |mu1 - mu2|^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2))

is the squared 2-Wasserstein distance between N(mu1, sigma1) and N(mu2, sigma2). It is reported as d^2, in
squared feature units (for FVD: squared I3D logit units), as every published FVD/FID number is; 0 means the
two fitted Gaussians are identical, and the value grows without bound.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

EPS = 1e-6
"""Added to both covariance diagonals when their product has no usable square root (singular or
rank-deficient covariances, common when there are fewer samples than feature dimensions)."""
IMAGINARY_TOLERANCE = 1e-3
"""Largest imaginary part of sqrtm, relative to its real part, still treated as rounding noise and dropped."""


@dataclass(frozen=True)
class FrechetResult:
    """distance: d^2 in squared feature units, or None when a side has fewer than 2 samples (undefined);
    samples / reference_samples: feature rows on each side; note: why distance is None, else empty."""

    distance: float | None
    samples: int
    reference_samples: int
    note: str


def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mu, sigma) of an N x D feature array: the mean (D,) and the unbiased covariance (D x D), in float64.

    The covariance divides by N - 1, so it needs N >= 2 rows; with one row it is undefined and this raises
    ValueError (callers that may see one sample use `frechet_between`, which says so in a note instead).
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"features must be an N x D array, got shape {x.shape}")
    if x.shape[0] < 2:
        raise ValueError(f"a covariance needs at least 2 samples, got {x.shape[0]}")
    return x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False))


def _sqrtm_product(sigma1: np.ndarray, sigma2: np.ndarray) -> np.ndarray:
    """The real square root of sigma1 @ sigma2, retried with `EPS` on both diagonals when it is not usable."""
    from scipy.linalg import LinAlgWarning, sqrtm

    def usable(root: np.ndarray) -> bool:
        if not np.isfinite(root).all():
            return False
        if not np.iscomplexobj(root):
            return True
        return float(np.abs(root.imag).max()) <= IMAGINARY_TOLERANCE * max(1.0, float(np.abs(root.real).max()))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LinAlgWarning)  # singular products are expected and handled here
        root = sqrtm(sigma1 @ sigma2)
        if not usable(root):
            offset = np.eye(sigma1.shape[0]) * EPS
            root = sqrtm((sigma1 + offset) @ (sigma2 + offset))
    return np.real(root)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """d^2 between N(mu1, sigma1) and N(mu2, sigma2), in squared feature units (>= 0).

    Why the fallback: with fewer samples than feature dimensions the covariances are singular, and the
    Schur square root of their product can come back non-finite or with large imaginary parts; adding
    `EPS` to both diagonals (as the reference FID code does) makes it well defined while moving the
    result by about EPS * D. The imaginary part left after that is rounding noise and is discarded, and
    a tiny negative total (rounding, identical inputs) is reported as 0.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise ValueError(f"mismatched statistics: mu {mu1.shape} / {mu2.shape}, sigma {sigma1.shape} / {sigma2.shape}")
    mean_term = float(np.sum((mu1 - mu2) ** 2))
    trace_term = float(np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(_sqrtm_product(sigma1, sigma2)))
    return max(0.0, mean_term + trace_term)


def frechet_between(features: np.ndarray, reference_features: np.ndarray, unit: str = "sample") -> FrechetResult:
    """`frechet_distance` of two N x D feature arrays; a side with fewer than 2 rows gives distance None and a note.

    `unit` names one row in that note ("clip", "frame"), so it reads as the user's data, not as arrays.
    """
    samples, reference_samples = len(features), len(reference_features)
    if samples < 2 or reference_samples < 2:
        side, count = ("the evaluated video", samples) if samples < 2 else ("the reference set", reference_samples)
        return FrechetResult(
            distance=None, samples=samples, reference_samples=reference_samples,
            note=f"{side} gives {count} {unit}{'' if count == 1 else 's'} and the covariance needs at least 2",
        )
    mu1, sigma1 = feature_stats(features)
    mu2, sigma2 = feature_stats(reference_features)
    return FrechetResult(frechet_distance(mu1, sigma1, mu2, sigma2), samples, reference_samples, note="")
