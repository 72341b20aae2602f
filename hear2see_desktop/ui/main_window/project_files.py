"""The project file: Save, Save As, Open (a recovered autosave too) and New; files are read and written in workers."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtWidgets import QFileDialog

from hear2see_desktop.core.jobs import CallJob
from hear2see_desktop.core.part_files import sweep_stale_parts
from hear2see_desktop.core.project import (
    Project,
    ProjectFrame,
    last_render_path,
    load_project,
    project_audio_path,
    project_frame_paths,
    project_frames_dir,
    save_project,
)
from hear2see_desktop.ui.job_worker import JobWorker
from hear2see_desktop.ui.main_window.host import Part, WindowHost
from hear2see_desktop.ui.main_window.workspace import EMPTY_PREVIEW
from hear2see_desktop.ui.settings_store import Key

if TYPE_CHECKING:
    from hear2see_desktop.core import autosave
    from hear2see_desktop.core.audio import Audio

log = logging.getLogger(__name__)

PROJECT_FILTER = "HEAR2SEE projects (*.h2s)"
STORYBOARD_LENGTH_TOLERANCE_S = 0.5
"""A saved storyboard is used when it is this close to the narration's length (as the render job allows)."""


class ProjectFiles(Part):
    """Turns the window's work into a Project and back; the "Save changes?" guard asks before work is replaced."""

    def __init__(self, window: WindowHost) -> None:
        super().__init__(window)
        self._saving_to: Path | None = None
        self._opening: Path | None = None
        self._opening_recovery: autosave.Recovery | None = None

    def project(self) -> Any:
        """The window's work as a Project (what Save writes)."""

        window, work, panel = self.window, self.window.work, self.window.prompt_panel
        transcript = work.transcript
        if transcript is not None:
            transcript = replace(transcript, text=panel.transcript_text())
        elif panel.transcript_text().strip():
            transcript = window.transcript_for_render()  # typed by the user, no recognition: keep it too
        return Project(
            transcript=transcript,
            transcript_edited=panel.transcript_edit.edited,
            prompt=panel.prompt_text(),
            negative_prompt=panel.negative_text(),
            prompt_edited=panel.prompt_edited(),
            style=panel.style(),
            settings=window.current_settings(),
            frames=[ProjectFrame(i, work.frame_times.get(i, 0.0), str(p)) for i, p in sorted(work.frame_pngs.items())],
            last_render=dict(work.last_render) if work.last_render else None,
            storyboard=work.storyboard,
            scene_times_edited=work.scene_times_edited,
        )

    # Save

    def save_project(self) -> bool:
        """Save to the project's file, or ask where (Save As) when it has none; False when no save started."""
        if self.window.work.project_path is None:
            return self.save_project_as()
        return self.save_project_to(self.window.work.project_path)

    def save_project_as(self) -> bool:
        window, audio_path = self.window, self.window.work.audio_path
        if audio_path is None:
            window.show_error(window, "Nothing to save", "Record or import a narration first.")
            return False
        start = str(Path(window.store.text(Key.LAST_FOLDER, str(Path.home()))) / f"{audio_path.stem}.h2s")
        path, _ = QFileDialog.getSaveFileName(window, "Save project", start, PROJECT_FILTER)
        return bool(path) and self.save_project_to(Path(path).with_suffix(".h2s"))

    def save_project_to(self, path: Path) -> bool:
        """Write the project, its narration and frames beside it, in a worker; False when no save started."""
        window, work = self.window, self.window.work
        if work.audio_path is None or "save" in window.workers:
            return False

        project = self.project()
        audio_source = work.audio_path
        frames = dict(work.frame_pngs)

        def save() -> Any:
            for folder in (path.parent, project_frames_dir(path)):
                sweep_stale_parts(folder)  # what a save killed earlier left there
            save_project(project, path, audio_source, frames)
            return project

        worker = JobWorker(CallJob(save, "Saving the project"), "save")
        self._saving_to = path
        worker.finished.connect(self._on_saved)
        worker.failed.connect(window.save_guard.save_failed)
        worker.cancelled.connect(window.save_guard.save_failed)
        window.run_worker("save", worker)
        return True

    def _on_saved(self, project: Any) -> None:

        window, work, path = self.window, self.window.work, self._saving_to
        assert path is not None
        work.project_path = path
        work.audio_path = project_audio_path(path, project)
        work.frame_pngs = project_frame_paths(path, project)
        window.fill_recent_menu(window.store.add_recent_project(str(path)))
        window.setWindowTitle(f"HEAR2SEE — {path.name}")
        window.statusBar().showMessage(f"Saved {path.name}.")
        window.autosave_not_needed()  # the project file holds the work now
        window.save_guard.saved()  # last: a close or New that waited for this save goes on

    # Open

    def open_project_dialog(self) -> None:
        window = self.window
        if window.is_busy() or not window.save_guard.go_ahead(self.open_project_dialog):
            return
        start = window.store.text(Key.LAST_FOLDER, str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(window, "Open project", start, PROJECT_FILTER)
        if path:
            self.open_project(Path(path), ask=False)

    def open_project(self, path: Path, recovery: autosave.Recovery | None = None, ask: bool = True) -> None:
        """Read the project and decode its narration in a worker, then restore every panel.

        With `recovery`, `path` is the autosave: the window then goes on with the project the user
        had open (or an unsaved one), not with the autosave file itself. With `ask`, work that is not
        saved gets the "Save changes?" question first.
        """
        window = self.window
        if window.is_busy():
            return
        if ask and recovery is None and not window.save_guard.go_ahead(lambda: self.open_project(path, ask=False)):
            return
        from hear2see_desktop.core.audio import load_audio

        def read() -> tuple[Any, Audio, dict[int, Any]]:
            from PIL import Image

            from hear2see_desktop.ui.images import rgb_to_qimage

            project = load_project(path)
            audio = load_audio(project_audio_path(path, project))
            thumbnails = {}
            for index, png in sorted(project_frame_paths(path, project).items()):
                with Image.open(png) as image:  # decoded here, in the worker, not on the UI thread
                    thumbnails[index] = rgb_to_qimage(np.asarray(image.convert("RGB")))
            return project, audio, thumbnails

        worker = JobWorker(CallJob(read, f"Opening {path.name}"), "open")
        self._opening = path
        self._opening_recovery = recovery
        worker.finished.connect(self._on_opened)
        window.run_worker("open", worker)

    def _on_opened(self, loaded: tuple[Any, Audio, dict[int, Any]]) -> None:

        window, work = self.window, self.window.work
        project, audio, thumbnails = loaded
        path, recovery = self._opening, self._opening_recovery
        assert path is not None
        window.set_audio(project_audio_path(path, project), audio, project.transcript)
        work.project_path = recovery.project_path if recovery is not None else path
        window.prompt_panel.set_style(project.style)
        window.prompt_panel.set_transcript(project.transcript.text if project.transcript else "",
                                           edited=project.transcript_edited)
        window.prompt_panel.set_prompt(project.prompt, project.negative_prompt, edited=project.prompt_edited)
        window.settings_panel.set_settings(project.settings)
        work.frame_pngs = project_frame_paths(path, project)
        work.frame_times = {frame.index: frame.time_s for frame in project.frames}
        mp4 = last_render_path(path, project)
        work.last_render = {"run_id": (project.last_render or {}).get("run_id"), "mp4": str(mp4)} if mp4 else None
        for index, thumbnail in thumbnails.items():
            window.timeline.set_frame(index, work.frame_times.get(index, 0.0), thumbnail, True)
        board = project.storyboard
        if board is not None and abs(board.duration_s - audio.duration_s) <= STORYBOARD_LENGTH_TOLERANCE_S:
            window.adopt_storyboard(board, times_edited=project.scene_times_edited)
        else:
            if board is not None:
                log.warning("the project's storyboard lasts %.2f s, its narration %.2f s: cutting it again",
                            board.duration_s, audio.duration_s)
            window.rebuild_storyboard()
        window.update_actions()
        if recovery is not None:
            name = recovery.project_path.name if recovery.project_path is not None else "untitled"
            window.setWindowTitle(f"HEAR2SEE — {name} (recovered)")
            window.statusBar().showMessage("Recovered the work from the last session; save it to keep it.")
            window.autosave_up_to_date()  # the autosave already holds exactly this
            return
        window.fill_recent_menu(window.store.add_recent_project(str(path)))
        window.setWindowTitle(f"HEAR2SEE — {path.name}")
        window.statusBar().showMessage(f"Opened {path.name}.")
        window.save_guard.changed = False  # just as it is in the file (a recovered autosave is not: it stays changed)

    # New

    def new_project(self) -> None:
        window = self.window
        if window.is_busy() or not window.save_guard.go_ahead(self.new_project):
            return
        window.forget_player()
        window.work.clear()
        window.waveform.clear()
        window.timeline.clear()
        window.adopt_storyboard(None)
        window.scene_strip.set_duration(0.0)
        window.preview.clear(EMPTY_PREVIEW)
        window.prompt_panel.set_transcript("")
        window.prompt_panel.set_prompt("", "")
        window.setWindowTitle("HEAR2SEE")
        window.update_actions()
        window.save_guard.changed = False
        window.autosave_not_needed()  # saved or dropped by the user's answer: nothing for a crash to keep


__all__ = ["PROJECT_FILTER", "STORYBOARD_LENGTH_TOLERANCE_S", "ProjectFiles"]
