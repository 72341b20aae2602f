"""Export: the dialog that asks what and where, then one worker that writes the video, frames and text."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox

from hear2see_desktop.core.export_job import ExportJob
from hear2see_desktop.core.jobs import CallJob, SequenceJob
from hear2see_desktop.ui.job_worker import JobWorker
from hear2see_desktop.ui.main_window.host import Part, WindowHost
from hear2see_desktop.ui.settings_store import Key

if TYPE_CHECKING:
    from hear2see_desktop.ui.export_dialog import ExportChoice, ExportDialog, ExportSource


def show_in_folder(target: Path) -> None:
    """The desktop's file manager, opened on `target`'s folder."""
    folder = target if target.is_dir() else target.parent
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


class ExportSession(Part):
    """Writes what the user chose from the work (the last render, its frames, the transcript, subtitles)."""

    def __init__(self, window: WindowHost) -> None:
        super().__init__(window)
        self.dialog: ExportDialog | None = None  # while it is open
        self.last_export: Path | None = None
        self._target: Path | None = None

    def export(self) -> None:
        """Ask what to export and where (the Export dialog, window-modal); `export_to` runs it once accepted.

        A slot for the Export… button, File > Export… and Ctrl+E: it takes no arguments, so their
        `checked` flag has nowhere to land.
        """
        self.export_from(None)

    def export_from(self, source: ExportSource | None) -> None:
        """The Export dialog for `source` (None: the window's work); `export_to` writes it once accepted."""
        from hear2see_desktop.ui.export_dialog import ExportDialog

        window = self.window
        if "export" in window.workers:
            return
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            return
        base = source.base if source is not None else self._work_source().base
        has_video = source.mp4 is not None if source is not None else window.work.last_render is not None
        transcript = source.transcript if source is not None else window.work.transcript
        dialog = ExportDialog(base, has_video, transcript is not None, window,
                              has_word_times=transcript is not None and bool(transcript.words))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.export_to(dialog.choice(), source))
        dialog.finished.connect(self._forget_dialog)
        self.dialog = dialog
        dialog.open()

    def _work_source(self) -> ExportSource:
        """The window's work as what to export (the last render, its frames, the transcript, the form's captions)."""
        from hear2see_desktop.ui.export_dialog import ExportSource

        window, work = self.window, self.window.work
        stem = work.project_path or work.audio_path or Path.home() / "hear2see"
        return ExportSource(
            base=Path(window.store.text(Key.LAST_FOLDER, str(stem.parent))) / stem.stem,
            mp4=work.last_render["mp4"] if work.last_render is not None else None,
            frame_pngs=[work.frame_pngs[i] for i in sorted(work.frame_pngs)],
            transcript=work.transcript, text=window.transcript_for_render(), settings=window.current_settings())

    def _forget_dialog(self, _result: int) -> None:
        self.dialog = None

    def export_to(self, choice: ExportChoice, source: ExportSource | None = None) -> None:
        """Write what `choice` names (MP4, frames, transcript, subtitles) of `source` (None: the window's work)
        in one export worker."""
        window = self.window
        if "export" in window.workers:
            return
        source = source or self._work_source()

        jobs: list[Any] = []
        if choice.mp4 is not None and source.mp4 is not None:
            jobs.append(ExportJob.mp4_file(source.mp4, choice.mp4))
        if choice.frames_dir is not None and source.frame_pngs:
            folder = choice.frames_dir
            jobs.append(CallJob(lambda: folder.mkdir(parents=True, exist_ok=True), "Creating the folder"))
            jobs.append(ExportJob.frame_images(source.frame_pngs, folder))
        if choice.transcript_txt is not None and source.text is not None:
            jobs.append(ExportJob.transcript_text(source.text, choice.transcript_txt, choice.word_times))
        settings = source.settings  # subtitle files are cut, and ASS styled, as the captions are
        for subtitles in (choice.srt, choice.vtt, choice.ass):
            if subtitles is not None and source.transcript is not None and source.transcript.words and settings:
                jobs.append(ExportJob.subtitles(source.transcript, subtitles, settings.caption_style(),
                                                (settings.width, settings.height)))
        if not jobs:
            return
        self._target = (choice.mp4 or choice.frames_dir or choice.transcript_txt or choice.srt or choice.vtt
                        or choice.ass)
        worker = JobWorker(SequenceJob(jobs), "export")
        worker.progress.connect(window.show_progress)
        worker.finished.connect(self._on_exported)
        window.run_worker("export", worker)

    def _on_exported(self, _results: object) -> None:
        window, target = self.window, self._target
        assert target is not None
        window.progress_bar.setFormat("Exported")
        window.statusBar().showMessage(f"Exported to {target}.")
        self.last_export = target
        if window.show_export_done:
            box = QMessageBox(QMessageBox.Icon.Information, "Exported", f"Saved to {target}.",
                              QMessageBox.StandardButton.Close, window)
            show = box.addButton("Show in folder", QMessageBox.ButtonRole.ActionRole)
            box.setModal(False)
            box.buttonClicked.connect(lambda button: button is show and show_in_folder(target))
            box.show()


__all__ = ["ExportSession", "show_in_folder"]
