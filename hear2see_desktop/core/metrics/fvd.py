"""FVD (Unterthiner et al. 2019): the Fréchet distance between I3D features of 16-frame clips of two video sets.

Here one side is the evaluated video, cut into consecutive non-overlapping 16-frame clips, and the
other is every sequence of the reference set cut the same way. The detector is StyleGAN-V's TorchScript
I3D, called as the original FVD code feeds it: float32 [B, 3, T, H, W] in [-1, 1], `rescale=False`
(we do the [0, 255] -> [-1, 1] step), `resize=True` (the model resizes to 224 x 224 itself) and
`return_features=True` (the 400 logits before the softmax). Lower is better; 0 means the fitted Gaussians
match. With few clips the number is noisy and biased upwards, so compare FVDs computed on similar counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from hear2see_desktop.core.jobs import CancelledFn, never_cancelled, raise_if_cancelled
from hear2see_desktop.core.metrics.feature_models import I3D_FILE, model_call_error
from hear2see_desktop.core.metrics.frechet import frechet_between
from hear2see_desktop.core.metrics.reference_set import take_at_most

CLIP_FRAMES = 16
"""Frames per clip: the length the original FVD (and StyleGAN-V's FVD_16) uses."""
BATCH_CLIPS = 4
"""Clips per I3D call: 4 x 16 frames of 512 px is about 200 MB of float32 input."""
MAX_REFERENCE_CLIPS = 2048
"""Reference clips used at most (StyleGAN-V's FVD2048); more cost time without steadying the score much."""


@dataclass(frozen=True)
class FvdResult:
    """score: FVD (squared I3D feature units, lower = closer), None when undefined (see note);
    clips / reference_clips: 16-frame clips on each side; clip_frames: frames per clip; model: the I3D file;
    note: one sentence on why score is None or what limited it, else empty."""

    score: float | None
    clips: int
    reference_clips: int
    clip_frames: int
    model: str
    note: str


def video_clips(frames: Iterable[np.ndarray], clip_frames: int = CLIP_FRAMES) -> Iterator[np.ndarray]:
    """Consecutive non-overlapping clips, each a T x H x W x 3 uint8 array.

    A trailing remainder shorter than `clip_frames` is dropped (padding it would fake stillness), except
    when the whole sequence is shorter: then its last frame is repeated to make the one clip it yields.
    An empty sequence yields nothing.
    """
    if clip_frames < 1:
        raise ValueError(f"clip_frames must be at least 1, got {clip_frames}")
    buffer: list[np.ndarray] = []
    yielded = False
    for frame in frames:
        buffer.append(np.asarray(frame, dtype=np.uint8))
        if len(buffer) == clip_frames:
            yield np.stack(buffer)
            buffer, yielded = [], True
    if buffer and not yielded:
        yield np.stack(buffer + [buffer[-1]] * (clip_frames - len(buffer)))


def _batches(clips: Iterable[np.ndarray], batch_size: int) -> Iterator[np.ndarray]:
    """Stacks of up to `batch_size` clips; a clip of another frame size starts a new stack."""
    batch: list[np.ndarray] = []
    for clip in clips:
        if batch and (len(batch) == batch_size or clip.shape != batch[0].shape):
            yield np.stack(batch)
            batch = []
        batch.append(clip)
    if batch:
        yield np.stack(batch)


def i3d_features(
    detector: Any,
    clips: Iterable[np.ndarray],
    batch_size: int = BATCH_CLIPS,
    cancelled: CancelledFn = never_cancelled,
) -> np.ndarray:
    """I3D features (N x D float64, D = 400 for the published model) of T x H x W x 3 uint8 clips."""
    import torch

    rows: list[np.ndarray] = []
    for batch in _batches(clips, batch_size):
        raise_if_cancelled(cancelled)
        videos = torch.from_numpy(batch).permute(0, 4, 1, 2, 3).float().div_(127.5).sub_(1.0)  # B,3,T,H,W in [-1, 1]
        try:
            with torch.inference_mode():
                features = detector(videos, rescale=False, resize=True, return_features=True)
        except (RuntimeError, torch.jit.Error, TypeError, ValueError) as exc:  # jit.Error: a failed assert
            raise model_call_error(I3D_FILE, exc) from exc
        if not isinstance(features, torch.Tensor) or features.ndim != 2 or features.shape[0] != len(batch):
            raise model_call_error(I3D_FILE, TypeError("unexpected output"))
        rows.append(features.double().numpy())
    if not rows:
        return np.zeros((0, 0))
    return np.concatenate(rows)


def fvd(
    detector: Any,
    frames: Iterable[np.ndarray],
    reference_sequences: Iterable[Iterable[np.ndarray]],
    model: str = I3D_FILE,
    clip_frames: int = CLIP_FRAMES,
    max_reference_clips: int = MAX_REFERENCE_CLIPS,
    cancelled: CancelledFn = never_cancelled,
) -> FvdResult:
    """FVD of one video (`frames`, HxWx3 uint8 RGB) against the clips of `reference_sequences`.

    Reference clips are taken in order until `max_reference_clips`; the result's note says when that cut
    the set short. Fewer than 2 clips on a side leaves the covariance undefined: score None with a note.
    """
    features = i3d_features(detector, video_clips(frames, clip_frames), cancelled=cancelled)
    more = [False]
    reference_clips = (clip for sequence in reference_sequences for clip in video_clips(sequence, clip_frames))
    reference_features = i3d_features(detector, take_at_most(reference_clips, max_reference_clips, more),
                                      cancelled=cancelled)
    distance = frechet_between(features, reference_features, unit=f"{clip_frames}-frame clip")
    note = distance.note
    if distance.distance is None:
        note += f" (at least {2 * clip_frames} frames)"
    if more[0] and not note:
        note = f"used the first {max_reference_clips} reference clips of a larger set"
    return FvdResult(
        score=distance.distance,
        clips=distance.samples,
        reference_clips=distance.reference_samples,
        clip_frames=clip_frames,
        model=model,
        note=note,
    )
