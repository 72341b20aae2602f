"""Temporal flicker: how much consecutive frames differ once real motion is compensated.

Frame-by-frame SD renders flicker (texture and colour jumps) even when the scene barely moves; the
plain frame difference cannot tell that from motion. Warping the previous frame onto the current one
with Farnebäck flow removes the motion, so what is left (`warped_mad`) is the flicker.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from hear2see_desktop.core.analysis.optical_flow import FARNEBACK, check_rgb_frame, load_cv2
from hear2see_desktop.core.errors import BadInputError


@dataclass(frozen=True)
class FlickerResult:
    """Mean absolute differences in 0..255 units, averaged over all consecutive pairs and RGB channels.

    warped_mad: after warping the previous frame by the flow (lower = steadier); 0.0 with < 2 frames.
    plain_mad: the raw difference, for reference (motion plus flicker).
    pairs: how many consecutive pairs were measured.
    """

    warped_mad: float
    plain_mad: float
    pairs: int


def warp_previous(prev: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`prev` resampled onto `cur`'s pixel grid, and a mask of pixels whose source lies inside `prev`.

    Backward warping: flow is computed from `cur` to `prev`, so pixel p of `cur` reads `prev` at
    p + flow(p) with bilinear `cv2.remap`; pixels that would read outside `prev` (content entering
    the frame) are masked out instead of being counted as flicker.
    """
    cv2 = load_cv2()
    prev_gray = cv2.cvtColor(prev, cv2.COLOR_RGB2GRAY)
    cur_gray = cv2.cvtColor(cur, cv2.COLOR_RGB2GRAY)
    flow = cv2.calcOpticalFlowFarneback(cur_gray, prev_gray, None, **FARNEBACK)
    h, w = cur_gray.shape
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    map_x = grid_x + flow[..., 0]
    map_y = grid_y + flow[..., 1]
    warped = cv2.remap(prev, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    inside = (map_x >= 0) & (map_x <= w - 1) & (map_y >= 0) & (map_y <= h - 1)
    return warped, inside


def flicker(frames: Iterable[np.ndarray]) -> FlickerResult:
    """Motion-compensated and plain mean absolute frame differences over a clip (frames: HxWx3 uint8 RGB).

    Frames stream one at a time, so `read_frames(path)` can be passed directly; full resolution is
    used because flicker lives in fine texture.
    """
    warped_sum = plain_sum = 0.0
    pairs = 0
    prev: np.ndarray | None = None
    for frame in frames:
        cur = check_rgb_frame(frame)
        if prev is not None:
            if prev.shape != cur.shape:
                raise BadInputError(f"All frames must have one size; got {prev.shape} then {cur.shape}.")
            pairs += 1
            if np.array_equal(prev, cur):
                # Nothing changed: skip the flow, whose sub-pixel noise would resample a non-zero residue.
                prev = cur
                continue
            cur_f = cur.astype(np.float32)
            plain_sum += float(np.abs(cur_f - prev.astype(np.float32)).mean())
            warped, inside = warp_previous(prev, cur)
            diff = np.abs(cur_f - warped.astype(np.float32))[inside]
            warped_sum += float(diff.mean()) if diff.size else 0.0
        prev = cur
    if pairs == 0:
        return FlickerResult(warped_mad=0.0, plain_mad=0.0, pairs=0)
    return FlickerResult(warped_mad=warped_sum / pairs, plain_mad=plain_sum / pairs, pairs=pairs)
