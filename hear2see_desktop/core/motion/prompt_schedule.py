"""Animate mode's prompt travel: the storyboard's scenes as a frame-indexed prompt schedule for FreeNoise.

diffusers' FreeNoise takes `prompt={frame: text}` and gives every frame the linear blend of the text
embeddings of the keys around it, so one continuous clip changes subject where the keys say. Each scene's
prompt takes over at its start, and the change is centred on the cut as the smooth and fast modes centre
their dissolves (core/motion/plan.py): the previous prompt holds until half a transition before the scene's
first frame and the new one is whole half a transition after it. A transition of 0 is a cut: the scene's
first frame is the first with its prompt. A transition of None ('whole') puts one key on each scene start,
so the prompt travels over the whole previous scene.

With audio reactivity, `paced_travel` replaces FreeNoise's even blend across each change: the blend advances
with the narration's emphasis (core/motion/reactive.py, as smooth and fast pace their dissolves), so the new
subject arrives on stressed words and the travel waits through pauses.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hear2see_desktop.core.errors import BadInputError

TravelFn = Callable[[int, int, Any, Any], Any]
"""FreeNoise's prompt interpolation callback: (start frame, end frame, start embedding, end embedding) -> the
embeddings of frames start..end inclusive, stacked on the first axis."""


@dataclass(frozen=True)
class ScheduledScene:
    """One scene as the schedule needs it: where it starts (s) and what it shows."""

    start_s: float
    prompt: str
    negative: str


@dataclass(frozen=True)
class PromptSchedule:
    """FreeNoise's `prompt` and `negative_prompt` dicts (frame -> text, frame 0 first), and the frame each
    scene starts on (its prompt is whole there when the transition is 0)."""

    prompts: dict[int, str]
    negatives: dict[int, str]
    scene_frames: list[int]


def scene_start_frame(start_s: float, fps: float, frames: int) -> int:
    """The frame (of `frames` at `fps`) a scene starting at `start_s` starts on: its start rounded half up."""
    return min(frames - 1, max(0, math.floor(start_s * fps + 0.5 + 1e-9)))


def prompt_schedule(scenes: Sequence[ScheduledScene], fps: float, frames: int,
                    transition_s: float | None) -> PromptSchedule:
    """The schedule of a clip of `frames` frames at `fps` (see the module docstring)."""
    if not scenes:
        raise BadInputError("A prompt schedule needs at least one scene.")
    if frames < 1:
        raise BadInputError(f"A prompt schedule needs at least one frame (got {frames}).")
    starts = [0] + [scene_start_frame(scene.start_s, fps, frames) for scene in scenes[1:]]
    width = None if transition_s is None else round(max(0.0, transition_s) * fps)
    return PromptSchedule(_keys([scene.prompt for scene in scenes], starts, frames, width),
                          _keys([scene.negative for scene in scenes], starts, frames, width), starts)


def _keys(texts: list[str], starts: list[int], frames: int, width: int | None) -> dict[int, str]:
    """Frame -> text keys for one kind of prompt: a hold key and an arrival key around each change."""
    keys = {0: texts[0]}
    last = 0
    for text, previous, start in zip(texts[1:], texts, starts[1:], strict=False):
        if text == previous:
            continue
        if width is None:
            hold, arrive = last, start
        else:
            hold, arrive = start - max(1, math.ceil(width / 2)), start + width // 2
        arrive = min(frames - 1, max(arrive, last + 1 if last + 1 < frames else last))
        if last < hold < arrive:
            keys[hold] = previous
        keys[arrive] = text
        last = arrive
    return keys


def paced_travel(envelope: np.ndarray, reactivity: float) -> TravelFn:
    """FreeNoise's interpolation between two keys, paced by `envelope` (one value in [0, 1] per frame of the
    clip): frame start + i gets the blend `reactive_positions` gives it (t = 0 on the start key, exactly i / n at
    reactivity 0), and the end key its own embedding."""
    from hear2see_desktop.core.motion.reactive import check_reactivity, reactive_positions  # (scipy: not at start-up)

    check_reactivity(reactivity)
    weights = np.asarray(envelope, dtype=np.float64).reshape(-1)

    def blend(start: int, end: int, start_embeds: Any, end_embeds: Any) -> Any:
        if end <= start:
            return start_embeds
        if end > weights.size:
            raise BadInputError(f"The prompt travel reaches frame {end}, past the {weights.size} frames paced.")
        t = np.append(reactive_positions(weights[start:end], reactivity), 1.0)
        alpha = start_embeds.new_tensor(t).reshape(-1, *([1] * (start_embeds.dim() - 1)))
        if bool((start_embeds == end_embeds).all()):  # a held prompt (FreeNoise keys the last frame too): exact
            return start_embeds.expand(len(t), *start_embeds.shape[1:]).clone()
        return (1 - alpha) * start_embeds + alpha * end_embeds

    return blend
