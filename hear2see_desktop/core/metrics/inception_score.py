"""IS (Salimans et al. 2016): are single frames confidently classified, and spread over many classes?

IS = exp( mean_x KL(p(y|x) || p(y)) ), with p(y|x) the Inception class probabilities of frame x and
p(y) their mean over the frames. It runs from 1 (every frame gets the same prediction) up to the number
of classes (each frame one confident, distinct class). The frames are split into groups, IS is computed
per group, and the mean and standard deviation over groups are reported, as in the original code.

The detector is StyleGAN2-ADA's TorchScript port of the 2015 TF Inception, called as its IS code calls
it: uint8 [B, 3, H, W] frames (we resize them to 299 x 299) with `no_output_bias=True`, returning softmax
probabilities over 1008 classes. Everything runs on the CPU.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from hear2see_desktop.core.analysis.optical_flow import load_cv2
from hear2see_desktop.core.jobs import CancelledFn, never_cancelled, raise_if_cancelled
from hear2see_desktop.core.metrics.feature_models import INCEPTION_FILE, model_call_error
from hear2see_desktop.core.metrics.reference_set import take_at_most

SPLITS = 10
"""Groups the frames are split into (the original IS uses 10)."""
MIN_FRAMES_PER_SPLIT = 50
"""Fewer splits are used when a group would hold fewer frames than this: a group's IS can never exceed
its frame count, so tiny groups would cap the score rather than measure it."""
IMAGE_SIDE_PX = 299
"""Inception v3's input size; frames are resized to it before the detector sees them."""
BATCH_FRAMES = 16
"""Frames per Inception call (16 x 3 x 299 x 299 uint8 is about 4 MB)."""
MAX_REFERENCE_FRAMES = 2048
"""Reference frames used at most; the score of the reference set is a comparison point, not the goal."""
PROBABILITY_TOLERANCE = 1e-3
"""How far a row of the detector's output may sum from 1 and still count as class probabilities."""


@dataclass(frozen=True)
class InceptionScoreResult:
    """score / std: mean and standard deviation of IS over splits (1 = no variety; higher is better);
    splits / frames: how they were computed; reference_*: the same for the reference set's frames, for
    comparison (None / 0 when it has no frames); model: the Inception file; note: what limited it, else empty."""

    score: float
    std: float
    splits: int
    frames: int
    reference_score: float | None
    reference_std: float | None
    reference_splits: int
    reference_frames: int
    model: str
    note: str


def split_count(samples: int, splits: int = SPLITS, min_per_split: int = MIN_FRAMES_PER_SPLIT) -> int:
    """`splits`, lowered so each split holds at least `min_per_split` samples, but never below 1."""
    return max(1, min(splits, samples // max(1, min_per_split)))


def inception_score(
    probabilities: np.ndarray, splits: int = SPLITS, min_per_split: int = MIN_FRAMES_PER_SPLIT
) -> tuple[float, float, int]:
    """(mean IS, std IS, splits used) of an N x C array of class probabilities (rows sum to 1).

    Splits are consecutive slices of near-equal size; each gives exp(mean KL(p(y|x) || p(y))) with p(y)
    that split's mean prediction. 0 * log 0 is taken as 0, so one-hot predictions are fine.
    """
    from scipy.special import rel_entr

    probs = np.asarray(probabilities, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] < 1:
        raise ValueError(f"probabilities must be a non-empty N x C array, got shape {probs.shape}")
    n = probs.shape[0]
    used = split_count(n, splits, min_per_split)
    scores = []
    for i in range(used):
        part = probs[i * n // used : (i + 1) * n // used]
        marginal = part.mean(axis=0, keepdims=True)
        kl = rel_entr(part, marginal).sum(axis=1).mean()
        scores.append(float(np.exp(kl)))
    return float(np.mean(scores)), float(np.std(scores)), used


def _resized(frame: np.ndarray, side_px: int) -> np.ndarray:

    cv2 = load_cv2()
    arr = np.ascontiguousarray(np.asarray(frame, dtype=np.uint8))
    if arr.shape[:2] == (side_px, side_px):
        return arr
    shrinking = max(arr.shape[:2]) > side_px
    return cv2.resize(arr, (side_px, side_px), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def _batches(frames: Iterable[np.ndarray], size: int, side_px: int) -> Iterator[np.ndarray]:
    batch: list[np.ndarray] = []
    for frame in frames:
        batch.append(_resized(frame, side_px))
        if len(batch) == size:
            yield np.stack(batch)
            batch = []
    if batch:
        yield np.stack(batch)


def inception_probabilities(
    detector: Any,
    frames: Iterable[np.ndarray],
    batch_size: int = BATCH_FRAMES,
    side_px: int = IMAGE_SIDE_PX,
    cancelled: CancelledFn = never_cancelled,
) -> np.ndarray:
    """Class probabilities (N x C float64) of HxWx3 uint8 RGB frames; BadInputError if the model gives none."""
    import torch

    rows: list[np.ndarray] = []
    for batch in _batches(frames, batch_size, side_px):
        raise_if_cancelled(cancelled)
        images = torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous()  # B,3,H,W uint8
        try:
            with torch.inference_mode():
                output = detector(images, no_output_bias=True)
        except (RuntimeError, torch.jit.Error, TypeError, ValueError) as exc:  # jit.Error: a failed assert
            raise model_call_error(INCEPTION_FILE, exc) from exc
        if not isinstance(output, torch.Tensor) or output.ndim != 2 or output.shape[0] != len(batch):
            raise model_call_error(INCEPTION_FILE, TypeError("unexpected output"))
        probs = output.double().numpy()
        if probs.min() < 0 or np.abs(probs.sum(axis=1) - 1.0).max() > PROBABILITY_TOLERANCE:
            raise model_call_error(INCEPTION_FILE, ValueError("output rows are not class probabilities"))
        rows.append(probs)
    return np.concatenate(rows) if rows else np.zeros((0, 0))


def inception_scores(
    detector: Any,
    frames: Iterable[np.ndarray],
    reference_frames: Iterable[np.ndarray],
    model: str = INCEPTION_FILE,
    splits: int = SPLITS,
    max_reference_frames: int = MAX_REFERENCE_FRAMES,
    cancelled: CancelledFn = never_cancelled,
) -> InceptionScoreResult:
    """IS of the evaluated `frames`, and of up to `max_reference_frames` reference frames for comparison.

    Raises ValueError when `frames` is empty (the eval job checks for frames first).
    """
    probs = inception_probabilities(detector, frames, cancelled=cancelled)
    score, std, used = inception_score(probs, splits)
    more = [False]
    reference_probs = inception_probabilities(detector, take_at_most(reference_frames, max_reference_frames, more),
                                              cancelled=cancelled)
    reference: tuple[float | None, float | None, int] = (None, None, 0)
    if len(reference_probs):
        reference = inception_score(reference_probs, splits)
    return InceptionScoreResult(
        score=score,
        std=std,
        splits=used,
        frames=len(probs),
        reference_score=reference[0],
        reference_std=reference[1],
        reference_splits=reference[2],
        reference_frames=len(reference_probs),
        model=model,
        note=f"used the first {max_reference_frames} reference frames of a larger set" if more[0] else "",
    )
