"""The numbers a render was measured at, kept in the run log so the History shows them with the run.

The window measures every finished render (the eval job); `LoggedEvalJob` then appends the headline
numbers to the run log as a "metrics" event of the run that made the video (found by the video's SHA-256),
so they are read back from the one log, never from a second store.
"""

from __future__ import annotations

from pathlib import Path

from hear2see_desktop.core import paths
from hear2see_desktop.core.eval_job import EvalJob
from hear2see_desktop.core.eval_result import EvalResult
from hear2see_desktop.core.jobs import CancelledFn, ProgressFn
from hear2see_desktop.core.runlog import append_event


def metrics_summary(result: EvalResult) -> dict[str, float | None]:
    """The headline numbers of an evaluation (keys: METRIC_NAMES); None where a metric had nothing to measure or
    no model."""
    return {
        "av_align": result.av_align.score,
        "av_align_one_to_one": result.av_align.one_to_one.score,
        "clipsim": result.clipsim.score if result.clipsim is not None else None,
        "scene_following": result.scene_following.accuracy if result.scene_following is not None else None,
        "flicker": result.flicker.warped_mad,
    }


class LoggedEvalJob:
    """The eval job, then its summary appended to the run log for the run that made the video (if logged)."""

    def __init__(self, job: EvalJob, runs_log: Path | None = None) -> None:
        self.job = job
        self.runs_log = runs_log or job.runs_log

    def run(self, progress: ProgressFn, cancelled: CancelledFn) -> EvalResult:
        result = self.job.run(progress, cancelled)
        if result.run is not None:
            append_event(self.runs_log or paths.runs_log_path(), "metrics", result.run.id,
                         metrics=metrics_summary(result))
        return result


__all__ = ["LoggedEvalJob", "metrics_summary"]
