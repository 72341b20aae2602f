"""Runs one core job (transcribe, render, export) on a QThread and turns its callbacks into signals.

The job protocol (core/jobs.py) calls `progress(done, total, message, preview)` and polls
`cancelled()`. Here the preview (a numpy RGB array) becomes a QImage in the worker thread, so the
UI thread only receives plain data and never touches a model, a tensor or a file decoder.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot

from hear2see_desktop.core.errors import CancelledError, Hear2SeeError
from hear2see_desktop.core.jobs import Job
from hear2see_desktop.ui.fix_words import sentence
from hear2see_desktop.ui.images import rgb_to_qimage

log = logging.getLogger(__name__)


class JobWorker(QObject):
    """One job on its own thread: `start()`, then `progress`/`preview_ready`/... until it ends."""

    progress = Signal("qint64", "qint64", str)  # done, total, message (64-bit: a download counts bytes)
    preview_ready = Signal(object)  # QImage of the latent being denoised
    finished = Signal(object)  # the job's result
    failed = Signal(str)  # one sentence for a dialog
    cancelled = Signal()

    def __init__(self, job: Job[Any], name: str = "job", preview_interval_s: float | None = 0.0) -> None:
        """`preview_interval_s`: the least time between two `preview_ready`; None: no previews (a render's
        come with its typed events, see render_signals.py)."""
        super().__init__()
        self.job = job
        self.name = name
        self.preview_interval_s = preview_interval_s
        self._cancel = threading.Event()
        self.error: BaseException | None = None  # what ended the job, once `failed` is emitted
        self._last_preview = 0.0
        self.thread: QThread | None = None

    # --- called from the UI thread ---------------------------------------------------------
    def start(self) -> QThread:
        """Move to a fresh QThread and run there; the thread quits and is cleaned up by itself."""
        # Owned by the application, not by this Python object: a QThread destroyed while still running
        # aborts the process, and the worker may be dropped the moment its last signal is handled.
        thread = QThread(QCoreApplication.instance())
        thread.setObjectName(f"hear2see-{self.name}")
        self.moveToThread(thread)
        thread.started.connect(self._run)
        for signal in (self.finished, self.failed, self.cancelled):
            # Direct: quit() is thread-safe, so the thread ends even while the UI's event loop is busy.
            signal.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.finished.connect(thread.deleteLater)
        self.thread = thread
        thread.start()
        return thread

    def cancel(self) -> None:
        """Ask the job to stop; it does within one step and emits `cancelled`."""
        self._cancel.set()

    def is_running(self) -> bool:
        return self.thread is not None and self.thread.isRunning()

    # --- runs in the worker thread -----------------------------------------------------------
    def is_cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def report(self, done: int, total: int, message: str, preview: np.ndarray | None = None) -> None:
        """The job's progress callback."""
        self.progress.emit(int(done), int(total), message)
        if preview is not None and self.preview_interval_s is not None:
            now = time.monotonic()
            if now - self._last_preview >= self.preview_interval_s:
                self._last_preview = now
                self.preview_ready.emit(rgb_to_qimage(preview))

    @Slot()
    def _run(self) -> None:
        try:
            result = self.job.run(self.report, self.is_cancel_requested)
        except CancelledError:
            self.cancelled.emit()
        except Hear2SeeError as error:
            log.info("%s failed: %s", self.name, error, exc_info=True)
            self.error = error
            self.failed.emit(sentence(error))
        except Exception as error:  # a bug: the user gets a sentence, the log gets the traceback
            log.exception("%s failed unexpectedly", self.name)
            self.error = error
            self.failed.emit(f"Something went wrong ({type(error).__name__}: {error}); details are in the log file.")
        else:
            self.finished.emit(result)
