"""What a render tells its listener besides the job protocol's progress text: typed events.

The job protocol's `progress(done, total, message, preview)` is for a progress bar and a status line. A
timeline needs more, and as data, not as text to parse: where each distinct image (classic) or keyframe
(smooth, fast) will show, which of them a denoising step belongs to, and each finished picture.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class DenoiseStep:
    """One denoising step: of distinct image or keyframe `image` (0-based), or of in-betweens (`image` None)."""

    image: int | None
    step: int  # 1-based
    steps: int
    preview: np.ndarray | None  # RGB uint8 of the latents so far, when the step made one


PlanFn = Callable[[list[float]], None]
StepFn = Callable[[DenoiseStep], None]
FinishedFn = Callable[[int, float, np.ndarray], None]


def _ignore(*_args: object) -> None:
    """No listener for this event."""


@dataclass(frozen=True)
class RenderEvents:
    """The listener of one render: each field hears one kind of event (all optional).

    - `plan(times_s)`: before rendering starts, where each distinct image or keyframe will show (s);
    - `step(DenoiseStep)`: after each denoising step, in the worker's thread;
    - `image(index, time_s, rgb)`: each distinct image or keyframe when it is finished (or found cached).
    """

    plan: PlanFn = field(default=_ignore)
    step: StepFn = field(default=_ignore)
    image: FinishedFn = field(default=_ignore)


NO_EVENTS = RenderEvents()
