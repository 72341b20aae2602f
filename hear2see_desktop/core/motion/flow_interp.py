"""Fast in-betweens without diffusion: optical-flow interpolation between two rendered keyframes.

Used by the "fast" quality: flow is measured once per keyframe pair in both directions, on a small
grey copy (Farnebäck cost grows with pixels, motion between SD keyframes is coarse), then every
in-between is two `cv2.remap` warps and a blend, a few milliseconds per frame on a CPU.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hear2see_desktop.core.analysis.optical_flow import check_rgb_frame, farneback, load_cv2, to_gray
from hear2see_desktop.core.errors import BadInputError

FLOW_MAX_SIDE_PX = 256
"""Longer side of the grey copies the flow is measured on; the flow is scaled back up to the frame size."""


def interpolate_pair(first: np.ndarray, second: np.ndarray, positions: Sequence[float]) -> list[np.ndarray]:
    """In-betweens of two HxWx3 uint8 RGB frames at each position t in [0, 1] (0 = `first`, 1 = `second`).

    With F01 the flow from `first` to `second` and F10 the reverse (OpenCV's convention,
    first[p] ~ second[p + F01(p)]), the frame at t reads `first` at p + t * F10(p) and `second` at
    p + (1 - t) * F01(p), and blends them with weights (1 - t, t). Reading each flow where the
    in-between pixel is (not where it came from) is exact for uniform motion and close for smooth
    motion; the blend hides what one warp alone gets wrong at occlusions. t == 0 and t == 1 return
    copies of the endpoints exactly.
    """
    first, second = check_rgb_frame(first), check_rgb_frame(second)
    if first.shape != second.shape:
        raise BadInputError(f"Both keyframes must have one size; got {first.shape} and {second.shape}.")
    ts = [float(t) for t in positions]
    if any(not 0.0 <= t <= 1.0 for t in ts):
        raise BadInputError("In-between positions must lie between 0 and 1.")
    flows: tuple[np.ndarray, np.ndarray] | None = None
    out: list[np.ndarray] = []
    for t in ts:
        if t == 0.0:
            out.append(first.copy())
        elif t == 1.0:
            out.append(second.copy())
        else:
            if flows is None:
                flows = _flows(first, second)
            out.append(_blend_at(first, second, flows, t))
    return out


def _flows(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(F01, F10) at full frame size in pixels, measured on grey copies no larger than FLOW_MAX_SIDE_PX."""
    cv2 = load_cv2()
    gray_first, gray_second = to_gray(first, FLOW_MAX_SIDE_PX), to_gray(second, FLOW_MAX_SIDE_PX)
    height_px, width_px = first.shape[:2]
    small_h, small_w = gray_first.shape
    scale = np.array([width_px / small_w, height_px / small_h], dtype=np.float32)

    def full_size(flow: np.ndarray) -> np.ndarray:
        if (small_h, small_w) == (height_px, width_px):
            return flow
        return cv2.resize(flow, (width_px, height_px), interpolation=cv2.INTER_LINEAR) * scale

    return full_size(farneback(gray_first, gray_second)), full_size(farneback(gray_second, gray_first))


def _blend_at(first: np.ndarray, second: np.ndarray, flows: tuple[np.ndarray, np.ndarray], t: float) -> np.ndarray:
    cv2 = load_cv2()
    flow_01, flow_10 = flows
    height_px, width_px = first.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width_px, dtype=np.float32), np.arange(height_px, dtype=np.float32))
    from_first = cv2.remap(
        first, grid_x + t * flow_10[..., 0], grid_y + t * flow_10[..., 1],
        interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE,
    )  # fmt: skip
    from_second = cv2.remap(
        second, grid_x + (1.0 - t) * flow_01[..., 0], grid_y + (1.0 - t) * flow_01[..., 1],
        interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE,
    )  # fmt: skip
    blend = (1.0 - t) * from_first.astype(np.float32) + t * from_second.astype(np.float32)
    return np.clip(np.rint(blend), 0, 255).astype(np.uint8)


def zoom_pulse(rgb: np.ndarray, amount: float, max_zoom: float = 0.04) -> np.ndarray:
    """A brief punch-in on a strong onset: the frame scaled about its centre by 1 + max_zoom * amount.

    amount is the pulse strength in [0, 1] (`PlannedFrame.pulse`); 0 returns an unchanged copy. The
    edges are filled by reflection, which a zoom-in barely needs.
    """
    frame = check_rgb_frame(rgb)
    if not 0.0 <= amount <= 1.0:
        raise BadInputError(f"A pulse strength must be between 0 and 1, got {amount}.")
    if amount == 0.0 or max_zoom == 0.0:
        return frame.copy()
    cv2 = load_cv2()
    height_px, width_px = frame.shape[:2]
    scale = 1.0 + max_zoom * amount
    centre_x, centre_y = (width_px - 1) / 2.0, (height_px - 1) / 2.0
    matrix = np.array(
        [[scale, 0.0, (1.0 - scale) * centre_x], [0.0, scale, (1.0 - scale) * centre_y]], dtype=np.float64
    )
    return cv2.warpAffine(frame, matrix, (width_px, height_px), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
