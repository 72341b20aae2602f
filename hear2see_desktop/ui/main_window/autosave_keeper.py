"""Autosave and crash recovery for the window (core/autosave.py does the writing, always in a worker)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QTimer

from hear2see_desktop.core import autosave
from hear2see_desktop.core.housekeeping import sweep_app_folders
from hear2see_desktop.core.jobs import CallJob
from hear2see_desktop.ui.job_worker import JobWorker
from hear2see_desktop.ui.main_window.host import Part, WindowHost

log = logging.getLogger(__name__)

AUTOSAVE_DELAY_MS = 5000
"""Autosave this long after the last change, so typing a prompt does not write on every key."""
RECOVER_QUESTION = "Recover the work from the last session?"


class AutosaveKeeper(Part):
    """Keeps a copy of changed work in this window's autosave slot, and offers the last session's at start-up."""

    def __init__(self, window: WindowHost) -> None:
        super().__init__(window)
        self.unsaved_changes = False  # changed since the last autosave or save
        self.worker: JobWorker | None = None  # one autosave job at a time, in order
        self.queued: tuple[Callable[[], object], str] | None = None
        self.sweep_worker: JobWorker | None = None
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(AUTOSAVE_DELAY_MS)
        self.timer.timeout.connect(self.autosave_now)
        # This window's own autosave slot; a few small files, fine on the UI thread.
        self.session = autosave.start_session()

    def offer_recovery_later(self) -> None:
        recovery = self.session.recovery
        if recovery is not None:
            QTimer.singleShot(0, lambda: self._offer_recovery(recovery))

    def mark_changed(self, *_args: object) -> None:
        """The work changed: autosave it once the user pauses (AUTOSAVE_DELAY_MS after the last change)."""
        self.unsaved_changes = True
        self.window.save_guard.changed = True
        self.timer.start()

    def keep_now(self) -> None:
        """Autosave the work as it stands, changed or not (before a render, the riskiest moment)."""
        self.unsaved_changes = True
        self.autosave_now()

    def up_to_date(self) -> None:
        """The autosave already holds exactly this work."""
        self.unsaved_changes = False
        self.timer.stop()

    def not_needed(self) -> None:
        """The work is in a project file or was dropped: remove the autosave."""
        self.up_to_date()
        self._in_order(self.session.discard, "Removing the autosave")

    def autosave_now(self) -> None:
        """Write the work to the autosave in a worker, if there is a narration and something changed."""
        self.timer.stop()
        window = self.window
        if window.work.audio_path is None or window.recorder is not None or not self.unsaved_changes:
            return
        self.unsaved_changes = False
        project = window.project()  # built here: the worker must not read widgets
        audio_source = window.work.audio_path
        frames = dict(window.work.frame_pngs)
        project_path = window.work.project_path
        saved = datetime.now().isoformat(timespec="seconds")
        session = self.session
        self._in_order(lambda: session.write(project, audio_source, frames, project_path, saved), "Autosaving")

    def _in_order(self, call: Callable[[], object], message: str) -> None:
        """Run autosave jobs one after another; while one runs, only the latest request waits."""
        if self.worker is not None:
            self.queued = (call, message)
            return
        # Not in the window's workers: an autosave neither blocks the user's actions nor shows a dialog.
        worker = JobWorker(CallJob(call, message), "autosave")
        worker.finished.connect(self._on_done)
        worker.cancelled.connect(self._on_done)
        worker.failed.connect(self._on_failed)
        self.worker = worker
        worker.start()

    def _on_done(self, *_args: object) -> None:
        self.worker = None
        queued, self.queued = self.queued, None
        if queued is not None:
            self._in_order(*queued)

    def _on_failed(self, message: str) -> None:
        log.warning("autosave failed: %s", message)
        self.window.statusBar().showMessage(f"Autosave failed: {message}")
        self._on_done()

    def _offer_recovery(self, recovery: autosave.Recovery) -> None:
        """At start-up, after a session that did not close cleanly: load its autosave, or drop it."""
        window = self.window
        when = f" (autosaved {recovery.saved.replace('T', ' ')})" if recovery.saved else ""
        more = (f" {recovery.waiting} more window{'s' if recovery.waiting != 1 else ''} left work too; this is the "
                "newest, and the others are offered the next times HEAR2SEE starts.") if recovery.waiting else ""
        if window.confirm(window, RECOVER_QUESTION,
                          f"HEAR2SEE did not close properly last time. Recover the work from the last session{when}? "
                          f"If you answer No, the autosave is deleted.{more}"):
            window.open_project(recovery.path, recovery=recovery)
        else:
            self._in_order(self.session.discard, "Removing the autosave")

    def sweep_part_files(self) -> None:
        """Remove the hidden part files that killed renders and saves left in the app's folders, in a worker."""

        # Not in the window's workers: it neither blocks the user's actions nor shows a dialog.
        worker = JobWorker(CallJob(sweep_app_folders, "Tidying up"), "sweep")
        for signal in (worker.finished, worker.failed, worker.cancelled):
            signal.connect(self._on_swept)
        self.sweep_worker = worker
        worker.start()

    def _on_swept(self, *_args: object) -> None:
        self.sweep_worker = None

    def stop(self) -> list[object]:
        """The window closes: nothing more is queued; the threads still writing, to wait for."""
        self.queued = None
        workers = [w for w in (self.worker, self.sweep_worker) if w is not None]
        return [w.thread for w in workers]


__all__ = ["AUTOSAVE_DELAY_MS", "RECOVER_QUESTION", "AutosaveKeeper"]
