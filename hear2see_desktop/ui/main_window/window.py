"""The main window: the paper's Audio -> Prompt -> Video flow on one screen, no modal steps.

The window lays out the widgets and composes the parts beside it (menu bar, take, storyboard, render,
export, project file, autosave, tool dialogs), which run core jobs in workers on QThreads; it holds
no pipeline step of its own, and the UI thread never waits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QMainWindow, QMessageBox, QWidget

from hear2see_desktop import __version__
from hear2see_desktop.ui.main_window.autosave_keeper import AutosaveKeeper
from hear2see_desktop.ui.main_window.export_session import ExportSession
from hear2see_desktop.ui.main_window.history import HistoryPart
from hear2see_desktop.ui.main_window.menu_bar import MenuBar
from hear2see_desktop.ui.main_window.project_files import ProjectFiles
from hear2see_desktop.ui.main_window.render_estimates import DeviceFn, RenderEstimates
from hear2see_desktop.ui.main_window.render_queue_part import QueueQuitAsk, RenderQueuePart
from hear2see_desktop.ui.main_window.render_session import LongRenderAsk, RenderSession
from hear2see_desktop.ui.main_window.storyboard import StoryboardController
from hear2see_desktop.ui.main_window.take import TakeController
from hear2see_desktop.ui.main_window.tool_dialogs import ToolDialogs
from hear2see_desktop.ui.main_window.work import Work, WorkField
from hear2see_desktop.ui.main_window.workers import WorkerPool
from hear2see_desktop.ui.main_window.workspace import Workspace
from hear2see_desktop.ui.save_guard import AskFn, SaveGuard
from hear2see_desktop.ui.settings_store import Key, SettingsStore
from hear2see_desktop.ui.wiring import without_arguments

if TYPE_CHECKING:
    from hear2see_desktop.core import autosave
    from hear2see_desktop.core.audio import Audio
    from hear2see_desktop.core.storyboard.board import Storyboard
    from hear2see_desktop.core.transcript import Transcript
    from hear2see_desktop.ui.job_worker import JobWorker


def ask_yes_no(parent: QWidget, title: str, question: str) -> bool:
    """The default way to ask before overwriting the user's work (tests inject their own)."""
    answer = QMessageBox.question(parent, title, question)
    return answer == QMessageBox.StandardButton.Yes


class MainWindow(QMainWindow):
    """HEAR2SEE's one window. Hardware and dialogs are injectable for tests."""

    render_finished = Signal(object)  # the RenderResult, for anything that wants to follow along

    # The work, as attributes of the window (the parts and the tests read them here).
    audio_path = WorkField()
    audio = WorkField()
    transcript = WorkField()
    storyboard = WorkField()
    project_path = WorkField()
    frame_pngs = WorkField()
    frame_times = WorkField()
    last_render = WorkField()

    def __init__(
        self,
        store: SettingsStore | None = None,
        input_stream_factory: Callable[..., Any] | None = None,
        output_stream_factory: Callable[..., Any] | None = None,
        confirm: Callable[[QWidget, str, str], bool] = ask_yes_no,
        show_error: Callable[[QWidget, str, str], None] | None = None,
        list_devices: Callable[[], list[Any]] | None = None,
        warm_up_asr: bool = True,
        ask_to_save: AskFn | None = None,
        machine_device: DeviceFn | None = None,
        ask_long_render: LongRenderAsk | None = None,
        ask_queue_quit: QueueQuitAsk | None = None,
    ) -> None:
        super().__init__()
        self.store = store or SettingsStore()
        self.confirm = confirm
        self.show_error = show_error or (lambda parent, title, text: QMessageBox.warning(parent, title, text))
        self.show_export_done = True  # the "Exported" box (tests turn it off)
        self.setWindowTitle("HEAR2SEE")
        self.setAcceptDrops(True)
        self.work = Work()
        self.pool = WorkerPool(self)
        self.workers = self.pool.workers
        self.pool.changed.connect(self.update_actions)
        self.pool.failed.connect(self._on_worker_failed)
        self.takes = TakeController(self, input_stream_factory, output_stream_factory)
        self.scenes = StoryboardController(self)
        self.estimates = RenderEstimates(self, machine_device)
        self.renders = RenderSession(self, ask_long_render)
        self.exports = ExportSession(self)
        self.project_files = ProjectFiles(self)
        self.autosaver = AutosaveKeeper(self)
        self.tool_dialogs = ToolDialogs(self)
        self.history = HistoryPart(self)  # File > History…
        # "Save changes?" before closing or replacing work the user has not saved to a project file.
        self.save_guard = SaveGuard(self, lambda: self.work.audio_path is not None, self.work.name,
                                    self.project_files.save_project, ask=ask_to_save)
        self._build()
        self._build_menus()
        self.render_queue = RenderQueuePart(self, ask_queue_quit)  # "Add to queue", its panel and worker
        self.pool.changed.connect(self.render_queue.start_when_free)  # it waits while the button's render runs
        self._watch_for_changes()
        self.takes.refresh_devices(list_devices)
        if self.store.has_render_settings():
            self.settings_panel.set_settings(self.store.render_settings())
        else:  # never saved: defaults that fit this machine (saved choices are never overridden)
            self.estimates.first_run()
        self.estimates.update_now()  # nothing to estimate until a narration is in (it says so)
        self.prompt_panel.set_style(self.store.text(Key.STYLE, "cinematic"))
        self.scenes.restore_hearing()
        geometry = self.store.bytes(Key.GEOMETRY)
        splitter_state = self.store.bytes(Key.SPLITTER)
        if splitter_state is not None:
            self.splitter.restoreState(splitter_state)
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 820)
        self.update_actions()
        self.statusBar().showMessage("Record or import a narration to begin.")
        self.autosaver.offer_recovery_later()
        self.autosaver.sweep_part_files()
        if warm_up_asr:
            self.takes.warm_up_later()

    # ------------------------------------------------------------------------------------------
    # Layout and wiring

    def _build(self) -> None:
        self.workspace = space = Workspace()
        self.setCentralWidget(space)
        # The widgets, as attributes of the window (the parts and the tests reach them here).
        self.audio_bar = space.audio_bar
        self.prompt_panel = space.prompt_panel
        self.settings_panel = space.settings_panel
        self.preview = space.preview
        self.metrics_panel = space.metrics_panel
        self.splitter = space.splitter
        self.render_button = space.render_button
        self.queue_button = space.queue_button
        self.cancel_button = space.cancel_button
        self.export_button = space.export_button
        self.progress_bar = space.progress_bar
        self.eta_label = space.eta_label
        self.waveform = space.waveform
        self.scene_strip = space.scene_strip
        self.sound_lane = space.sound_lane
        self.scene_sounds = space.scene_sounds
        self.timeline = space.timeline

        self.audio_bar.record_clicked.connect(self.toggle_recording)
        self.audio_bar.import_clicked.connect(self.takes.choose_audio)
        self.audio_bar.play_clicked.connect(self.takes.toggle_playback)
        self.audio_bar.speech_combo.currentIndexChanged.connect(self.takes.on_speech_model_chosen)
        QTimer.singleShot(0, self.refresh_speech_choices)  # file checks: kept off the first paint
        self.prompt_panel.rebuild_requested.connect(self.rebuild_prompt)
        self.prompt_panel.style_changed.connect(self.scenes.on_style_changed)
        self.metrics_panel.rated.connect(self.renders.rate_last_render)
        self.render_button.clicked.connect(self.start_render)
        self.cancel_button.clicked.connect(self.cancel_current)
        self.export_button.clicked.connect(self.export)
        self.waveform.seek_requested.connect(self.seek)
        self.scene_strip.scene_selected.connect(self.scenes.on_scene_selected)
        self.scene_strip.prompt_edited.connect(self.scenes.on_scene_prompt_edited)
        self.scene_strip.boundary_moved.connect(self.scenes.on_scene_boundary_moved)
        self.scene_sounds.hearing_toggled.connect(self.scenes.on_hearing_toggled)
        self.scene_sounds.sound_words_edited.connect(self.scenes.on_scene_sound_words_edited)
        self.scene_sounds.models_wanted.connect(self.open_models_dialog)
        self.timeline.frame_clicked.connect(self.renders.show_frame)
        self.settings_panel.scenes_changed.connect(self.scenes.rebuild_timer.start)
        self.settings_panel.models_wanted.connect(self.open_models_dialog)

    def _build_menus(self) -> None:
        self.menu_bar = menus = MenuBar(self)
        self.setMenuBar(menus)
        self.addActions(menus.window_actions())  # their shortcuts work wherever the focus is in the window
        self.recent_menu = menus.recent_menu
        self.fill_recent_menu()
        menus.new_requested.connect(without_arguments(self.new_project))
        menus.open_requested.connect(without_arguments(self.open_project_dialog))
        menus.recent_chosen.connect(self._open_recent)
        menus.save_requested.connect(without_arguments(self.save_project))
        menus.save_as_requested.connect(without_arguments(self.project_files.save_project_as))
        menus.import_requested.connect(without_arguments(self.takes.choose_audio))
        menus.export_requested.connect(without_arguments(self.export))
        menus.history_requested.connect(without_arguments(self.history.open_history))
        menus.models_requested.connect(without_arguments(self.open_models_dialog))
        menus.quit_requested.connect(self.close)
        menus.record_requested.connect(without_arguments(self.toggle_recording))
        menus.render_requested.connect(without_arguments(self.start_render))
        menus.cancel_requested.connect(without_arguments(self.cancel_current))
        menus.preset_chosen.connect(self.settings_panel.apply_preset)
        menus.train_requested.connect(without_arguments(self.open_train_dialog))
        menus.render_on_requested.connect(without_arguments(self.open_render_on_dialog))
        menus.about_requested.connect(without_arguments(self._about))

    def _watch_for_changes(self) -> None:
        """Every edit the user can make schedules an autosave."""
        panel = self.prompt_panel
        for edit in (panel.prompt_edit, panel.negative_edit, panel.transcript_edit):
            edit.textChanged.connect(self.mark_changed)
        panel.style_changed.connect(self.mark_changed)
        self.settings_panel.settings_changed.connect(self.mark_changed)

    def update_actions(self) -> None:
        """Enable what can be done now (a render needs a narration and no render or recording running)."""
        busy_render = "render" in self.workers
        recording = self.recorder is not None
        has_audio = self.work.audio_path is not None
        self.render_button.setEnabled(has_audio and not busy_render and not recording)
        self.menu_bar.render_action.setEnabled(self.render_button.isEnabled())
        self.cancel_button.setEnabled(bool(self.workers) or recording)
        self.export_button.setEnabled(self.work.has_output() and "export" not in self.workers)
        self.menu_bar.export_action.setEnabled(self.export_button.isEnabled())
        self.audio_bar.play_button.setEnabled(self.work.audio is not None and not recording)
        self.render_queue.update_actions()

    def fill_recent_menu(self, recent: list[str] | None = None) -> None:
        self.menu_bar.set_recent_projects(recent if recent is not None else self.store.recent_projects())

    def _open_recent(self, entry: str) -> None:
        self.open_project(Path(entry))

    # ------------------------------------------------------------------------------------------
    # Tasks

    def run_worker(self, name: str, worker: JobWorker) -> JobWorker:
        """Start a worker under `name`; the window keeps it alive until it ends, and shows its failure."""
        return self.pool.run(name, worker)

    def track_worker(self, name: str, worker: JobWorker) -> JobWorker:
        """Start a worker under `name` whose failure its own slots show."""
        return self.pool.track(name, worker)

    def _on_worker_failed(self, _name: str, title: str, message: str) -> None:
        self.progress_bar.setFormat("")
        self.eta_label.setText("")
        self.statusBar().showMessage(message)
        self.show_error(self, title, message)

    def show_progress(self, done: int, total: int, message: str) -> None:
        self.progress_bar.setRange(0, max(1, total))
        self.progress_bar.setValue(min(done, total))
        self.progress_bar.setFormat(message)

    def is_busy(self) -> bool:
        return bool(self.workers) or self.recorder is not None

    def cancel_current(self) -> None:
        if self.recorder is not None:
            self.recorder.request_stop()
        self.pool.cancel_all()

    # ------------------------------------------------------------------------------------------
    # The work as a render takes it

    def current_settings(self) -> Any:
        """The form plus the prompt panel, as the RenderSettings a render would use."""
        return replace(
            self.settings_panel.settings(),
            prompt=self.prompt_panel.prompt_text(),
            negative_prompt=self.prompt_panel.negative_text(),
            style=self.prompt_panel.style(),
        )

    def transcript_for_render(self) -> Transcript:
        return self.work.transcript_with_text(self.prompt_panel.transcript_text())

    def storyboard_edited(self) -> bool:
        """Whether the scenes hold the user's work (a prompt typed into a scene, a cut moved)."""
        return self.work.storyboard_edited()

    # ------------------------------------------------------------------------------------------
    # The parts' steps, as the window's (menus, buttons, other parts and tests call them here)

    @property
    def recorder(self) -> Any:
        return self.takes.recorder

    @property
    def player(self) -> Any:
        return self.takes.player

    def import_audio(self, path: Path) -> None:
        self.takes.import_audio(path)

    def set_audio(self, path: Path, audio: Audio, transcript: Transcript | None = None) -> None:
        self.takes.set_audio(path, audio, transcript)

    def transcribe(self) -> None:
        self.takes.transcribe()

    def apply_transcript(self, transcript: Transcript) -> None:
        self.takes.apply_transcript(transcript)

    def toggle_recording(self) -> None:
        self.takes.toggle_recording()

    def forget_player(self) -> None:
        self.takes.forget_player()

    def seek(self, seconds: float) -> None:
        self.takes.seek(seconds)

    def refresh_speech_choices(self) -> None:
        self.takes.refresh_speech_choices()

    def rebuild_prompt(self, *, ask: bool = True) -> None:
        self.scenes.rebuild_prompt(ask=ask)

    def rebuild_storyboard(self) -> None:
        self.scenes.rebuild_storyboard()

    def adopt_storyboard(self, board: Storyboard | None, times_edited: bool = False) -> None:
        self.scenes.adopt_storyboard(board, times_edited)

    def storyboard_for_render(self, settings: Any) -> Storyboard | None:
        return self.scenes.storyboard_for_render(settings)

    def sound_model(self) -> str | None:
        """The sound-event tagger in use ("Hear sound events"), or None."""
        return self.scenes.sound_model

    def start_render(self) -> None:
        if self.render_queue.is_running():  # one render at a time: while the queue runs, Render adds to it
            self.render_queue.add_current()
        else:
            self.renders.start_render()

    @property
    def _render_image_times(self) -> list[float]:
        return self.renders.image_times

    def export(self) -> None:
        """Ask what to export and where (a slot for the button, the menu item and Ctrl+E: no arguments)."""
        self.exports.export()

    def export_from(self, source: Any) -> None:
        """The Export dialog on another render's files (the History's "Export again")."""
        self.exports.export_from(source)

    def project(self) -> Any:
        return self.project_files.project()

    def save_project(self) -> bool:
        return self.project_files.save_project()

    def save_project_to(self, path: Path) -> bool:
        return self.project_files.save_project_to(path)

    def open_project_dialog(self) -> None:
        self.project_files.open_project_dialog()

    def open_project(self, path: Path, recovery: autosave.Recovery | None = None, ask: bool = True) -> None:
        self.project_files.open_project(path, recovery, ask)

    def new_project(self) -> None:
        self.project_files.new_project()

    def mark_changed(self, *_args: object) -> None:
        self.autosaver.mark_changed()
        self.estimates.schedule()

    def autosave_keep_now(self) -> None:
        self.autosaver.keep_now()

    def autosave_up_to_date(self) -> None:
        self.autosaver.up_to_date()

    def autosave_not_needed(self) -> None:
        self.autosaver.not_needed()

    @property
    def autosave_session(self) -> autosave.AutosaveSession:
        return self.autosaver.session

    @property
    def autosave_timer(self) -> QTimer:
        return self.autosaver.timer

    @property
    def _autosave_worker(self) -> JobWorker | None:
        return self.autosaver.worker

    def open_models_dialog(self) -> None:
        self.tool_dialogs.open_models_dialog()

    def open_train_dialog(self) -> None:
        self.tool_dialogs.open_train_dialog()

    def open_render_on_dialog(self) -> None:
        self.tool_dialogs.open_render_on_dialog()

    @property
    def models_dialog(self) -> Any:
        return self.tool_dialogs.models_dialog

    @property
    def train_dialog(self) -> Any:
        return self.tool_dialogs.train_dialog

    # ------------------------------------------------------------------------------------------
    # Qt's events

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt's name
        files = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if files:
            if files[0].suffix.lower() == ".h2s":
                self.open_project(files[0])
            else:
                self.import_audio(files[0])
            event.acceptProposedAction()

    def _about(self) -> None:
        QMessageBox.about(self, "About HEAR2SEE", f"HEAR2SEE Desktop {__version__}\n"
                          "Spoken narration to video, on your own computer.")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if not self.save_guard.go_ahead(self.close):  # Cancel, or Save (the window closes once it is saved)
            event.ignore()
            return
        if not self.render_queue.may_close():  # renders waiting or running: quit keeping them, or stay
            event.ignore()
            return
        self.store.set(Key.GEOMETRY, self.saveGeometry())
        self.store.set(Key.SPLITTER, self.splitter.saveState())
        self.store.set_render_settings(self.current_settings())
        self.cancel_current()
        self.takes.stop_playback()
        threads: list[Any] = [w.thread for w in [*self.workers.values(), self.takes.warm_worker] if w is not None]
        if self.recorder is not None:
            threads.append(self.recorder.thread)
        threads.extend(self.tool_dialogs.stop())
        threads.extend(self.autosaver.stop())
        threads.extend(self.estimates.stop())
        threads.extend(self.render_queue.stop())
        for thread in threads:
            try:
                if thread is not None:
                    thread.wait(5000)  # cancelled jobs stop within one step
            except RuntimeError:  # the thread already ended and Qt deleted it
                pass
        # A clean close (also after "Don't Save": the user chose to drop the work): nothing to recover next
        # time, and the slot is free. (Removing files here is fine: the window is going away.)
        self.autosave_session.end()
        super().closeEvent(event)


__all__ = ["MainWindow", "ask_yes_no"]
