"""One render at a time: starting it, its progress and ETA, the pictures it sends, then its metrics and rating."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtWidgets import QMessageBox, QWidget

from hear2see_desktop.core import paths
from hear2see_desktop.core.jobs import CallJob
from hear2see_desktop.core.render_job import RenderJob
from hear2see_desktop.core.runlog import rate_run
from hear2see_desktop.ui.job_worker import JobWorker
from hear2see_desktop.ui.main_window.host import Part, WindowHost
from hear2see_desktop.ui.main_window.render_start import checked_settings, request_for
from hear2see_desktop.ui.render_signals import RenderSignals

if TYPE_CHECKING:
    from hear2see_desktop.core.settings import RenderSettings
    from hear2see_desktop.ui.main_window.render_estimates import Estimates


def format_eta(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


LONG_RENDER_TITLE = "Long render"
DRAFT, ANYWAY, CANCEL = "Render a draft instead", "Render anyway", "Cancel"
LongRenderAsk = Callable[[QWidget, str], str]  # (parent, question) -> DRAFT, ANYWAY or CANCEL


def ask_long_render(parent: QWidget, question: str) -> str:
    """The default way to ask before a long render: a draft, anyway, or not now."""
    box = QMessageBox(QMessageBox.Icon.Question, LONG_RENDER_TITLE, question, QMessageBox.StandardButton.NoButton,
                      parent)
    draft = box.addButton(DRAFT, QMessageBox.ButtonRole.AcceptRole)
    anyway = box.addButton(ANYWAY, QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(CANCEL, QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(draft)
    box.exec()
    clicked = box.clickedButton()
    return DRAFT if clicked is draft else ANYWAY if clicked is anyway else CANCEL


def long_render_question(estimates: Estimates) -> str:
    """What the user is asked before a long render (or animate on a CPU above 256 px), with both estimates."""
    render, draft = estimates.render, estimates.draft
    why = ("Animate above 256 px on a CPU is very slow." if render.animate_on_cpu_too_big
           else "This render is estimated above 30 minutes.")
    return (f"{why}\n\nThese settings: {render.words().replace('About', 'about', 1)}.\n"
            f"A draft ({draft.work.width_px}×{draft.work.height_px}, {draft.work.mode}): "
            f"{draft.words().replace('About', 'about', 1)}.\n\nRender a draft first?")


class RenderSession(Part):
    """Runs the render job for the window and shows what it reports (typed events via RenderSignals)."""

    def __init__(self, window: WindowHost, ask: LongRenderAsk | None = None) -> None:
        super().__init__(window)
        self.ask = ask or ask_long_render
        self.image_times: list[float] = []  # where each image or keyframe of the render shows, in seconds
        self._started = 0.0
        self._first_step: tuple[float, int] | None = None
        self._denoising = False  # the render has begun its first denoising step (the ETA starts)
        self._signals: RenderSignals | None = None
        self._folder: Path | None = None
        self._estimating: RenderSettings | None = None  # what is being estimated before it renders

    def start_render(self) -> None:
        """Check the settings, ask first when the render is long (offering the draft), then start it."""
        window, work = self.window, self.window.work
        if work.audio_path is None or "render" in window.workers or window.recorder is not None:
            return

        settings = checked_settings(window)
        if settings is None:
            return
        estimates = window.estimates.matching(settings)
        job = window.estimates.job_for(settings) if estimates is None else None
        if job is None:
            self._after_estimate(settings, estimates)
            return
        # Under the render's name, so the window is busy with the render (Cancel stops it) from the click on.
        worker = JobWorker(job, "render-estimate")
        # Bound slots of this QObject, never lambdas: a lambda runs in the worker's thread, and the render that
        # follows builds widgets' state, which only the UI thread may touch.
        self._estimating = settings
        worker.finished.connect(self._on_estimated)
        worker.failed.connect(self._on_estimate_failed)
        worker.cancelled.connect(self._on_cancelled)
        window.track_worker("render", worker)

    def _on_estimated(self, found: Estimates) -> None:
        if self._estimating is not None:
            self._after_estimate(self._estimating, found, remember=True)

    def _on_estimate_failed(self, _message: str) -> None:
        if self._estimating is not None:
            self._after_estimate(self._estimating, None)

    def _after_estimate(self, settings: RenderSettings, estimates: Estimates | None, remember: bool = False) -> None:
        """Ask first when the estimate is long (or animate on a CPU above 256 px), then start the render."""
        window = self.window
        if estimates is not None and remember:
            window.estimates.remember(estimates)
        if estimates is not None and (estimates.render.long or estimates.render.animate_on_cpu_too_big):
            answer = self.ask(cast(QWidget, window), long_render_question(estimates))
            if answer == CANCEL:
                window.statusBar().showMessage("Render not started.")
                return
            if answer == DRAFT:  # the draft shows in the form, so what renders is what the user sees
                window.settings_panel.apply_draft()
                settings = window.current_settings()
        self._begin(settings)

    def _begin(self, settings: RenderSettings) -> None:
        window, work = self.window, self.window.work
        if work.audio_path is None:
            return
        if window.render_queue.is_running():  # it started while this one was being estimated: one at a time
            window.render_queue.add_with(settings)
            return
        window.autosave_keep_now()  # a render is the riskiest moment: keep the work as it stands now
        window.store.set_render_settings(settings)
        request = request_for(window, settings)
        folder = request.out_path.parent
        duration = work.audio.duration_s if work.audio is not None else 0.0
        self.image_times = []  # the job says where its images go (`plan_ready`) before rendering
        self._denoising = False
        work.forget_frames()
        window.timeline.clear()
        window.timeline.set_duration(duration)
        signals = RenderSignals()
        signals.plan_ready.connect(self._on_plan)
        signals.step_ready.connect(self._on_step)
        signals.frame_ready.connect(self._on_frame)
        self._signals = signals  # lives as long as the render's worker may emit through it
        worker = JobWorker(RenderJob(request, signals.events()), "render", preview_interval_s=None)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.cancelled.connect(self._on_cancelled)
        self._started = time.monotonic()
        self._first_step = None
        self._folder = folder
        window.progress_bar.setRange(0, 0)
        window.progress_bar.setFormat("Starting…")
        window.statusBar().showMessage("Rendering…")
        window.run_worker("render", worker)

    def _on_plan(self, times_s: list[float]) -> None:
        """Where each distinct image (classic) or keyframe (smooth, fast) of the render will show."""
        self.image_times = list(times_s)

    def _on_progress(self, done: int, total: int, message: str) -> None:
        self.window.show_progress(done, total, message)
        if not self._denoising:  # the time to load and read is no measure of what is left
            return
        now = time.monotonic()
        if self._first_step is None:
            self._first_step = (now, done)
            return
        start, start_done = self._first_step
        if done > start_done:
            eta = (now - start) / (done - start_done) * (total - done)
            self.window.eta_label.setText(f"About {format_eta(eta)} left · {now - self._started:.0f} s so far")

    def _on_step(self, index: int | None, image: Any) -> None:
        """A denoising step of image or keyframe `index` (None: of in-betweens), with its preview or None."""
        self._denoising = True
        if index is None or image is None:
            return
        times = self.image_times
        time_s = times[index] if index < len(times) else (times[-1] if times else 0.0)
        self.window.preview.show_image(image, f"Image {index + 1}, denoising…")
        if not self.window.timeline.has_final(index):
            self.window.timeline.set_frame(index, time_s, image, False)

    def _on_frame(self, index: int, time_s: float, image: Any) -> None:
        assert self._folder is not None
        work = self.window.work
        self.window.timeline.set_frame(index, time_s, image, True)
        self.window.preview.show_image(image, f"Image {index + 1} at {time_s:.1f} s")
        work.frame_pngs[index] = self._folder / paths.RENDER_FRAMES_FOLDER / paths.frame_file_name(index)
        work.frame_times[index] = time_s

    def _on_finished(self, result: Any) -> None:
        window = self.window
        window.work.last_render = {"run_id": result.run_id, "mp4": str(result.out_path)}
        window.eta_label.setText(f"Rendered in {time.monotonic() - self._started:.1f} s · run {result.run_id}")
        window.progress_bar.setFormat("Done")
        window.statusBar().showMessage(f"Rendered {result.out_path.name}; export it with Ctrl+E.")
        window.render_finished.emit(result)
        window.mark_changed()
        self.measure(result.out_path)

    def _on_cancelled(self) -> None:
        window = self.window
        window.progress_bar.setRange(0, 1)
        window.progress_bar.setValue(0)
        window.progress_bar.setFormat("Cancelled")
        window.eta_label.setText("")
        for index, frame in window.timeline.frames().items():
            if not frame.final:
                window.timeline.remove_frame(index)
        window.statusBar().showMessage("Render cancelled; nothing was written.")

    def measure(self, video: Path) -> None:
        """Evaluate the finished render in a worker, show the numbers under the preview and log them with its run."""
        from hear2see_desktop.core.eval_job import EvalJob
        from hear2see_desktop.core.run_metrics import LoggedEvalJob

        if "eval" in self.window.workers:
            return
        self.window.metrics_panel.show_measuring()
        worker = JobWorker(LoggedEvalJob(EvalJob(video)), "eval")  # the numbers also go to the run log (History)
        # Not run as the window's other tasks: a failure here is shown in the panel, not as a dialog
        # (the video is done).
        worker.finished.connect(self.window.metrics_panel.show_result)
        worker.failed.connect(self.window.metrics_panel.show_failure)
        self.window.track_worker("eval", worker)

    def rate_last_render(self, rating: int) -> None:
        """The paper's MOS: keep the user's 1-5 rating in the run record (a small rewrite, in a worker)."""

        last = self.window.work.last_render
        if last is None or not last.get("run_id"):
            return
        run_id = str(last["run_id"])
        worker = JobWorker(CallJob(lambda: rate_run(paths.runs_log_path(), run_id, rating), "Saving the rating"),
                           f"rate-{time.monotonic()}")
        worker.finished.connect(self._on_rated)
        self.window.run_worker(worker.name, worker)

    def _on_rated(self, record: dict[str, Any]) -> None:
        self.window.statusBar().showMessage(f"Rated run {record['id']} {record['rating']}/5.")

    def show_frame(self, index: int) -> None:
        """A click on a timeline frame: show it large and move the playhead to it."""
        frame = self.window.timeline.frame(index)
        if frame is not None:
            self.window.preview.show_image(frame.image, f"Image {index + 1} at {frame.time_s:.1f} s")
            self.window.seek(frame.time_s)


__all__ = ["ANYWAY", "CANCEL", "DRAFT", "LONG_RENDER_TITLE", "RenderSession", "ask_long_render", "format_eta"]
