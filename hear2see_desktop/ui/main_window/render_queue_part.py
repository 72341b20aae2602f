"""The render queue in the window: "Add to queue", the Queue panel (a dock), and one worker that runs the
queue, one render at a time, in the background.

One render at a time, by one rule: while the queue runs, Render adds to it (window.start_render); while
a render started with the Render button runs, the queue waits for it to end. A queue kept from the last
session waits for "Resume queue": no heavy work starts by itself on launch. Closing the window with
waiting or running renders asks first; "Quit and keep the queue" stops the running render, which is
waiting again at the next start (its finished images are in the frame cache).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMessageBox, QWidget

from hear2see_desktop.core.render_job import RenderJob, RenderResult
from hear2see_desktop.core.render_queue import ItemStatus, QueueItem, QueueJob, QueueStore, RenderQueue
from hear2see_desktop.ui.fix_words import field_words
from hear2see_desktop.ui.job_worker import JobWorker
from hear2see_desktop.ui.main_window.host import Part, WindowHost
from hear2see_desktop.ui.main_window.render_start import checked_settings, request_for
from hear2see_desktop.ui.queue_panel import QueuePanel
from hear2see_desktop.ui.render_queue_signals import RenderQueueSignals
from hear2see_desktop.ui.render_signals import RenderSignals
from hear2see_desktop.ui.wiring import without_arguments

if TYPE_CHECKING:
    from PySide6.QtCore import QThread

    from hear2see_desktop.core.jobs import Job
    from hear2see_desktop.core.settings import RenderSettings

QUIT_TITLE = "Renders in the queue"
KEEP, CANCEL = "Quit and keep the queue", "Cancel"
QueueQuitAsk = Callable[[QWidget, str], str]  # (parent, question) -> KEEP or CANCEL
ACTIVE = (ItemStatus.WAITING, ItemStatus.RUNNING)


def ask_quit_with_queue(parent: QWidget, question: str) -> str:
    """The default way to ask before closing with renders in the queue: quit keeping them, or stay."""
    box = QMessageBox(QMessageBox.Icon.Question, QUIT_TITLE, question, QMessageBox.StandardButton.NoButton, parent)
    keep = box.addButton(KEEP, QMessageBox.ButtonRole.AcceptRole)
    box.addButton(CANCEL, QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(keep)
    box.exec()
    return KEEP if box.clickedButton() is keep else CANCEL


def quit_question(items: list[QueueItem]) -> str:
    """What closing with renders in the queue asks: how many, and what happens to them."""
    waiting = sum(item.status == ItemStatus.WAITING for item in items)
    running = next((item for item in items if item.status == ItemStatus.RUNNING), None)
    parts = []
    if running is not None:
        parts.append(f"{running.label} is rendering now; it stops and waits for next time.")
    if waiting:
        parts.append(f"{waiting} render{'s are' if waiting != 1 else ' is'} waiting in the queue.")
    return " ".join(parts) + "\n\nQuit and keep the queue? It shows again when you next start HEAR2SEE, " \
                             "and runs when you click Resume queue."


class RenderQueuePart(Part):
    """The queue (core/render_queue, kept in the app's data folder), its panel and its worker."""

    def __init__(self, window: WindowHost, ask: QueueQuitAsk | None = None) -> None:
        super().__init__(window)
        self.ask = ask or ask_quit_with_queue
        self.signals = RenderQueueSignals(self)
        self.render_signals = RenderSignals(preview_interval_s=1.0)  # the running render's images, for the panel
        self.queue = RenderQueue(QueueStore(), self.signals.events(), self._job_for)
        self.worker: JobWorker | None = None
        self.paused = self.queue.waiting() > 0  # kept from the last session: waits for Resume queue
        self.panel = QueuePanel()
        self.dock = QDockWidget("Render queue", cast(QWidget, window))
        self.dock.setObjectName("render-queue")
        self.dock.setWidget(self.panel)
        cast(QMainWindow, window).addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.setVisible(bool(self.queue.items()))  # out of the way until something is queued
        self._wire()
        self.panel.show_items(self.queue.items())
        self.panel.set_paused(self.paused)

    def _wire(self) -> None:
        # Bound slots of QObjects living in the window's thread, never lambdas: the queue's events come from
        # the worker's thread, and a lambda would run there.
        self.signals.changed.connect(self._on_changed)
        self.signals.progress.connect(self.panel.show_progress)
        self.signals.item_finished.connect(self._on_item_finished)
        self.render_signals.frame_ready.connect(self._on_frame)
        panel = self.panel
        panel.pause_toggled.connect(self.toggle_pause)
        panel.move_requested.connect(self._move)
        panel.cancel_requested.connect(self._cancel)
        panel.cancel_all_requested.connect(self.cancel_all)
        panel.retry_requested.connect(self._retry)
        panel.remove_finished_requested.connect(self._remove_finished)
        self.window.queue_button.clicked.connect(without_arguments(self.add_current))
        self.window.menu_bar.queue_requested.connect(without_arguments(self.add_current))
        self.window.menu_bar.queue_panel_requested.connect(without_arguments(self.show_panel))

    # --- what the window asks ------------------------------------------------------------------
    def is_running(self) -> bool:
        """The queue's worker is rendering (or stopping its render): a second render must not start."""
        return self.worker is not None

    def add_current(self) -> None:
        """Queue the render the Render button would start now (same checks, same request)."""
        window = self.window
        if window.work.audio_path is None or window.recorder is not None:
            return
        settings = checked_settings(window)
        if settings is not None:
            self.add_with(settings)

    def add_with(self, settings: RenderSettings) -> None:
        """Queue a render of the work as it stands with checked `settings`."""
        window, work = self.window, self.window.work
        window.store.set_render_settings(settings)
        label = work.project_path.stem if work.project_path is not None else \
            work.audio_path.name if work.audio_path is not None else "narration"
        item = self.queue.add(request_for(window, settings), label)
        self.show_panel()
        if self.paused:
            window.statusBar().showMessage(f"Queued {item.label}; the queue is paused: Resume queue runs it.")
        elif "render" in window.workers:
            window.statusBar().showMessage(f"Queued {item.label}; it renders when the current render ends.")
        else:
            window.statusBar().showMessage(f"Queued {item.label} ({self.queue.waiting()} waiting).")

    def show_panel(self) -> None:
        self.dock.show()
        self.dock.raise_()

    def toggle_pause(self) -> None:
        """Pause: the running render stops and stays waiting. Resume: run the waiting renders in order."""
        self.paused = not self.paused
        self.panel.set_paused(self.paused)
        if self.paused and self.worker is not None:
            self.worker.cancel()  # the queue job's cancel pauses: nothing is cancelled
        self.start_when_free()
        self.window.update_actions()

    def cancel_all(self) -> None:
        self.queue.cancel_all()

    def start_when_free(self) -> None:
        """Run the waiting renders, unless paused, already running, or a render from the button is running."""
        window = self.window
        if self.paused or self.worker is not None or "render" in window.workers or not self.queue.waiting():
            return
        worker = JobWorker(QueueJob(self.queue), "render-queue", preview_interval_s=None)
        worker.finished.connect(self._on_worker_done)
        worker.failed.connect(self._on_worker_failed)
        worker.cancelled.connect(self._on_worker_done)
        self.worker = worker
        worker.start()
        window.update_actions()

    def update_actions(self) -> None:
        """Add to queue needs a narration and no recording; while the queue stops its render (Pause), Render
        waits for it, so two renders never share the model."""
        window = self.window
        can_queue = window.work.audio_path is not None and window.recorder is None
        window.queue_button.setEnabled(can_queue)
        window.menu_bar.queue_action.setEnabled(can_queue)
        if self.worker is not None and self.paused:
            window.render_button.setEnabled(False)
            window.menu_bar.render_action.setEnabled(False)

    def may_close(self) -> bool:
        """Whether the window may close: with waiting or running renders, only when the user says so."""
        active = [item for item in self.queue.items() if item.status in ACTIVE]
        if not active:
            return True
        return self.ask(cast(QWidget, self.window), quit_question(active)) == KEEP

    def stop(self) -> list[QThread]:
        """The window is closing: stop the running render (it stays waiting for next time); its thread."""
        if self.worker is None:
            return []
        self.paused = True
        self.worker.cancel()
        return [self.worker.thread] if self.worker.thread is not None else []

    # --- the worker's thread -------------------------------------------------------------------
    def _job_for(self, item: QueueItem) -> Job[RenderResult]:
        """The render job of a queued item, whose finished images reach the panel (called in the worker)."""
        return RenderJob(item.request, self.render_signals.events())

    # --- slots ---------------------------------------------------------------------------------
    def _on_changed(self, items: list[QueueItem]) -> None:
        self.panel.show_items(items)
        self.start_when_free()

    def _on_item_finished(self, item: QueueItem, result: Any) -> None:
        status = self.window.statusBar()
        if item.status == ItemStatus.DONE and result is not None:
            status.showMessage(f"Queue: rendered {item.label} to {result.out_path} (run {item.run_id}).")
        elif item.status == ItemStatus.FAILED:
            status.showMessage(f"Queue: {item.label} failed: {item.sentence(field_words)}")
        elif item.status == ItemStatus.CANCELLED:
            status.showMessage(f"Queue: {item.label} cancelled; nothing was written.")

    def _on_frame(self, _index: int, _time_s: float, image: Any) -> None:
        self.panel.show_image(image)

    def _on_worker_done(self, *_args: object) -> None:
        self.worker = None
        self.window.update_actions()
        self.start_when_free()

    def _on_worker_failed(self, message: str) -> None:
        self._on_worker_done()
        self.window.show_error(self.window, "Render queue stopped", message)

    def _move(self, item_id: str, index: int) -> None:
        try:
            self.queue.move(item_id, index)
        except KeyError:  # gone meanwhile
            pass

    def _cancel(self, item_id: str) -> None:
        try:
            self.queue.cancel(item_id)
        except KeyError:
            pass

    def _retry(self, item_id: str) -> None:
        try:
            self.queue.retry(item_id)
        except KeyError:
            pass

    def _remove_finished(self) -> None:
        self.queue.clear_finished()


__all__ = ["CANCEL", "KEEP", "QUIT_TITLE", "RenderQueuePart", "ask_quit_with_queue", "quit_question"]
