"""File > History…: the window's side of the History (what it reads, deletes, exports, loads and renders).

The dialog (ui/history_view.py) only shows and asks. Here the run log is read, thumbnails are made and
files are deleted in workers; "Export again" opens the window's own Export dialog on the run's video,
"Re-render with changes" puts the run's narration, prompts and settings into the window's form without
starting, and "Replay exactly" renders the logged run again in the background, as the window's render.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QWidget

from hear2see_desktop.core import paths
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.jobs import CallJob
from hear2see_desktop.ui.fix_words import sentence
from hear2see_desktop.ui.job_worker import JobWorker
from hear2see_desktop.ui.main_window.host import Part, WindowHost

if TYPE_CHECKING:
    from hear2see_desktop.core.audio import Audio
    from hear2see_desktop.core.history import History, HistoryEntry
    from hear2see_desktop.core.run_record import RunRecord
    from hear2see_desktop.ui.history_view import HistoryDialog


def open_in_player(path: Path) -> None:
    """The desktop's video player on `path` (tests put their own in `HistoryPart.open_video_with`)."""
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


class HistoryPart(Part):
    """Opens the History and carries out what the user asks of one render there."""

    replayed = Signal(object)  # the RenderResult of a "Replay exactly"

    def __init__(self, window: WindowHost) -> None:
        super().__init__(window)
        self.dialog: HistoryDialog | None = None  # made the first time it is opened
        self.open_video_with: Callable[[Path], None] = open_in_player

    # --- reading ---------------------------------------------------------------------------------
    def open_history(self) -> None:
        """Show the History (not modal: the window stays usable) and read the run log again."""
        from hear2see_desktop.ui.history_view import HistoryDialog

        if self.dialog is None:
            dialog = self.dialog = HistoryDialog(cast(QWidget, self.window))
            dialog.open_requested.connect(self.open_video)
            dialog.export_requested.connect(self.export_again)
            dialog.rerender_requested.connect(self.rerender)
            dialog.replay_requested.connect(self.replay)
            dialog.rate_requested.connect(self.rate)
            dialog.delete_requested.connect(self.delete)
        self.dialog.show()
        self.dialog.raise_()
        self.reload()

    def reload(self) -> None:
        """Read the run log (and hash the open narration, for "this project") in a worker."""
        if self.dialog is None or "history" in self.window.workers:
            return
        from hear2see_desktop.core.hashing import sha256_file
        from hear2see_desktop.core.history import read_history

        narration = self.window.work.audio_path

        def read() -> tuple[History, str | None]:
            sha = sha256_file(narration) if narration is not None and narration.is_file() else None
            return read_history(), sha

        worker = JobWorker(CallJob(read, "Reading the run log"), "history")
        worker.finished.connect(self._on_read)
        self.window.run_worker("history", worker)

    def _on_read(self, read: tuple[History, str | None]) -> None:
        history, narration_sha = read
        if self.dialog is None:
            return
        self.dialog.set_history(history, narration_sha)
        missing = [entry for entry in history.entries if entry.run_id not in self.dialog.thumbnail_ids()]
        if missing and "history-thumbnails" not in self.window.workers:
            worker = JobWorker(CallJob(lambda: _thumbnails(missing), "Making thumbnails"), "history-thumbnails")
            worker.finished.connect(self.dialog.set_thumbnails)
            self.window.track_worker("history-thumbnails", worker)  # a thumbnail that fails is only left out

    def _entry(self, run_id: str) -> HistoryEntry | None:
        return self.dialog.history.find(run_id) if self.dialog is not None else None

    # --- the actions -----------------------------------------------------------------------------
    def open_video(self, run_id: str) -> None:
        entry = self._entry(run_id)
        if entry is None:
            return
        if entry.video_path is None or not entry.video_exists:
            self.window.show_error(self.window, "Video gone", f"The video of run {run_id} is no longer at "
                                   f"{entry.video_path}: replay the run to make it again.")
            return
        self.open_video_with(entry.video_path)

    def export_again(self, run_id: str) -> None:
        """The window's Export dialog on the run's video, frames, transcript and caption style."""
        from hear2see_desktop.ui.export_dialog import ExportSource

        entry = self._entry(run_id)
        if entry is None or entry.video_path is None:
            return
        record = self._record(entry)
        if record is None:
            return
        frames = sorted(entry.frames_dir.glob("frame_*.png")) if entry.frames_dir is not None else []
        self.window.export_from(ExportSource(base=entry.video_path.with_suffix(""), mp4=str(entry.video_path),
                                       frame_pngs=frames, transcript=record.transcript, text=record.transcript,
                                       settings=record.settings))

    def rerender(self, run_id: str) -> None:
        """Load the run's prompts, scenes and settings into the form, and its narration when another is open
        (asking to save the work first); nothing renders until the user clicks Render."""
        entry = self._entry(run_id)
        window = self.window
        if entry is None or window.is_busy():
            return
        record = self._record(entry)
        if record is None:
            return
        from hear2see_desktop.core.audio import load_audio
        from hear2see_desktop.core.hashing import sha256_file
        from hear2see_desktop.core.render_request import replay_request

        narration = window.work.audio_path

        def load() -> tuple[RunRecord, Audio | None]:
            if narration is not None and narration.is_file() and sha256_file(narration) == record.audio.sha256:
                return record, None  # the run's narration is the one open: keep it
            request = replay_request(record, Path(), None)  # the narration there and unchanged, else a sentence
            return record, load_audio(request.audio_path)

        worker = JobWorker(CallJob(load, f"Opening the narration of run {run_id}"), "load")
        worker.finished.connect(self._on_narration_loaded)
        window.run_worker("load", worker)

    def _on_narration_loaded(self, loaded: tuple[RunRecord, Audio | None]) -> None:
        record, audio = loaded
        if audio is None:
            self._into_form(record)
        elif self.window.save_guard.go_ahead(lambda: self._replace_narration(record, audio)):
            self._replace_narration(record, audio)

    def _replace_narration(self, record: RunRecord, audio: Audio) -> None:
        self.window.work.project_path = None  # this narration is not the project that was open
        self.window.set_audio(Path(record.audio.path), audio, record.transcript)
        self._into_form(record)
        if self.dialog is not None:
            self.reload()  # "this project" is now the run's narration

    def _into_form(self, record: RunRecord) -> None:
        window = self.window
        window.settings_panel.set_settings(record.settings)
        window.prompt_panel.set_style(record.style)
        window.prompt_panel.set_transcript(record.transcript.text)
        window.prompt_panel.set_prompt(record.prompt, record.negative_prompt, edited=bool(record.settings.prompt))
        if record.storyboard is not None:
            window.adopt_storyboard(record.storyboard)
        window.mark_changed()
        window.statusBar().showMessage(f"The settings of run {record.id} are in the form: change them, then render.")

    def replay(self, run_id: str) -> None:
        """Render the logged run again, exactly, in the background as the window's render."""
        from hear2see_desktop.core.replay_job import ReplayJob

        entry, window = self._entry(run_id), self.window
        if entry is None:
            return
        if "render" in window.workers or window.render_queue.is_running():  # one render at a time
            window.show_error(window, "A render is running", "Replay the run when the current render is done.")
            return
        folder = paths.render_folder(datetime.now())
        folder.mkdir(parents=True, exist_ok=True)  # as the window's own renders get one
        job = ReplayJob(entry.record, folder / "video.mp4", paths.runs_log_path(), folder / paths.RENDER_FRAMES_FOLDER)
        worker = JobWorker(job, "render", preview_interval_s=None)
        worker.progress.connect(window.show_progress)
        worker.finished.connect(self._on_replayed)
        window.statusBar().showMessage(f"Replaying run {run_id}…")
        window.run_worker("render", worker)

    def _on_replayed(self, result: Any) -> None:
        self.window.progress_bar.setFormat("Done")
        self.window.statusBar().showMessage(f"Replayed as run {result.run_id}: {result.out_path}")
        self.replayed.emit(result)
        self.reload()

    def rate(self, run_id: str, rating: int) -> None:
        from hear2see_desktop.core.runlog import rate_run

        worker = JobWorker(CallJob(lambda: rate_run(paths.runs_log_path(), run_id, rating), "Saving the rating"),
                           f"history-rate-{run_id}")
        worker.finished.connect(self._on_changed)
        self.window.run_worker(worker.name, worker)

    def delete(self, run_id: str) -> None:
        """Ask first; then remove the run's video, subtitles and frames, and log that they are gone."""
        entry, window = self._entry(run_id), self.window
        if entry is None or "history-delete" in window.workers:
            return
        prompt = entry.prompt if len(entry.prompt) <= 60 else entry.prompt[:60] + "…"
        if not window.confirm(window, "Delete render?", f"Delete the video and frames of run {run_id} "
                              f"(“{prompt}”)? This cannot be undone; the run stays in the run log."):
            return
        from hear2see_desktop.core.history_files import delete_render

        worker = JobWorker(CallJob(lambda: delete_render(paths.runs_log_path(), entry), "Deleting the render"),
                           "history-delete")
        worker.finished.connect(self._on_changed)
        window.run_worker("history-delete", worker)

    def _on_changed(self, _result: object) -> None:
        self.reload()

    def _record(self, entry: HistoryEntry) -> RunRecord | None:
        """The entry's typed record, or None after saying why it cannot be used (a record too old or broken)."""
        from hear2see_desktop.core.run_record import RunRecord

        try:
            return RunRecord.from_dict(entry.record)
        except BadInputError as error:
            self.window.show_error(self.window, "Cannot use this run", sentence(error))
            return None



def _thumbnails(entries: list[HistoryEntry]) -> dict[str, Any]:
    """Run id -> QImage of each entry that has a picture (built here, in the worker)."""
    from hear2see_desktop.core.history_files import thumbnail_for
    from hear2see_desktop.ui.images import rgb_to_qimage

    found = {}
    for entry in entries:
        picture = thumbnail_for(entry)
        if picture is not None:
            found[entry.run_id] = rgb_to_qimage(picture)
    return found


__all__ = ["HistoryPart", "open_in_player"]
