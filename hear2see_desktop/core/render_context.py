"""What the stages of one render share once the model is loaded, and who hears each finished image.

The render context replaces a dozen parameters passed from stage to stage: the request and its final
settings, the narration, the loaded pipeline with its decoders and memory ladder, the frame cache and the
identity its keys start from, the job protocol's callbacks, the video writer's `write`, and `finished`,
the subscribers of each finished distinct image or keyframe (the frame PNGs, the pickers' thumbnails, the
listener's `RenderEvents.image`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hear2see_desktop.core import paths
from hear2see_desktop.core.atomic import through_part
from hear2see_desktop.core.jobs import CancelledFn, ProgressFn
from hear2see_desktop.core.render.events import RenderEvents
from hear2see_desktop.core.settings import RenderSettings

if TYPE_CHECKING:
    from hear2see_desktop.core.audio import Audio
    from hear2see_desktop.core.render.frame_cache import FrameCache
    from hear2see_desktop.core.render.memory_ladder import MemoryLadder
    from hear2see_desktop.core.render.pipeline_cache import LoadedPipeline
    from hear2see_desktop.core.render.taesd import Decoders
    from hear2see_desktop.core.render_request import RenderRequest

FinishedFn = Callable[[int, float, np.ndarray], None]
WriteFn = Callable[[int, np.ndarray], None]


@dataclass
class RenderContext:
    """One render's shared state after the model load (see the module docstring)."""

    request: RenderRequest
    settings: RenderSettings
    audio: Audio
    loaded: LoadedPipeline
    decoders: Decoders
    ladder: MemoryLadder
    cache: FrameCache
    identity: dict[str, Any]  # what the frame cache's keys start from: model, LoRAs, device, decoder
    events: RenderEvents
    progress: ProgressFn
    cancelled: CancelledFn
    write: WriteFn  # the next output frame into the video
    subscribers: list[FinishedFn] = field(default_factory=list)

    def finished(self, index: int, time_s: float, rgb: np.ndarray) -> None:
        """A finished distinct image or keyframe: every subscriber hears it, in order."""
        for subscriber in self.subscribers:
            subscriber(index, time_s, rgb)


def save_png(rgb: Any, path: Path) -> None:
    """Write one image as PNG through a temp name, so a crash never leaves a half PNG."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    with through_part(path, keep_suffix=True) as part:
        Image.fromarray(rgb).save(part, format="PNG")


def frame_pngs(folder: Path) -> FinishedFn:
    """A subscriber that keeps each finished image as frame_0001.png ... in `folder`."""

    def keep(index: int, _time_s: float, rgb: np.ndarray) -> None:
        save_png(rgb, folder / paths.frame_file_name(index))

    return keep


def first_picture_thumbnails(files: list[str]) -> FinishedFn:
    """A subscriber that gives the model and LoRA `files` their pickers' thumbnail from the first picture."""
    waiting = list(files)

    def show(_index: int, _time_s: float, rgb: np.ndarray) -> None:
        if waiting:
            from hear2see_desktop.core.models.thumbnails import save_thumbnail

            for path in waiting:
                save_thumbnail(path, rgb)
            waiting.clear()

    return show
