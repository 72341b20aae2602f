"""AV-Align (TempoTokens, Yariv et al. 2024, eq. 9): do audio onsets and visual-motion peaks coincide?

Audio events are spectral-flux onsets (`onsets.onset_times`); video events are peaks of the mean
Farnebäck optical-flow magnitude between consecutive frames. The score is the IoU of the two event
sets under a +-1 frame tolerance. It measures timing only, not meaning: a clip whose motion jumps on
every word scores high even if the pictures are wrong, so read it next to CLIPSIM.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hear2see_desktop.core.audio import Audio
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.metrics.onsets import DELTA, normalise, onset_times, pick_peaks

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
MAX_SIDE = 256
"""Frames are downscaled so the longer side is at most this many pixels: 512 px SD frames cost 4x less."""
MIN_FLOW_PX = 0.05
"""Mean flow (pixels at the analysis size) a video peak must exceed; keeps encoder noise on a still from counting."""
VIDEO_PEAK = {"pre_max": 1, "post_max": 1, "pre_avg": 2, "post_avg": 2, "wait": 1}
"""Video peak picking in frames: a strict local max over +-1 frame, local mean over +-2 frames, 1 frame apart."""


@dataclass(frozen=True)
class AvAlignResult:
    """The score and the events behind it, so a UI can draw them on a timeline.

    score: IoU in [0, 1]; None when neither modality has an event (the metric is undefined).
    audio_peaks_s / video_peaks_s: all detected event times in seconds, ascending.
    matched_audio / matched_video: the matched pairs, element i of one matched to element i of the other.
    note: one sentence on how to read the score ("no events", "no audio onsets", ...); empty when normal.
    """

    score: float | None
    audio_peaks_s: tuple[float, ...]
    video_peaks_s: tuple[float, ...]
    matched_audio: tuple[float, ...]
    matched_video: tuple[float, ...]
    note: str


def load_cv2() -> Any:
    """Import OpenCV lazily so the rest of core (and the CLI) loads without it."""
    try:
        import cv2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise BadInputError(
            "The video metrics need OpenCV; install it with `pip install opencv-python-headless`."
        ) from exc
    return cv2


def to_gray(frame: np.ndarray, max_side: int | None = MAX_SIDE) -> np.ndarray:
    """RGB (or gray) uint8 frame -> gray uint8, downscaled with INTER_AREA so its longer side is <= max_side."""
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


def flow_trajectory(frames: Iterable[np.ndarray], max_side: int | None = MAX_SIDE) -> np.ndarray:
    """Mean flow magnitude per frame: entry i (i >= 1) is the motion from frame i-1 to frame i.

    Entry 0 repeats entry 1 (as the reference does) so a clip that starts moving has no fake step at
    frame 1. Frames are consumed one at a time, so an iterator from `read_frames` never sits in memory.
    """
    values: list[float] = []
    prev: np.ndarray | None = None
    for frame in frames:
        gray = to_gray(frame, max_side)
        if prev is not None:
            flow = farneback(prev, gray)
            values.append(float(np.hypot(flow[..., 0], flow[..., 1]).mean()))
        prev = gray
    if not values:
        return np.zeros(0 if prev is None else 1)
    return np.asarray([values[0], *values], dtype=np.float64)


def video_peaks(
    trajectory: np.ndarray, fps: float, delta: float = DELTA, min_flow_px: float = MIN_FLOW_PX
) -> np.ndarray:
    """Times (s) of motion events: `pick_peaks` on the normalised trajectory with `VIDEO_PEAK`, frame i at i / fps.

    Peaks whose raw mean flow is below `min_flow_px` are dropped, so a still image gives no events
    even though normalising would blow its sub-pixel noise up to 1.
    """
    traj = np.asarray(trajectory, dtype=np.float64)
    idx = pick_peaks(normalise(traj), delta=delta, **VIDEO_PEAK)
    idx = idx[traj[idx] > min_flow_px] if idx.size else idx
    return idx.astype(np.float64) / fps


def match_events(a: np.ndarray, b: np.ndarray, tolerance_s: float) -> list[tuple[float, float]]:
    """Largest one-to-one matching of two sorted time lists with |a - b| <= tolerance_s.

    A two-pointer sweep over both sorted lists is optimal for this 1-D interval problem: the earliest
    unmatched event can only lose by skipping its earliest reachable partner.
    """
    pairs: list[tuple[float, float]] = []
    i = j = 0
    eps = 1e-9
    while i < len(a) and j < len(b):
        if abs(a[i] - b[j]) <= tolerance_s + eps:
            pairs.append((float(a[i]), float(b[j])))
            i += 1
            j += 1
        elif a[i] < b[j]:
            i += 1
        else:
            j += 1
    return pairs


def av_align_score(n_audio: int, n_video: int, n_matched: int) -> float | None:
    """IoU of the event sets; None when both are empty.

    score = (matched audio + matched video) / (2 * |A u V|),  |A u V| = |A| + |V| - matched pairs,
    which with one-to-one matching equals matched / (|A| + |V| - matched).
    """
    union = n_audio + n_video - n_matched
    if union <= 0:
        return None
    return (2 * n_matched) / (2 * union)


def av_align(
    audio: Audio,
    frames: Iterable[np.ndarray],
    fps: float,
    window_frames: int = 1,
    delta: float = DELTA,
    max_side: int | None = MAX_SIDE,
    min_flow_px: float = MIN_FLOW_PX,
) -> AvAlignResult:
    """Score how well motion events in `frames` line up with onsets in `audio` (TempoTokens AV-Align).

    Exact formula (TempoTokens eq. 9, A = audio onset times, V = video peak times):

        AV-Align = ( sum_{a in A} 1[a in V] + sum_{v in V} 1[v in A] ) / ( 2 |A u V| )

    where "a in V" means a is matched to a video peak within +-window_frames / fps seconds (the
    paper's "window of three frames" = the centre frame +-1). We match one-to-one (`match_events`),
    so both sums equal the number of pairs m and |A u V| = |A| + |V| - m, giving m / (|A| + |V| - m)
    in [0, 1]. This is the same value as the authors' released `calc_intersection_over_union`
    (count of audio peaks with a video peak within 1/fps, over |A| + |V| - count) except that their
    count lets two audio peaks share one video peak, and their window is open (< 1/fps) where ours is
    closed (<=). Both sets empty -> score None, note "no events"; exactly one empty -> 0.0.

    Args:
        audio: narration (16 kHz mono from `load_audio`; any rate works).
        frames: HxWx3 uint8 RGB frames (a list or `read_frames(path)`), in display order.
        fps: frame rate of `frames`; frame i is at i / fps seconds.
        window_frames: match tolerance in frames either side (1 = the paper's three-frame window).
        delta: peak-picking margin over the local mean for both modalities (normalised units).
        max_side: downscale frames to this longer side before optical flow; None keeps full size.
        min_flow_px: minimum mean flow (pixels at analysis size) for a video peak.
    """
    if not fps or fps <= 0:
        raise BadInputError(f"AV-Align needs a positive frame rate, got {fps!r}.")
    a_peaks = onset_times(audio.samples, audio.sample_rate_hz, delta=delta)
    v_peaks = video_peaks(flow_trajectory(frames, max_side), fps, delta=delta, min_flow_px=min_flow_px)
    pairs = match_events(a_peaks, v_peaks, window_frames / fps)
    score = av_align_score(len(a_peaks), len(v_peaks), len(pairs))
    if score is None:
        note = "no events"
    elif len(a_peaks) == 0:
        note = "no audio onsets"
    elif len(v_peaks) == 0:
        note = "no motion peaks"
    else:
        note = ""
    return AvAlignResult(
        score=score,
        audio_peaks_s=tuple(float(t) for t in a_peaks),
        video_peaks_s=tuple(float(t) for t in v_peaks),
        matched_audio=tuple(p[0] for p in pairs),
        matched_video=tuple(p[1] for p in pairs),
        note=note,
    )
