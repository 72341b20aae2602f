"""Interpolation between two keyframes' inputs: spherical for the initial noise, linear for text embeddings.

Why spherical for noise: two independent N(0, 1) draws of n values are almost orthogonal vectors of
length ~sqrt(n). Their plain average has variance 0.5 (length ~sqrt(n / 2)), which the scheduler reads
as a half-strength noise and denoises into a washed-out, blurry in-between. Walking the great circle
between them (and the length linearly, for draws whose lengths differ) keeps every in-between a
plausible unit-variance draw, so each in-between frame looks like a finished image.

Both functions take numpy arrays or torch tensors (both the same kind and shape) and return the same
kind, shape and dtype; t == 0 and t == 1 return copies of the endpoints, bit for bit.
"""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np

DOT_THRESHOLD = 0.9995
"""|cos angle| above which the vectors count as parallel and slerp falls back to lerp (sin(angle) ~ 0)."""


def slerp(a: Any, b: Any, t: float, dot_threshold: float = DOT_THRESHOLD) -> Any:
    """Spherical interpolation of the flattened `a` and `b` at `t` in [0, 1], with the length interpolated linearly.

    result = ((1 - t)|a| + t|b|) * (sin((1 - t)θ) â + sin(tθ) b̂) / sin θ,  θ = angle between a and b.
    For equal lengths this is the classic slerp. Nearly parallel (or antiparallel) vectors, and zero
    vectors, have no well-defined great circle, so they get `lerp` instead.

    Args:
        a, b: numpy arrays or torch tensors of one shape (e.g. 4x64x64 latents); computed in float64
            (numpy) or at least float32 (torch, so it also runs where float64 does not, such as MPS).
        t: position, 0 gives `a` and 1 gives `b` exactly.
        dot_threshold: |cosine| above which to fall back to lerp.
    """
    t = _check(a, b, t)
    if t == 0.0:
        return _copy(a)
    if t == 1.0:
        return _copy(b)
    af, bf = _flat(a), _flat(b)
    norm_a, norm_b = _norm(af), _norm(bf)
    if norm_a == 0.0 or norm_b == 0.0:
        return _combine(a, af, bf, 1.0 - t, t)
    dot = _dot(af, bf) / (norm_a * norm_b)
    if abs(dot) > dot_threshold:
        return _combine(a, af, bf, 1.0 - t, t)
    theta = math.acos(max(-1.0, min(1.0, dot)))
    sin_theta = math.sin(theta)
    norm_t = (1.0 - t) * norm_a + t * norm_b
    coeff_a = norm_t * math.sin((1.0 - t) * theta) / (sin_theta * norm_a)
    coeff_b = norm_t * math.sin(t * theta) / (sin_theta * norm_b)
    return _combine(a, af, bf, coeff_a, coeff_b)


def lerp(a: Any, b: Any, t: float) -> Any:
    """Linear interpolation (1 - t) a + t b, for text embeddings whose scale carries meaning; exact at t = 0 and 1."""
    t = _check(a, b, t)
    if t == 0.0:
        return _copy(a)
    if t == 1.0:
        return _copy(b)
    return _combine(a, _flat(a), _flat(b), 1.0 - t, t)


def _torch_tensor_type() -> type | None:
    """torch.Tensor if torch is already imported; a tensor cannot exist otherwise, so never import it here."""
    torch = sys.modules.get("torch")
    return None if torch is None else torch.Tensor


def _is_torch(x: Any) -> bool:
    tensor_type = _torch_tensor_type()
    return tensor_type is not None and isinstance(x, tensor_type)


def _check(a: Any, b: Any, t: float) -> float:
    if _is_torch(a) != _is_torch(b) or not (_is_torch(a) or isinstance(a, np.ndarray)):
        kinds = f"{type(a).__name__} and {type(b).__name__}"
        raise TypeError(f"interpolate two numpy arrays or two torch tensors, got {kinds}")
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"interpolated values must have one shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    t = float(t)
    if not 0.0 <= t <= 1.0:
        raise ValueError(f"t must be in [0, 1], got {t}")
    return t


def _copy(x: Any) -> Any:
    return x.clone() if _is_torch(x) else x.copy()


def _flat(x: Any) -> Any:
    """1-D view in the compute dtype: float64 for numpy, float32 or better for torch."""
    if _is_torch(x):
        import torch

        dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
        return x.reshape(-1).to(dtype)
    return np.asarray(x, dtype=np.float64).reshape(-1)


def _norm(x: Any) -> float:
    if _is_torch(x):
        import torch

        return float(torch.linalg.vector_norm(x).item())
    return float(np.linalg.norm(x))


def _dot(x: Any, y: Any) -> float:
    return float((x @ y).item()) if _is_torch(x) else float(x @ y)


def _combine(like: Any, af: Any, bf: Any, coeff_a: float, coeff_b: float) -> Any:
    """coeff_a * a + coeff_b * b, back in `like`'s shape and dtype."""
    out = coeff_a * af + coeff_b * bf
    if _is_torch(like):
        return out.reshape(like.shape).to(like.dtype)
    return out.reshape(like.shape).astype(like.dtype, copy=False)
