"""The window's running tasks by name: what keeps the user's actions waiting and reports failures as dialogs."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from hear2see_desktop.core.errors import ModelMissingError
from hear2see_desktop.ui.job_worker import JobWorker

FAILURE_TITLES = {"render": "Render failed", "transcribe": "Transcription failed", "load": "Cannot open audio",
                  "export": "Export failed", "save": "Cannot save", "open": "Cannot open project"}
"""The error dialog's title for a failed task, by the task's name."""


def failure_title(name: str, error: BaseException | None) -> str:
    """The error dialog's title when the task `name` failed with `error`: a missing model asks for one."""
    if isinstance(error, ModelMissingError):
        return "Model needed"
    return FAILURE_TITLES.get(name, "Something went wrong")


class WorkerPool(QObject):
    """Holds each worker under its name until it ends (a name is busy while its worker runs)."""

    changed = Signal()  # a worker started or ended: the window updates what can be clicked
    failed = Signal(str, str, str)  # the worker's name, the dialog's title, the sentence for the user

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workers: dict[str, JobWorker] = {}

    def run(self, name: str, worker: JobWorker) -> JobWorker:
        """Start a worker under `name`; a failure is reported through `failed`."""
        self.workers[name] = worker
        worker.failed.connect(self._on_failed)
        worker.finished.connect(self._on_done)
        worker.failed.connect(self._on_done)
        worker.cancelled.connect(self._on_done)
        worker.start()
        self.changed.emit()
        return worker

    def track(self, name: str, worker: JobWorker) -> JobWorker:
        """Start a worker under `name` whose failure its own slots show (not as a dialog)."""
        self.workers[name] = worker
        for signal in (worker.finished, worker.failed, worker.cancelled):
            signal.connect(self._on_done)
        worker.start()
        return worker

    def cancel_all(self) -> None:
        for worker in self.workers.values():
            worker.cancel()

    def _on_done(self, *_args: object) -> None:
        sender = self.sender()
        for name, worker in list(self.workers.items()):
            if worker is sender:
                del self.workers[name]
        self.changed.emit()

    def _on_failed(self, message: str) -> None:
        sender = self.sender()
        name = next((n for n, w in self.workers.items() if w is sender), "task")
        error = sender.error if isinstance(sender, JobWorker) else None
        self.failed.emit(name, failure_title(name, error), message)


__all__ = ["FAILURE_TITLES", "WorkerPool", "failure_title"]
