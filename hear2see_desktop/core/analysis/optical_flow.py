"""Dense Farnebäck optical flow as the TempoTokens AV-Align reference runs it, shared by the metrics and the motion.

AV-Align's motion events, the flicker metric's motion compensation and the smooth render mode's
in-betweens all use these settings, so "motion" means one thing across the app.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from hear2see_desktop.core.errors import BadInputError

FARNEBACK = {
    "pyr_scale": 0.5,
    "levels": 3,
    "winsize": 15,
    "iterations": 3,
    "poly_n": 5,
    "poly_sigma": 1.2,
    "flags": 0,
}
"""Farnebäck settings of the TempoTokens reference (`calcOpticalFlowFarneback(..., 0.5, 3, 15, 3, 5, 1.2, 0)`)."""


def check_rgb_frame(frame: np.ndarray) -> np.ndarray:
    """The frame as a contiguous HxWx3 uint8 array, or one sentence saying what it is instead."""
    arr = np.asarray(frame)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        raise BadInputError(f"Expected HxWx3 uint8 RGB frames, got an array of shape {arr.shape} and type {arr.dtype}.")
    return np.ascontiguousarray(arr)


def load_cv2() -> Any:
    """Import OpenCV lazily so the rest of core (and the CLI) loads without it."""
    try:
        import cv2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise BadInputError(
            "The video metrics need OpenCV; install it with `pip install opencv-python-headless`."
        ) from exc
    return cv2


def to_gray(frame: np.ndarray, max_side: int | None = None) -> np.ndarray:
    """RGB (or gray) uint8 frame -> gray uint8, downscaled with INTER_AREA so its longer side is <= max_side.

    None keeps the full size, as the reference does. RGB2GRAY on RGB gives the same pixels as the
    reference's BGR2GRAY on OpenCV's BGR decode.
    """
    cv2 = load_cv2()
    arr = np.asarray(frame)
    if arr.dtype != np.uint8 or arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] != 3):
        raise BadInputError(f"Expected HxWx3 uint8 RGB frames, got an array of shape {arr.shape} and type {arr.dtype}.")
    gray = cv2.cvtColor(arr, cv2.COLOR_RGB2GRAY) if arr.ndim == 3 else arr
    h, w = gray.shape
    if max_side and max(h, w) > max_side:
        scale = max_side / max(h, w)
        gray = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(gray)


def farneback(prev_gray: np.ndarray, next_gray: np.ndarray) -> np.ndarray:
    """Dense flow HxWx2 (dx, dy) in pixels, OpenCV's convention: prev[y, x] ~ next[y + dy, x + dx]."""
    cv2 = load_cv2()
    if prev_gray.shape != next_gray.shape:
        raise BadInputError(f"All frames must have one size; got {prev_gray.shape} then {next_gray.shape}.")
    return cv2.calcOpticalFlowFarneback(prev_gray, next_gray, None, **FARNEBACK)


def mean_flow_magnitude(prev_gray: np.ndarray, next_gray: np.ndarray) -> float:
    """Mean length of the flow vectors in pixels, computed as the reference does (`cv2.magnitude`, `cv2.mean`)."""
    cv2 = load_cv2()
    flow = farneback(prev_gray, next_gray)
    return float(cv2.mean(cv2.magnitude(flow[..., 0], flow[..., 1]))[0])


def flow_trajectories(frames: Iterable[np.ndarray], max_sides: Sequence[int | None]) -> list[np.ndarray]:
    """One `flow_trajectory` per analysis size in `max_sides`, from a single pass over `frames`.

    Sizes that leave the frames as they are share one computation, so asking for full size and 256 px
    on 256 px frames costs one flow per pair.
    """
    values: list[list[float]] = [[] for _ in max_sides]
    prev: list[np.ndarray] | None = None
    for frame in frames:
        grays = [to_gray(frame, side) for side in max_sides]
        if prev is not None:
            done: dict[tuple[int, ...], float] = {}
            for k, gray in enumerate(grays):
                if gray.shape not in done:
                    done[gray.shape] = mean_flow_magnitude(prev[k], gray)
                values[k].append(done[gray.shape])
        prev = grays
    if prev is None:
        return [np.zeros(0) for _ in max_sides]
    return [np.asarray([v[0], *v], dtype=np.float64) if v else np.zeros(1) for v in values]


def flow_trajectory(frames: Iterable[np.ndarray], max_side: int | None = None) -> np.ndarray:
    """Mean flow magnitude per frame, in pixels at the analysis size: entry i (i >= 1) is frame i-1 -> i.

    Entry 0 repeats entry 1, as the reference does (it measures the first pair twice), so the
    trajectory has one entry per frame and a clip that starts moving has no fake step at frame 1.
    Frames are consumed one at a time, so an iterator from `read_frames` never sits in memory.
    """
    return flow_trajectories(frames, (max_side,))[0]
