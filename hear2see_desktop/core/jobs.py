"""The small protocol every long task follows, so the CLI and the GUI drive them the same way.

A job is `run(progress, cancelled) -> result`. `progress(done, total, message, preview)` reports
work done; `preview` is an optional HxWx3 uint8 RGB array. `cancelled()` is polled often; when it
returns True the job raises `CancelledError` promptly and leaves no partial output behind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

import numpy as np

from hear2see_desktop.core.errors import CancelledError

ProgressFn = Callable[[int, int, str, "np.ndarray | None"], None]
CancelledFn = Callable[[], bool]

ResultT = TypeVar("ResultT", covariant=True)


def no_progress(done: int, total: int, message: str, preview: np.ndarray | None = None) -> None:
    """A progress callback that ignores everything (for callers that do not show progress)."""


def never_cancelled() -> bool:
    """A cancel check for callers that never cancel."""
    return False


class Job(Protocol[ResultT]):
    """One long task: transcribe, render, export, download, train."""

    def run(self, progress: ProgressFn, cancelled: CancelledFn) -> ResultT: ...


def raise_if_cancelled(cancelled: CancelledFn) -> None:
    """Raise `CancelledError` when the user asked to stop."""

    if cancelled():
        raise CancelledError()


class CallJob:
    """Any short blocking call (saving a project, copying a file) as a job, so a GUI can run it off-thread."""

    def __init__(self, call: Callable[[], object], message: str = "Working") -> None:
        self.call = call
        self.message = message

    def run(self, progress: ProgressFn, cancelled: CancelledFn) -> object:
        progress(0, 1, self.message, None)
        result = self.call()
        progress(1, 1, self.message, None)
        return result


class SequenceJob:
    """Several jobs one after another as one job (an export of MP4 + frames + transcript)."""

    def __init__(self, jobs: list[Job[object]]) -> None:
        self.jobs = jobs

    def run(self, progress: ProgressFn, cancelled: CancelledFn) -> list[object]:
        results = []
        for job in self.jobs:
            raise_if_cancelled(cancelled)
            results.append(job.run(progress, cancelled))
        return results
