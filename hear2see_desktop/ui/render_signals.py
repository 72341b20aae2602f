"""A render's typed events (core/render/events.py) as Qt signals, so the window hears them on its own thread.

Made before the render job, whose listener it is from construction (`events()`); the job calls it from the
worker's thread, and the signals reach the window queued. Pictures become QImages here, in that thread, so
the window's thread never converts an array.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QObject, Signal

from hear2see_desktop.core.render.events import DenoiseStep, RenderEvents
from hear2see_desktop.ui.images import rgb_to_qimage


class RenderSignals(QObject):
    """`plan_ready`, `step_ready` and `frame_ready` of one render."""

    plan_ready = Signal(list)  # start time (s) of each distinct image or keyframe, before rendering
    step_ready = Signal(object, object)  # image or keyframe index (None: in-betweens), QImage preview or None
    frame_ready = Signal(int, float, object)  # image index, time in the clip (s), QImage

    def __init__(self, preview_interval_s: float = 0.0) -> None:
        super().__init__()
        self.preview_interval_s = preview_interval_s
        self._last_preview = 0.0

    def events(self) -> RenderEvents:
        """The render job's listener: each event becomes one of these signals."""
        return RenderEvents(plan=self._plan, step=self._step, image=self._image)

    def _plan(self, times_s: list[float]) -> None:
        self.plan_ready.emit([float(t) for t in times_s])

    def _step(self, step: DenoiseStep) -> None:
        image = None
        if step.preview is not None:
            now = time.monotonic()
            if now - self._last_preview >= self.preview_interval_s:
                self._last_preview = now
                image = rgb_to_qimage(step.preview)
        self.step_ready.emit(step.image, image)

    def _image(self, index: int, time_s: float, rgb: np.ndarray) -> None:
        self.frame_ready.emit(index, float(time_s), rgb_to_qimage(rgb))
