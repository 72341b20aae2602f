"""What the window's parts use of the window: its widgets, its work, and one another's public steps.

The parts (take, storyboard, render, export, project file, autosave, tool dialogs) reach each other
only through the window, typed by `WindowHost`, so none of their modules imports another or the window.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from PySide6.QtCore import QObject

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance
    from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar

    from hear2see_desktop.core import autosave
    from hear2see_desktop.core.audio import Audio
    from hear2see_desktop.core.storyboard.board import Storyboard
    from hear2see_desktop.core.transcript import Transcript
    from hear2see_desktop.ui.audio_bar import AudioBar
    from hear2see_desktop.ui.job_worker import JobWorker
    from hear2see_desktop.ui.main_window.menu_bar import MenuBar
    from hear2see_desktop.ui.main_window.work import Work
    from hear2see_desktop.ui.metrics_panel import MetricsPanel
    from hear2see_desktop.ui.preview_view import PreviewView
    from hear2see_desktop.ui.prompt_panel import PromptPanel
    from hear2see_desktop.ui.render_settings_panel import RenderSettingsPanel
    from hear2see_desktop.ui.save_guard import SaveGuard
    from hear2see_desktop.ui.scene_sounds_field import SceneSoundsField
    from hear2see_desktop.ui.scene_strip import SceneStrip
    from hear2see_desktop.ui.settings_store import SettingsStore
    from hear2see_desktop.ui.sound_lane import SoundLane
    from hear2see_desktop.ui.timeline_view import TimelineView
    from hear2see_desktop.ui.waveform_view import WaveformView


class WindowHost(Protocol):
    """The main window as its parts see it (MainWindow is the one implementation)."""

    work: Work
    store: SettingsStore
    estimates: Any  # the RenderEstimates part (render_estimates.py; parts never import one another)
    render_queue: Any  # the RenderQueuePart (render_queue_part.py)
    workers: dict[str, JobWorker]
    confirm: Callable[[Any, str, str], bool]
    show_error: Callable[[Any, str, str], None]
    show_export_done: bool
    save_guard: SaveGuard
    menu_bar: MenuBar
    render_finished: SignalInstance
    audio_bar: AudioBar
    prompt_panel: PromptPanel
    settings_panel: RenderSettingsPanel
    preview: PreviewView
    metrics_panel: MetricsPanel
    waveform: WaveformView
    scene_strip: SceneStrip
    sound_lane: SoundLane
    scene_sounds: SceneSoundsField
    timeline: TimelineView
    render_button: QPushButton
    queue_button: QPushButton
    progress_bar: QProgressBar
    eta_label: QLabel

    @property
    def recorder(self) -> Any: ...

    def statusBar(self) -> QStatusBar: ...  # noqa: N802 - Qt's name
    def setWindowTitle(self, title: str) -> None: ...  # noqa: N802 - Qt's name

    # Tasks and what the window shows of them
    def run_worker(self, name: str, worker: JobWorker) -> JobWorker: ...
    def track_worker(self, name: str, worker: JobWorker) -> JobWorker: ...
    def is_busy(self) -> bool: ...
    def update_actions(self) -> None: ...
    def show_progress(self, done: int, total: int, message: str) -> None: ...
    def sound_model(self) -> str | None: ...

    # The work as the render, the export and the project file take it
    def current_settings(self) -> Any: ...
    def transcript_for_render(self) -> Transcript: ...
    def project(self) -> Any: ...

    # One part's steps that another takes
    def set_audio(self, path: Path, audio: Audio, transcript: Transcript | None = None) -> None: ...
    def forget_player(self) -> None: ...
    def seek(self, seconds: float) -> None: ...
    def refresh_speech_choices(self) -> None: ...
    def rebuild_prompt(self, *, ask: bool = True) -> None: ...
    def rebuild_storyboard(self) -> None: ...
    def adopt_storyboard(self, board: Storyboard | None, times_edited: bool = False) -> None: ...
    def storyboard_for_render(self, settings: Any) -> Storyboard | None: ...
    def open_models_dialog(self) -> None: ...
    def export_from(self, source: Any) -> None: ...
    def open_project(self, path: Path, recovery: autosave.Recovery | None = None, ask: bool = True) -> None: ...
    def fill_recent_menu(self, recent: list[str] | None = None) -> None: ...
    def mark_changed(self, *_args: object) -> None: ...
    def autosave_keep_now(self) -> None: ...
    def autosave_up_to_date(self) -> None: ...
    def autosave_not_needed(self) -> None: ...


class Part(QObject):
    """A part of the window: a child of it, so its slots are let go with the window."""

    def __init__(self, window: WindowHost) -> None:
        super().__init__(cast(QObject, window))
        self.window = window


__all__ = ["Part", "WindowHost"]
