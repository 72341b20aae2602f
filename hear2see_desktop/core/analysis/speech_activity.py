"""Where a narration speaks, from its own short-time energy: what background music ducks under.

The sound itself decides, not the transcript, so every voiced moment counts (words the recogniser
missed, a laugh, a take rendered from a typed prompt without ASR) and the answer depends only on the
file. A 20 ms frame every 10 ms speaks when its RMS is within `RELATIVE_THRESHOLD_DB` of the take's
loud frames and above `FLOOR_DBFS`; pauses shorter than `BRIDGE_S` between spoken frames count as
speech too, so music does not pump up between words.
"""

from __future__ import annotations

import numpy as np

FRAME_S = 0.02
"""Length of the window one frame's energy is measured over."""
HOP_S = 0.01
"""Time between frames: the mask's resolution."""
RELATIVE_THRESHOLD_DB = 30.0
"""A frame speaks when it is at most this far below the take's loud frames (their 95th percentile)."""
FLOOR_DBFS = -50.0
"""...and above this, so the hiss of a quiet room is never speech."""
BRIDGE_S = 0.35
"""Pauses shorter than this between spoken frames (between words, a breath) count as speech."""


def frame_levels_dbfs(samples: np.ndarray, rate_hz: int) -> np.ndarray:
    """RMS in dBFS of the `FRAME_S` window centred on each `HOP_S` step; frame k is at k * hop samples."""
    x = np.asarray(samples, dtype=np.float64)
    hop = max(1, round(HOP_S * rate_hz))
    width = max(1, round(FRAME_S * rate_hz))
    n_frames = len(x) // hop + 1 if len(x) else 0
    squares = np.concatenate([[0.0], np.cumsum(x * x)])
    centres = np.arange(n_frames) * hop
    starts = np.clip(centres - width // 2, 0, len(x))
    ends = np.clip(starts + width, 0, len(x))
    energy = (squares[ends] - squares[starts]) / np.maximum(ends - starts, 1)
    return 10.0 * np.log10(np.maximum(energy, 1e-12))


def speech_frames(samples: np.ndarray, rate_hz: int) -> np.ndarray:
    """One bool per `HOP_S` frame (see `frame_levels_dbfs`): True where the narration speaks."""
    levels = frame_levels_dbfs(samples, rate_hz)
    if levels.size == 0 or not np.any(levels > FLOOR_DBFS):
        return np.zeros(levels.size, dtype=bool)
    loud = float(np.percentile(levels[levels > FLOOR_DBFS], 95))
    speaking = levels > max(FLOOR_DBFS, loud - RELATIVE_THRESHOLD_DB)
    return _bridge_pauses(speaking, round(BRIDGE_S / HOP_S))


def speech_mask(samples: np.ndarray, rate_hz: int) -> np.ndarray:
    """One bool per sample: True where the narration speaks (`speech_frames`, held over each hop)."""
    frames = speech_frames(samples, rate_hz)
    hop = max(1, round(HOP_S * rate_hz))
    index = np.minimum((np.arange(len(samples)) + hop // 2) // hop, max(len(frames) - 1, 0))
    return frames[index] if frames.size else np.zeros(len(samples), dtype=bool)


def speech_level_dbfs(samples: np.ndarray, rate_hz: int) -> float | None:
    """RMS in dBFS over the samples where the narration speaks; None when it never does."""
    mask = speech_mask(samples, rate_hz)
    if not mask.any():
        return None
    spoken = np.asarray(samples, dtype=np.float64)[mask]
    return float(10.0 * np.log10(max(float(np.mean(spoken * spoken)), 1e-12)))


def _bridge_pauses(speaking: np.ndarray, max_gap: int) -> np.ndarray:
    """`speaking` with every run of False shorter than `max_gap` frames between two True frames set True."""
    out = speaking.copy()
    on = np.flatnonzero(speaking)
    if on.size < 2:
        return out
    gaps = np.diff(on) - 1
    for start, gap in zip(on[:-1], gaps, strict=True):
        if 0 < gap < max_gap:
            out[start + 1 : start + 1 + gap] = True
    return out
