"""Replaying a logged run exactly, as a job: the History's "Replay exactly" and the queue can run it off-thread.

The checks a replay needs (its narration and music still there and unchanged) read whole files, so they run
in the job, not in the front end that asks for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hear2see_desktop.core.jobs import CancelledFn, ProgressFn
from hear2see_desktop.core.render.events import NO_EVENTS, RenderEvents
from hear2see_desktop.core.render_job import RenderJob, RenderResult
from hear2see_desktop.core.render_request import replay_request
from hear2see_desktop.core.run_record import RunRecord


class ReplayJob:
    """Render the run logged as `record` (a run log record) again into `out_path`, its images into `frames_dir`."""

    def __init__(self, record: dict[str, Any], out_path: Path, runs_log: Path | None = None,
                 frames_dir: Path | None = None, events: RenderEvents = NO_EVENTS) -> None:
        self.record = record
        self.out_path = out_path
        self.runs_log = runs_log
        self.frames_dir = frames_dir
        self.events = events

    def run(self, progress: ProgressFn, cancelled: CancelledFn) -> RenderResult:
        progress(0, 1, "Checking the narration", None)
        request = replay_request(RunRecord.from_dict(self.record), self.out_path, self.runs_log)
        request.frames_dir = self.frames_dir
        return RenderJob(request, self.events).run(progress, cancelled)


__all__ = ["ReplayJob"]
