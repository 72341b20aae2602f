"""How many frames a narration needs at a frame rate, and which picture each frame shows.

Plain arithmetic that the frame planner, the classic renderer and the video writer all share, kept
apart from the ffmpeg code in `video` so planning a clip does not import an encoder.
"""

from __future__ import annotations

import math


def frame_count(duration_s: float, fps: float) -> int:
    """Frames in a clip of `duration_s` at `fps`: duration*fps rounded half up, at least 1.

    Half up (not Python's banker's `round`) so 2.5 frames is always 3; a tiny epsilon absorbs
    float noise such as 0.1 * 30 = 3.0000000000000004.
    """
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return max(1, math.floor(max(0.0, duration_s) * fps + 0.5 + 1e-9))


def frame_schedule(duration_s: float, fps: float, n_images: int) -> list[int]:
    """For each of the `frame_count(duration_s, fps)` output frames, the image index it shows.

    Images are held evenly and in order: frame i shows image floor(i * n_images / n_frames), so
    every image is held for floor or ceil of n_frames / n_images frames, the first frame shows image 0
    and, when there are at least as many frames as images, every image appears and the last frame
    shows image n_images - 1. With more images than frames, evenly spaced images are shown.
    """
    if n_images < 1:
        raise ValueError(f"n_images must be at least 1, got {n_images}")
    n_frames = frame_count(duration_s, fps)
    return [i * n_images // n_frames for i in range(n_frames)]
