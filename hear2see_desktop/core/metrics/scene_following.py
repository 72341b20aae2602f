"""Does the video follow the narration? Per-frame CLIP judgements against the clip's own scene prompts.

CLIPSIM against one text says how well frames match *a* prompt; a narrated clip promises more: each
scene's frames show that scene, and the frames between keyframes stay pictures rather than double
exposures. Given CLIP embeddings of every frame and of every scene prompt:
- prompt fidelity: the mean cosine of each frame with its own scene's prompt;
- scene-following accuracy: the share of frames whose best-matching scene prompt is their own scene's;
- transition keep: for each in-between frame, its own-scene cosine relative to the keyframes around it
  (the nearer keyframe of the same scene, or the two blended by position inside one scene); a double
  exposure keeps little, and a frame unlike its prompt (cosine at or below 0) keeps nothing: a ratio
  of a negative cosine would say less than nothing. Reported as the mean and the worst in-between;
- consecutive similarity: the mean cosine of consecutive frames' image embeddings (steadiness as CLIP
  sees it, next to the pixel-level flicker).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class SceneFollowing:
    frames: int
    scenes: int
    prompt_fidelity: float
    accuracy: float
    per_scene_accuracy: list[float]
    transition_keep: float | None  # None: no in-betweens (every frame is its own picture)
    worst_transition: float | None
    consecutive_similarity: float | None  # None: a single frame


def frame_scenes(scene_starts_s: Sequence[float], frame_count: int, fps: float) -> list[int]:
    """The scene each frame shows: frame i (at i / fps) belongs to the last scene started by then."""
    starts = np.asarray(scene_starts_s, dtype=float)
    times = np.arange(frame_count) / float(fps)
    return [max(0, int(np.searchsorted(starts, t + 1e-9, side="right")) - 1) for t in times]


def keyframe_indices(keyframe_times_s: Sequence[float], fps: float, frame_count: int) -> list[int]:
    """Output frame index of each keyframe (keyframes sit on frame times)."""
    return sorted({min(frame_count - 1, max(0, round(t * fps))) for t in keyframe_times_s})


def keyframe_scenes(scene_starts_s: Sequence[float], keyframes: Sequence[int], fps: float,
                    nearest_starts: bool = False) -> dict[int, int]:
    """The scene each keyframe was rendered for: its frame's scene (the last one started by its time).

    With `nearest_starts` (smooth and fast before plan version 2, which put a scene's first keyframe on the
    frame nearest its start, rounded half up, up to half a frame early) the last one started by the middle
    of its frame: judging that keyframe against the scene before would measure in-betweens against the
    wrong picture."""
    starts = np.asarray(scene_starts_s, dtype=float)
    late = 0.5 if nearest_starts else 0.0
    return {k: max(0, int(np.searchsorted(starts, (k + late) / float(fps) + 1e-9, side="right")) - 1)
            for k in keyframes}


def _keep(sims: np.ndarray, own: list[int], a: int, b: int, i: int, key_scene: dict[int, int]) -> float:
    """In-between i's own-scene cosine over what the keyframes a < i < b reach for that scene."""
    scene = own[i]
    scene_a, scene_b = key_scene.get(a, own[a]), key_scene.get(b, own[b])
    reach_a, reach_b = sims[a, scene_a], sims[b, scene_b]
    if scene_a == scene and scene_b == scene:
        w = (i - a) / (b - a)
        reference = (1 - w) * reach_a + w * reach_b
    elif scene_a == scene:
        reference = reach_a
    elif scene_b == scene:
        reference = reach_b
    else:  # a scene shorter than a keyframe gap: judged against both ends
        reference = 0.5 * (reach_a + reach_b)
    return float(max(sims[i, scene], 0.0) / reference) if reference > 1e-6 else 0.0


def scene_following(image_features: np.ndarray, prompt_features: np.ndarray, own: Sequence[int],
                    keyframes: Sequence[int] | None = None,
                    key_scenes: dict[int, int] | None = None) -> SceneFollowing:
    """The measures above from L2-normalised embeddings: frames (N x D), scene prompts (S x D).

    `own[i]` is frame i's scene; `keyframes` the indices of the rendered keyframes (None or empty
    for a clip whose every frame is rendered on its own, which has no in-betweens); `key_scenes` the
    scene each keyframe shows where that differs from its frame's (`keyframe_scenes`).
    """
    frames = np.asarray(image_features, dtype=np.float64)
    prompts = np.asarray(prompt_features, dtype=np.float64)
    own = [int(s) for s in own]
    if frames.ndim != 2 or prompts.ndim != 2 or len(own) != len(frames) or not len(frames):
        raise ValueError("scene_following needs one scene index per frame embedding and at least one frame.")
    if max(own) >= len(prompts) or min(own) < 0:
        raise ValueError("A frame's scene index is outside the scene prompts given.")
    sims = frames @ prompts.T
    fidelity = float(np.mean(sims[np.arange(len(own)), own]))
    right = np.argmax(sims, axis=1) == np.asarray(own)
    per_scene = [float(np.mean(right[np.asarray(own) == s])) for s in range(len(prompts)) if s in own]
    keeps: list[float] = []
    marks = sorted(set(keyframes or []))
    for a, b in zip(marks, marks[1:], strict=False):
        keeps += [_keep(sims, own, a, b, i, key_scenes or {}) for i in range(a + 1, b)]
    consecutive = (float(np.mean(np.sum(frames[1:] * frames[:-1], axis=1))) if len(frames) > 1 else None)
    return SceneFollowing(frames=len(own), scenes=len(prompts), prompt_fidelity=fidelity,
                          accuracy=float(np.mean(right)), per_scene_accuracy=per_scene,
                          transition_keep=float(np.mean(keeps)) if keeps else None,
                          worst_transition=float(np.min(keeps)) if keeps else None,
                          consecutive_similarity=consecutive)


def follow_scenes(scorer: Any, frames: Sequence[np.ndarray], fps: float, scenes: Sequence[tuple[float, str]],
                  keyframe_times_s: Sequence[float] | None = None, batch: int = 64,
                  nearest_starts: bool = False) -> SceneFollowing:
    """The measures for decoded frames (RGB uint8) of a clip whose scenes are (start_s, prompt) pairs;
    `nearest_starts` as in `keyframe_scenes`."""
    if not frames:
        raise ValueError("No frames to judge against the scenes.")
    image = np.concatenate([scorer.image_embeddings(list(frames[i:i + batch])).numpy()
                            for i in range(0, len(frames), batch)])
    prompts = np.stack([scorer.text_embedding(prompt)[0].numpy() for _, prompt in scenes])
    starts = [start for start, _ in scenes]
    own = frame_scenes(starts, len(frames), fps)
    keys = keyframe_indices(keyframe_times_s, fps, len(frames)) if keyframe_times_s else None
    return scene_following(image, prompts, own, keys, keyframe_scenes(starts, keys or [], fps, nearest_starts))
