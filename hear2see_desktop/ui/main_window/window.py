"""The main window: the paper's Audio -> Prompt -> Video flow on one screen, no modal steps.

The window wires widgets to core jobs run by workers on QThreads; it holds no pipeline step of
its own. Every long task (decoding, transcription, recording, rendering, export, saving) runs in a
worker and reports through signals, so the UI thread never waits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QDesktopServices, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from hear2see_desktop import __version__
from hear2see_desktop.core import autosave, paths
from hear2see_desktop.core.audio import Audio
from hear2see_desktop.core.jobs import CallJob, SequenceJob
from hear2see_desktop.core.transcript import Transcript
from hear2see_desktop.ui.audio_bar import AudioBar, format_clock
from hear2see_desktop.ui.job_worker import JobWorker
from hear2see_desktop.ui.main_window.menu_bar import MenuBar
from hear2see_desktop.ui.metrics_panel import MetricsPanel
from hear2see_desktop.ui.preview_view import PreviewView
from hear2see_desktop.ui.prompt_panel import PromptPanel
from hear2see_desktop.ui.render_settings_panel import RenderSettingsPanel
from hear2see_desktop.ui.render_signals import RenderSignals
from hear2see_desktop.ui.save_guard import AskFn, SaveGuard
from hear2see_desktop.ui.scene_strip import SceneStrip
from hear2see_desktop.ui.settings_store import Key, SettingsStore
from hear2see_desktop.ui.timeline_view import TimelineView
from hear2see_desktop.ui.waveform_view import WaveformView
from hear2see_desktop.ui.wiring import without_arguments

if TYPE_CHECKING:
    from hear2see_desktop.core.storyboard.board import Storyboard
    from hear2see_desktop.ui.export_dialog import ExportChoice, ExportDialog
    from hear2see_desktop.ui.models_dialog import ModelsDialog
    from hear2see_desktop.ui.train_dialog import TrainDialog

log = logging.getLogger(__name__)

AUDIO_FILTER = "Audio (*.wav *.flac *.ogg *.mp3 *.m4a *.aac *.opus *.webm *.mp4);;All files (*)"
PROJECT_FILTER = "HEAR2SEE projects (*.h2s)"
"""A scene the user edited keeps its prompt through a rebuild when a new scene has its times within this."""
STORYBOARD_LENGTH_TOLERANCE_S = 0.5
"""A saved storyboard is used when it is this close to the narration's length (as the render job allows)."""
SCENE_REBUILD_DELAY_MS = 500
"""Wait this long after the last change of the scene lengths before cutting the scenes again."""
AUTOSAVE_DELAY_MS = 5000
"""Autosave this long after the last change, so typing a prompt does not write on every key."""
RECOVER_QUESTION = "Recover the work from the last session?"


def ask_yes_no(parent: QWidget, title: str, question: str) -> bool:
    """The default way to ask before overwriting the user's work (tests inject their own)."""
    answer = QMessageBox.question(parent, title, question)
    return answer == QMessageBox.StandardButton.Yes


class MainWindow(QMainWindow):
    """HEAR2SEE's one window. Hardware and dialogs are injectable for tests."""

    render_finished = Signal(object)  # the RenderResult, for anything that wants to follow along
    player_finished = Signal()

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
    ) -> None:
        super().__init__()
        self.store = store or SettingsStore()
        self.input_stream_factory = input_stream_factory
        self.output_stream_factory = output_stream_factory
        self.confirm = confirm
        self.show_error = show_error or (lambda parent, title, text: QMessageBox.warning(parent, title, text))
        self.setWindowTitle("HEAR2SEE")
        self.setAcceptDrops(True)

        self.audio_path: Path | None = None
        self.audio: Audio | None = None
        self.transcript: Transcript | None = None
        self.storyboard: Storyboard | None = None
        self._scene_times_edited = False  # the user dragged a cut (prompt edits are marked in the scenes)
        self._storyboard_request = 0  # only the latest storyboard build may land
        self.project_path: Path | None = None
        self.frame_pngs: dict[int, Path] = {}
        self.frame_times: dict[int, float] = {}
        self.last_render: dict[str, Any] | None = None
        self.workers: dict[str, JobWorker] = {}
        self.recorder: Any = None
        self.player: Any = None
        self._render_started = 0.0
        self._render_first_step: tuple[float, int] | None = None
        self._render_image_times: list[float] = []
        self._render_denoising = False  # the render has begun its first denoising step (the ETA starts)
        self._render_signals: RenderSignals | None = None
        self._warm_worker: JobWorker | None = None
        self.models_dialog: ModelsDialog | None = None  # made the first time it is opened
        self.train_dialog: TrainDialog | None = None  # likewise
        self.export_dialog: ExportDialog | None = None  # while it is open
        self._unsaved_changes = False  # changed since the last autosave or save
        self._autosave_worker: JobWorker | None = None  # one autosave job at a time, in order
        self._autosave_queued: tuple[Callable[[], object], str] | None = None
        self._opening_recovery: autosave.Recovery | None = None
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setSingleShot(True)
        self.autosave_timer.setInterval(AUTOSAVE_DELAY_MS)
        self.autosave_timer.timeout.connect(self.autosave_now)
        # "Save changes?" before closing or replacing work the user has not saved to a project file.
        self.save_guard = SaveGuard(self, lambda: self.audio_path is not None, self._work_name, self.save_project,
                                    ask=ask_to_save)
        self._sweep_worker: JobWorker | None = None
        self._build()
        self._build_menus()
        self._watch_for_changes()
        self._refresh_devices(list_devices)
        self.settings_panel.set_settings(self.store.render_settings())
        self.prompt_panel.set_style(self.store.text(Key.STYLE, "cinematic"))
        geometry = self.store.bytes(Key.GEOMETRY)
        splitter_state = self.store.bytes(Key.SPLITTER)
        if splitter_state is not None:
            self.splitter.restoreState(splitter_state)
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 820)
        self.player_finished.connect(self._on_player_finished)
        self._update_actions()
        self.statusBar().showMessage("Record or import a narration to begin.")
        # This window's own autosave slot; a few small files, fine on the UI thread.
        self.autosave_session = autosave.start_session()
        recovery = self.autosave_session.recovery
        if recovery is not None:
            QTimer.singleShot(0, lambda: self._offer_recovery(recovery))
        self._sweep_part_files()
        if warm_up_asr:
            # Loading the speech model holds Python's GIL for ~0.1 s inside ctranslate2/vosk; doing it
            # once shortly after start-up keeps that hiccup out of recording and transcription.
            QTimer.singleShot(1500, self._warm_up_asr)

    def _warm_up_asr(self) -> None:
        from hear2see_desktop.core.asr.select import open_engine

        if self._warm_worker is not None:
            return
        # Not in self.workers: it neither blocks the user's actions nor reports a missing model
        # (that is said when a transcription needs it).
        chosen = self.audio_bar.selected_speech_model()
        worker = JobWorker(CallJob(lambda: open_engine("auto", chosen).name, "Loading speech recognition"),
                           "warm-up")
        worker.finished.connect(self._on_warmed_up)
        worker.failed.connect(self._on_warmed_up)
        self._warm_worker = worker
        worker.start()

    def _on_warmed_up(self, *_args: object) -> None:
        self._warm_worker = None

    # ------------------------------------------------------------------------------------------
    # Layout

    def _build(self) -> None:
        central = QWidget()
        outer = QVBoxLayout(central)
        self.audio_bar = AudioBar()
        self.audio_bar.record_clicked.connect(self.toggle_recording)
        self.audio_bar.import_clicked.connect(self.choose_audio)
        self.audio_bar.play_clicked.connect(self.toggle_playback)
        self.audio_bar.speech_combo.currentIndexChanged.connect(self._on_speech_model_chosen)
        outer.addWidget(self.audio_bar)
        QTimer.singleShot(0, self.refresh_speech_choices)  # file checks: kept off the first paint

        self.splitter = top = QSplitter(Qt.Orientation.Horizontal)
        self.prompt_panel = PromptPanel()
        self.prompt_panel.rebuild_requested.connect(self.rebuild_prompt)
        self.prompt_panel.style_changed.connect(self._on_style_changed)
        top.addWidget(self.prompt_panel)
        self.preview = PreviewView()
        self.preview.clear("Frames appear here as they render")
        self.preview.setMinimumSize(320, 240)
        preview_box = QWidget()
        preview_layout = QVBoxLayout(preview_box)
        preview_layout.setContentsMargins(0, 0, 0, 0)
        preview_layout.addWidget(self.preview, 1)
        self.metrics_panel = MetricsPanel()
        self.metrics_panel.rated.connect(self.rate_last_render)
        preview_layout.addWidget(self.metrics_panel)
        top.addWidget(preview_box)
        settings_box = QWidget()
        settings_layout = QVBoxLayout(settings_box)
        settings_layout.setContentsMargins(0, 0, 0, 0)
        self.settings_panel = RenderSettingsPanel()
        settings_layout.addWidget(self.settings_panel)
        buttons = QHBoxLayout()
        self.render_button = QPushButton("Render")
        self.render_button.setToolTip("Render the video (Ctrl+Enter)")
        self.render_button.clicked.connect(self.start_render)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the current task (Esc)")
        self.cancel_button.clicked.connect(self.cancel_current)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the video, frames or transcript (Ctrl+E)")
        self.export_button.clicked.connect(self.export)
        for button in (self.render_button, self.cancel_button, self.export_button):
            buttons.addWidget(button)
        settings_layout.addLayout(buttons)
        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setFormat("")
        settings_layout.addWidget(self.progress_bar)
        self.eta_label = QLabel("")
        settings_layout.addWidget(self.eta_label)
        settings_layout.addStretch(1)
        top.addWidget(settings_box)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 4)
        top.setStretchFactor(2, 2)
        outer.addWidget(top, 1)

        self.waveform = WaveformView()
        self.waveform.seek_requested.connect(self._seek)
        outer.addWidget(self.waveform)
        self.scene_strip = SceneStrip()
        self.scene_strip.scene_selected.connect(self._on_scene_selected)
        self.scene_strip.prompt_edited.connect(self._on_scene_prompt_edited)
        self.scene_strip.boundary_moved.connect(self._on_scene_boundary_moved)
        outer.addWidget(self.scene_strip)
        self.timeline = TimelineView()
        self.timeline.frame_clicked.connect(self._show_frame)
        outer.addWidget(self.timeline)
        self.setCentralWidget(central)
        self._scene_timer = QTimer(self)
        self._scene_timer.setSingleShot(True)
        self._scene_timer.setInterval(SCENE_REBUILD_DELAY_MS)
        self._scene_timer.timeout.connect(self.rebuild_storyboard)
        self.settings_panel.scenes_changed.connect(self._scene_timer.start)
        self.settings_panel.models_wanted.connect(self.open_models_dialog)

    def _build_menus(self) -> None:
        self.menu_bar = menus = MenuBar(self)
        self.setMenuBar(menus)
        self.addActions(menus.window_actions())  # their shortcuts work wherever the focus is in the window
        self.recent_menu = menus.recent_menu
        self._fill_recent_menu()
        menus.new_requested.connect(without_arguments(self.new_project))
        menus.open_requested.connect(without_arguments(self.open_project_dialog))
        menus.recent_chosen.connect(self._open_recent)
        menus.save_requested.connect(without_arguments(self.save_project))
        menus.save_as_requested.connect(without_arguments(self.save_project_as))
        menus.import_requested.connect(without_arguments(self.choose_audio))
        menus.export_requested.connect(without_arguments(self.export))
        menus.models_requested.connect(without_arguments(self.open_models_dialog))
        menus.quit_requested.connect(self.close)
        menus.record_requested.connect(without_arguments(self.toggle_recording))
        menus.render_requested.connect(without_arguments(self.start_render))
        menus.cancel_requested.connect(without_arguments(self.cancel_current))
        menus.preset_chosen.connect(self.settings_panel.apply_preset)
        menus.train_requested.connect(without_arguments(self.open_train_dialog))
        menus.about_requested.connect(without_arguments(self._about))

    def _refresh_devices(self, list_devices: Callable[[], list[Any]] | None) -> None:
        from hear2see_desktop.core.recording import list_input_devices, no_microphone_reason

        devices = (list_devices or list_input_devices)()
        reason = None if devices else (no_microphone_reason() or "No microphone was found: connect one, "
                                       "or import an audio file.")
        self.audio_bar.set_devices(devices, reason)
        self.menu_bar.record_action.setEnabled(self.audio_bar.record_button.isEnabled())

    def _update_actions(self) -> None:
        busy_render = "render" in self.workers
        recording = self.recorder is not None
        has_audio = self.audio_path is not None
        self.render_button.setEnabled(has_audio and not busy_render and not recording)
        self.menu_bar.render_action.setEnabled(self.render_button.isEnabled())
        self.cancel_button.setEnabled(bool(self.workers) or recording)
        has_output = self.last_render is not None or self.transcript is not None
        self.export_button.setEnabled(has_output and "export" not in self.workers)
        self.menu_bar.export_action.setEnabled(self.export_button.isEnabled())
        self.audio_bar.play_button.setEnabled(self.audio is not None and not recording)

    # ------------------------------------------------------------------------------------------
    # Workers

    def _run(self, name: str, worker: JobWorker) -> JobWorker:
        """Start a worker under `name`; the window keeps it alive until it ends."""
        self.workers[name] = worker
        worker.failed.connect(self._on_worker_failed)
        worker.finished.connect(self._on_worker_done)
        worker.failed.connect(self._on_worker_done)
        worker.cancelled.connect(self._on_worker_done)
        worker.start()
        self._update_actions()
        return worker

    def _on_worker_done(self, *_args: object) -> None:
        sender = self.sender()
        for name, worker in list(self.workers.items()):
            if worker is sender:
                del self.workers[name]
        self._update_actions()

    def _on_worker_failed(self, message: str) -> None:
        sender = self.sender()
        name = next((n for n, w in self.workers.items() if w is sender), "task")
        self.progress_bar.setFormat("")
        self.eta_label.setText("")
        self.statusBar().showMessage(message)
        titles = {"render": "Render failed", "transcribe": "Transcription failed", "load": "Cannot open audio",
                  "export": "Export failed", "save": "Cannot save", "open": "Cannot open project"}
        if "model" in message.lower() and ("not on this machine" in message or "download" in message):
            title = "Model needed"
        else:
            title = titles.get(name, "Something went wrong")
        self.show_error(self, title, message)

    def is_busy(self) -> bool:
        return bool(self.workers) or self.recorder is not None

    # ------------------------------------------------------------------------------------------
    # Audio: import, record, play

    def choose_audio(self) -> None:
        start = self.store.text(Key.LAST_FOLDER, str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Import a narration", start, AUDIO_FILTER)
        if path:
            self.import_audio(Path(path))

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

    def import_audio(self, path: Path) -> None:
        """Decode the file in a worker; the waveform appears, then transcription starts."""
        if self.recorder is not None or "load" in self.workers:
            return
        from hear2see_desktop.core.transcribe_job import LoadAudioJob

        self.store.set(Key.LAST_FOLDER, str(path.parent))
        worker = JobWorker(LoadAudioJob(path), "load")
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_audio_loaded)
        self._pending_audio_path = path
        self._run("load", worker)

    def _on_audio_loaded(self, audio: Audio) -> None:
        self.set_audio(self._pending_audio_path, audio)
        self.transcribe()

    def set_audio(self, path: Path, audio: Audio, transcript: Transcript | None = None) -> None:
        """Make `path` the narration: waveform, timeline axis, player."""
        self.stop_playback()
        self.audio_path = path
        self.audio = audio
        self.player = None
        self.transcript = transcript
        self.waveform.set_live(False)
        self.waveform.set_samples(audio.samples, audio.sample_rate_hz)
        self.waveform.set_words(transcript.words if transcript else [])
        self.timeline.clear()
        self.timeline.set_duration(audio.duration_s)
        self.scene_strip.set_duration(audio.duration_s)
        self._adopt_storyboard(None)  # the scenes of another narration mean nothing here
        self.audio_bar.elapsed_label.setText(format_clock(audio.duration_s))
        self.setWindowTitle(f"HEAR2SEE — {path.name}")
        self.statusBar().showMessage(f"{path.name}: {audio.duration_s:.1f} s")
        self._update_actions()
        self.mark_changed()

    def transcribe(self) -> None:
        if self.audio_path is None or self.audio is None:
            return
        from hear2see_desktop.core.transcribe_job import TranscribeJob

        worker = JobWorker(TranscribeJob(self.audio_path, asr_model=self.audio_bar.selected_speech_model(),
                                         audio=self.audio), "transcribe")
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_transcribed)
        self._run("transcribe", worker)

    def _on_transcribed(self, transcript: Transcript) -> None:
        self.progress_bar.setFormat("Transcribed")
        self.apply_transcript(transcript)

    def apply_transcript(self, transcript: Transcript) -> None:
        """Show a new transcript and the prompt built from it, asking before replacing the user's edits."""
        if self.prompt_panel.transcript_edit.edited and not self.confirm(
            self, "Replace your transcript?", "You edited the transcript. Replace it with the new recognition?"
        ):
            return
        self.transcript = transcript
        self.prompt_panel.set_transcript(transcript.text)
        self.waveform.set_words(transcript.words)
        self.statusBar().showMessage(
            f"Transcribed with {transcript.engine} ({transcript.model}): {len(transcript.words)} words."
        )
        self.rebuild_prompt(ask=True)
        self.rebuild_storyboard()
        self._update_actions()

    def rebuild_prompt(self, *, ask: bool = True) -> None:
        """Build the prompt from the transcript in a worker; with `ask`, the user's edited prompt is asked about first.

        `ask` is keyword-only: this is a slot, and a signal's argument must never land in it.
        """
        from hear2see_desktop.core.errors import BadInputError
        from hear2see_desktop.core.prompt.builder import build_prompt

        text = self.prompt_panel.transcript_text()
        if not text:
            return
        if ask and self.prompt_panel.prompt_edited() and not self.confirm(
            self, "Replace your prompt?", "You edited the prompt. Replace it with one built from the transcript?"
        ):
            return
        style = self.prompt_panel.style()

        def build() -> object:
            try:
                return build_prompt(text, style=style)
            except BadInputError as error:  # nothing to picture: say so in the status bar, not a dialog
                return str(error)

        # The first build loads the lexicon and tokenizer (~0.4 s): never on the UI thread.
        worker = JobWorker(CallJob(build, "Building the prompt"), f"prompt-{time.monotonic()}")
        worker.finished.connect(self._on_prompt_built)
        self._run(worker.name, worker)

    def _on_prompt_built(self, built: Any) -> None:
        if isinstance(built, str):
            self.statusBar().showMessage(built)
            return
        self.prompt_panel.set_prompt(built.prompt, built.negative_prompt, built.dropped)

    def _on_style_changed(self, style: str) -> None:
        self.store.set(Key.STYLE, style)
        if self.prompt_panel.transcript_text():
            self.rebuild_prompt(ask=True)
            self.restyle_storyboard(style)

    # ------------------------------------------------------------------------------------------
    # Storyboard: the scenes on the strip between the waveform and the frames

    def storyboard_edited(self) -> bool:
        """Whether the scenes hold the user's work (a prompt typed into a scene, a cut moved)."""
        board = self.storyboard
        return board is not None and (self._scene_times_edited or any(scene.edited for scene in board.scenes))

    def rebuild_storyboard(self) -> None:
        """Cut the transcript into scenes with prompts, in a worker (the first build loads the tokenizer).

        The result keeps every prompt the user wrote whose scene still exists with the same times;
        when some of the user's work would be lost, `_on_storyboard_built` asks first.
        """
        from hear2see_desktop.core.errors import BadInputError
        from hear2see_desktop.core.storyboard.board import build_storyboard

        if self.audio is None or self.recorder is not None:
            return
        transcript = self._transcript_for_render()
        if not transcript.text.strip():
            return
        settings = self.current_settings()
        duration_s = self.audio.duration_s
        self._storyboard_request += 1
        request = self._storyboard_request

        def build() -> tuple[int, Storyboard | str]:
            try:
                return request, build_storyboard(transcript, duration_s=duration_s, style=settings.style,
                                                  min_scene_s=settings.min_scene_s, max_scene_s=settings.max_scene_s)
            except BadInputError as error:  # nothing to picture, bad limits: the status bar says so
                return request, str(error)

        self._run_storyboard_job(build, "Cutting the narration into scenes")

    def restyle_storyboard(self, style: str) -> None:
        """Rebuild the scenes' prompts in another style, keeping their times and the prompts the user wrote."""
        from hear2see_desktop.core.errors import BadInputError
        from hear2see_desktop.core.storyboard.board import rebuild_prompts

        board = self.storyboard
        if board is None:
            self.rebuild_storyboard()
            return
        self._storyboard_request += 1
        request = self._storyboard_request

        def build() -> tuple[int, Storyboard | str]:
            try:
                return request, rebuild_prompts(board, style=style)
            except BadInputError as error:
                return request, str(error)

        self._run_storyboard_job(build, "Restyling the scenes")

    def _run_storyboard_job(self, build: Callable[[], tuple[int, Storyboard | str]], message: str) -> None:
        worker = JobWorker(CallJob(build, message), f"storyboard-{time.monotonic()}")
        worker.finished.connect(self._on_storyboard_built)
        self._run(worker.name, worker)

    def _on_storyboard_built(self, result: tuple[int, Storyboard | str]) -> None:
        request, built = result
        if request != self._storyboard_request:
            return  # a newer build (or another narration) took its place
        if isinstance(built, str):
            self.statusBar().showMessage(built)
            return
        # Merged with the board as it is now: the user may have edited it while the worker ran.
        old = self.storyboard
        from hear2see_desktop.core.storyboard.edits import carry_scene_edits, same_cuts

        board, lost = carry_scene_edits(old, built, self._scene_times_edited)
        if lost and not self.confirm(
            self, "Replace your scenes?",
            "The narration was cut into new scenes, and some of your scene edits (prompts you wrote, cuts you "
            "moved) don't fit them. Replace the scenes anyway?",
        ):
            return
        # A restyle keeps the times, so cuts the user moved stay theirs.
        self._adopt_storyboard(board, times_edited=self._scene_times_edited and same_cuts(old, board))
        self.statusBar().showMessage(f"{len(board.scenes)} scene{'s' if len(board.scenes) != 1 else ''}: "
                                     "double-click one to edit its prompt, drag an edge to move a cut.")

    def _adopt_storyboard(self, board: Storyboard | None, times_edited: bool = False) -> None:
        """Make `board` the window's storyboard; builds still running for the old one are dropped."""
        self._storyboard_request += 1
        self._set_storyboard(board)
        self._scene_times_edited = times_edited

    def _set_storyboard(self, board: Storyboard | None) -> None:
        self.storyboard = board
        self.scene_strip.set_storyboard(board)
        self.mark_changed()

    def _on_scene_selected(self, index: int) -> None:
        if self.storyboard is not None and 0 <= index < len(self.storyboard.scenes):
            self._seek(self.storyboard.scenes[index].start_s)

    def _on_scene_prompt_edited(self, index: int, prompt: str) -> None:
        from hear2see_desktop.core.errors import BadInputError

        if self.storyboard is None:
            return
        try:
            board = self.storyboard.with_scene_prompt(index, prompt)
        except BadInputError as error:
            self.statusBar().showMessage(str(error))
            return
        self._set_storyboard(board)
        self.statusBar().showMessage(f"Scene {index + 1} has your prompt; rebuilding the scenes keeps it.")

    def _on_scene_boundary_moved(self, index: int, time_s: float) -> None:
        from hear2see_desktop.core.errors import BadInputError

        if self.storyboard is None:
            return
        try:
            board = self.storyboard.with_boundary(index, time_s)
        except BadInputError as error:
            self.statusBar().showMessage(str(error))
            return
        self._scene_times_edited = True
        self._set_storyboard(board)
        self.statusBar().showMessage(f"Scene {index + 1} now starts at {board.scenes[index].start_s:.2f} s.")

    def _storyboard_for_render(self, settings: Any) -> Storyboard | None:
        """The scenes a render uses (see `core.storyboard.edits.board_for_render`)."""
        from hear2see_desktop.core.storyboard.edits import board_for_render

        if self.storyboard is None:
            return None
        return board_for_render(
            self.storyboard, settings.mode, settings.prompt, settings.negative_prompt,
            prompt_typed=self.prompt_panel.prompt_edit.edited and bool(settings.prompt.strip()),
            negative_typed=self.prompt_panel.negative_edit.edited,
            scenes_edited=self.storyboard_edited(),
        )

    def toggle_recording(self) -> None:
        if self.recorder is not None:
            self.recorder.request_stop()
            self.audio_bar.record_button.setEnabled(False)
            self.statusBar().showMessage("Finishing the take…")
            return
        if not self.audio_bar.record_button.isEnabled() or self.is_busy():
            return
        from hear2see_desktop.ui.recording_worker import RecordingWorker, start_recording_thread

        self.stop_playback()
        worker = RecordingWorker(
            engine="auto", model_path=self.audio_bar.selected_speech_model(), device=self.audio_bar.selected_device(),
            stream_factory=self.input_stream_factory
        )
        worker.amplitude_changed.connect(self.audio_bar.level_meter.set_level)
        worker.elapsed_changed.connect(self._on_record_elapsed)
        worker.partial_text.connect(self.prompt_panel.show_live_transcript)
        worker.finished.connect(self._on_take_finished)
        worker.failed.connect(self._on_take_failed)
        worker.device_lost.connect(self.statusBar().showMessage)
        self.recorder = worker
        self.waveform.clear()
        self.waveform.set_live(True)
        self.timeline.clear()
        self.scene_strip.set_storyboard(None)  # the old scenes don't belong to the take being recorded
        self.audio_bar.set_recording(True)
        self.statusBar().showMessage("Recording… press R or Stop to end the take.")
        start_recording_thread(worker)
        self._update_actions()

    def _on_record_elapsed(self, seconds: float) -> None:
        self.audio_bar.elapsed_label.setText(format_clock(seconds))

    def _on_take_finished(self, take: Any) -> None:
        self.recorder = None
        self.audio_bar.set_recording(False)
        self.audio_bar.record_button.setEnabled(True)
        folder = paths.takes_dir()
        path = folder / f"take-{datetime.now():%Y%m%d-%H%M%S}.wav"
        audio = take.to_audio()
        # Keep the take on disk (a short WAV write) in a worker, then show it.
        worker = JobWorker(CallJob(lambda: (folder.mkdir(parents=True, exist_ok=True), take.save(path))[1],
                                   "Saving the take"), "save-take")
        self._take = (path, audio, take.transcript)
        worker.finished.connect(self._on_take_saved)
        self._run("save-take", worker)

    def _on_take_saved(self, _path: object) -> None:
        path, audio, transcript = self._take
        self.set_audio(path, audio)
        if transcript is not None and transcript.text.strip():
            transcript.duration_s = audio.duration_s
            self.prompt_panel.transcript_edit.edited = False  # the live text was ours, not the user's
            self.apply_transcript(transcript)
        else:
            self.transcribe()

    def _on_take_failed(self, message: str) -> None:
        self.recorder = None
        self.audio_bar.set_recording(False)
        self.audio_bar.record_button.setEnabled(True)
        self.waveform.set_live(False)
        self.scene_strip.set_storyboard(self.storyboard)
        self._update_actions()
        self.show_error(self, "Recording failed", message)

    def toggle_playback(self) -> None:
        if self.audio is None:
            return
        from hear2see_desktop.core.errors import Hear2SeeError
        from hear2see_desktop.core.playback import TakePlayer

        if self.player is None:
            self.player = TakePlayer(self.audio.samples, self.audio.sample_rate_hz,
                                     stream_factory=self.output_stream_factory,
                                     on_finished=self.player_finished.emit)
        if self.player.is_playing:
            self.player.pause()
            self.audio_bar.set_playing(False)
            return
        try:
            self.player.play()
        except Hear2SeeError as error:
            self.show_error(self, "Cannot play", str(error))
            return
        self.audio_bar.set_playing(True)
        self._playhead_timer_id = self.startTimer(50)

    def timerEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        if self.player is not None and self.player.is_playing:
            self.waveform.set_playhead(self.player.position_s)
            self.timeline.set_playhead(self.player.position_s)
        else:
            self.killTimer(event.timerId())

    def _on_player_finished(self) -> None:
        self.audio_bar.set_playing(False)
        self.waveform.set_playhead(None)
        self.timeline.set_playhead(None)

    def stop_playback(self) -> None:
        if self.player is not None:
            self.player.stop()
            self._on_player_finished()

    def _seek(self, seconds: float) -> None:
        self.waveform.set_playhead(seconds)
        if self.player is not None:
            self.player.seek(seconds)

    # ------------------------------------------------------------------------------------------
    # Render

    def current_settings(self) -> Any:
        """The form plus the prompt panel, as the RenderSettings a render would use."""
        return replace(
            self.settings_panel.settings(),
            prompt=self.prompt_panel.prompt_text(),
            negative_prompt=self.prompt_panel.negative_text(),
            style=self.prompt_panel.style(),
        )

    def start_render(self) -> None:
        if self.audio_path is None or "render" in self.workers or self.recorder is not None:
            return
        from hear2see_desktop.core.errors import BadInputError
        from hear2see_desktop.core.render.model_source import missing_model, model_missing_text
        from hear2see_desktop.core.render_job import RenderJob, RenderRequest

        self.settings_panel.seed_for_next_render()
        settings = self.current_settings()
        try:
            settings.validate()
        except BadInputError as error:
            self.show_error(self, "Check the settings", str(error))
            return
        missing = missing_model(settings.model)
        if missing is not None:  # say so now, with the way to get it, rather than after a worker starts
            if self.confirm(self, "Model needed", f"{model_missing_text(missing)}\n\nOpen File > Models… now?"):
                self.open_models_dialog()
            return
        self._unsaved_changes = True  # a render is the riskiest moment: keep the work as it stands now
        self.autosave_now()
        self.store.set_render_settings(settings)
        transcript = self._transcript_for_render()
        folder = paths.render_folder(datetime.now())
        folder.mkdir(parents=True, exist_ok=True)
        request = RenderRequest(
            audio_path=self.audio_path,
            out_path=folder / "video.mp4",
            settings=settings,
            transcript=transcript,
            frames_dir=folder / paths.RENDER_FRAMES_FOLDER,
            storyboard=self._storyboard_for_render(settings),
        )
        duration = self.audio.duration_s if self.audio is not None else 0.0
        self._render_image_times = []  # the job says where its images go (`plan_ready`) before rendering
        self._render_denoising = False
        self.frame_pngs = {}
        self.frame_times = {}
        self.timeline.clear()
        self.timeline.set_duration(duration)
        signals = RenderSignals()
        signals.plan_ready.connect(self._on_plan)
        signals.step_ready.connect(self._on_render_step)
        signals.frame_ready.connect(self._on_frame)
        self._render_signals = signals  # lives as long as the render's worker may emit through it
        worker = JobWorker(RenderJob(request, signals.events()), "render", preview_interval_s=None)
        worker.progress.connect(self._on_render_progress)
        worker.finished.connect(self._on_render_finished)
        worker.cancelled.connect(self._on_render_cancelled)
        self._render_started = time.monotonic()
        self._render_first_step = None
        self._render_folder = folder
        self.progress_bar.setRange(0, 0)
        self.progress_bar.setFormat("Starting…")
        self.statusBar().showMessage("Rendering…")
        self._run("render", worker)

    def _transcript_for_render(self) -> Transcript:
        text = self.prompt_panel.transcript_text()
        if self.transcript is not None:
            return replace(self.transcript, text=text or self.transcript.text)
        duration = self.audio.duration_s if self.audio is not None else 0.0
        return Transcript(text=text, words=[], engine="typed", model="", duration_s=duration)

    def _on_progress(self, done: int, total: int, message: str) -> None:
        self.progress_bar.setRange(0, max(1, total))
        self.progress_bar.setValue(min(done, total))
        self.progress_bar.setFormat(message)

    def _on_plan(self, times_s: list[float]) -> None:
        """Where each distinct image (classic) or keyframe (smooth, fast) of the render will show."""
        self._render_image_times = list(times_s)

    def _on_render_progress(self, done: int, total: int, message: str) -> None:
        self._on_progress(done, total, message)
        if not self._render_denoising:  # the time to load and read is no measure of what is left
            return
        now = time.monotonic()
        if self._render_first_step is None:
            self._render_first_step = (now, done)
            return
        start, start_done = self._render_first_step
        if done > start_done:
            eta = (now - start) / (done - start_done) * (total - done)
            self.eta_label.setText(f"About {format_eta(eta)} left · {now - self._render_started:.0f} s so far")

    def _on_render_step(self, index: int | None, image: Any) -> None:
        """A denoising step of image or keyframe `index` (None: of in-betweens), with its preview or None."""
        self._render_denoising = True
        if index is None or image is None:
            return
        times = self._render_image_times
        time_s = times[index] if index < len(times) else (times[-1] if times else 0.0)
        self.preview.show_image(image, f"Image {index + 1}, denoising…")
        if not self.timeline.has_final(index):
            self.timeline.set_frame(index, time_s, image, False)

    def _on_frame(self, index: int, time_s: float, image: Any) -> None:
        self.timeline.set_frame(index, time_s, image, True)
        self.preview.show_image(image, f"Image {index + 1} at {time_s:.1f} s")
        self.frame_pngs[index] = self._render_folder / paths.RENDER_FRAMES_FOLDER / paths.frame_file_name(index)
        self.frame_times[index] = time_s

    def _on_render_finished(self, result: Any) -> None:
        self.last_render = {"run_id": result.run_id, "mp4": str(result.out_path)}
        self.eta_label.setText(f"Rendered in {time.monotonic() - self._render_started:.1f} s · run {result.run_id}")
        self.progress_bar.setFormat("Done")
        self.statusBar().showMessage(f"Rendered {result.out_path.name}; export it with Ctrl+E.")
        self.render_finished.emit(result)
        self.mark_changed()
        self.measure(result.out_path)

    def measure(self, video: Path) -> None:
        """Evaluate the finished render in a worker and show the numbers under the preview."""
        from hear2see_desktop.core.eval_job import EvalJob

        if "eval" in self.workers:
            return
        self.metrics_panel.show_measuring()
        worker = JobWorker(EvalJob(video), "eval")
        # Not through _run: a failure here is shown in the panel, not as a dialog (the video is done).
        worker.finished.connect(self.metrics_panel.show_result)
        worker.failed.connect(self.metrics_panel.show_failure)
        self.workers["eval"] = worker
        for signal in (worker.finished, worker.failed, worker.cancelled):
            signal.connect(self._on_worker_done)
        worker.start()

    def rate_last_render(self, rating: int) -> None:
        """The paper's MOS: keep the user's 1-5 rating in the run record (a small rewrite, in a worker)."""
        from hear2see_desktop.core.runlog import rate_run

        if self.last_render is None or not self.last_render.get("run_id"):
            return
        run_id = str(self.last_render["run_id"])
        worker = JobWorker(CallJob(lambda: rate_run(paths.runs_log_path(), run_id, rating), "Saving the rating"),
                           f"rate-{time.monotonic()}")
        worker.finished.connect(self._on_rated)
        self._run(worker.name, worker)

    def _on_rated(self, record: dict[str, Any]) -> None:
        self.statusBar().showMessage(f"Rated run {record['id']} {record['rating']}/5.")

    def _on_render_cancelled(self) -> None:
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("Cancelled")
        self.eta_label.setText("")
        for index, frame in self.timeline.frames().items():
            if not frame.final:
                self.timeline.remove_frame(index)
        self.statusBar().showMessage("Render cancelled; nothing was written.")

    def cancel_current(self) -> None:
        if self.recorder is not None:
            self.recorder.request_stop()
        for worker in self.workers.values():
            worker.cancel()

    def _show_frame(self, index: int) -> None:
        frame = self.timeline.frame(index)
        if frame is not None:
            self.preview.show_image(frame.image, f"Image {index + 1} at {frame.time_s:.1f} s")
            self._seek(frame.time_s)

    # ------------------------------------------------------------------------------------------
    # Export

    def export(self) -> None:
        """Ask what to export and where (the Export dialog, window-modal); `export_to` runs it once accepted.

        A slot for the Export… button, File > Export… and Ctrl+E: it takes no arguments, so their
        `checked` flag has nowhere to land.
        """
        from hear2see_desktop.ui.export_dialog import ExportDialog

        if "export" in self.workers:
            return
        if self.export_dialog is not None and self.export_dialog.isVisible():
            self.export_dialog.raise_()
            return
        stem = self.project_path or self.audio_path or Path.home() / "hear2see"
        base = Path(self.store.text(Key.LAST_FOLDER, str(stem.parent))) / stem.stem
        has_word_times = self.transcript is not None and bool(self.transcript.words)
        dialog = ExportDialog(base, self.last_render is not None, self.transcript is not None, self,
                              has_word_times=has_word_times)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.export_to(dialog.choice()))
        dialog.finished.connect(self._forget_export_dialog)
        self.export_dialog = dialog
        dialog.open()

    def _forget_export_dialog(self, _result: int) -> None:
        self.export_dialog = None

    def export_to(self, choice: ExportChoice) -> None:
        """Write what `choice` names (MP4, frames, transcript, subtitles) in one export worker."""
        if "export" in self.workers:
            return
        from hear2see_desktop.core.export_job import ExportJob

        jobs: list[Any] = []
        if choice.mp4 is not None and self.last_render is not None:
            jobs.append(ExportJob.mp4_file(self.last_render["mp4"], choice.mp4))
        if choice.frames_dir is not None and self.frame_pngs:
            folder = choice.frames_dir
            jobs.append(CallJob(lambda: folder.mkdir(parents=True, exist_ok=True), "Creating the folder"))
            jobs.append(ExportJob.frame_images([self.frame_pngs[i] for i in sorted(self.frame_pngs)], folder))
        if choice.transcript_txt is not None:
            transcript = self._transcript_for_render()
            jobs.append(ExportJob.transcript_text(transcript, choice.transcript_txt, choice.word_times))
        for subtitles in (choice.srt, choice.vtt):
            if subtitles is not None and self.transcript is not None and self.transcript.words:
                jobs.append(ExportJob.subtitles(self.transcript, subtitles))
        if not jobs:
            return
        self._export_target = choice.mp4 or choice.frames_dir or choice.transcript_txt or choice.srt or choice.vtt
        worker = JobWorker(SequenceJob(jobs), "export")
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_exported)
        self._run("export", worker)

    def _on_exported(self, _results: object) -> None:
        target = self._export_target
        self.progress_bar.setFormat("Exported")
        self.statusBar().showMessage(f"Exported to {target}.")
        self.last_export = target
        if getattr(self, "show_export_done", True):
            box = QMessageBox(QMessageBox.Icon.Information, "Exported", f"Saved to {target}.",
                              QMessageBox.StandardButton.Close, self)
            show = box.addButton("Show in folder", QMessageBox.ButtonRole.ActionRole)
            box.setModal(False)
            box.buttonClicked.connect(lambda button: button is show and self.show_in_folder(target))
            box.show()

    @staticmethod
    def show_in_folder(target: Path) -> None:
        folder = target if target.is_dir() else target.parent
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    # ------------------------------------------------------------------------------------------
    # Projects

    def project(self) -> Any:
        """The window's work as a Project (what Save writes)."""
        from hear2see_desktop.core.project import Project, ProjectFrame

        transcript = self.transcript
        if transcript is not None:
            transcript = replace(transcript, text=self.prompt_panel.transcript_text())
        elif self.prompt_panel.transcript_text().strip():
            transcript = self._transcript_for_render()  # typed by the user, no recognition: keep it too
        return Project(
            transcript=transcript,
            transcript_edited=self.prompt_panel.transcript_edit.edited,
            prompt=self.prompt_panel.prompt_text(),
            negative_prompt=self.prompt_panel.negative_text(),
            prompt_edited=self.prompt_panel.prompt_edited(),
            style=self.prompt_panel.style(),
            settings=self.current_settings(),
            frames=[ProjectFrame(i, self.frame_times.get(i, 0.0), str(p)) for i, p in sorted(self.frame_pngs.items())],
            last_render=dict(self.last_render) if self.last_render else None,
            storyboard=self.storyboard,
            scene_times_edited=self._scene_times_edited,
        )

    def save_project(self) -> bool:
        """Save to the project's file, or ask where (Save As) when it has none; False when no save started."""
        if self.project_path is None:
            return self.save_project_as()
        return self.save_project_to(self.project_path)

    def save_project_as(self) -> bool:
        if self.audio_path is None:
            self.show_error(self, "Nothing to save", "Record or import a narration first.")
            return False
        start = str(Path(self.store.text(Key.LAST_FOLDER, str(Path.home()))) / f"{self.audio_path.stem}.h2s")
        path, _ = QFileDialog.getSaveFileName(self, "Save project", start, PROJECT_FILTER)
        return bool(path) and self.save_project_to(Path(path).with_suffix(".h2s"))

    def save_project_to(self, path: Path) -> bool:
        """Write the project, its narration and frames beside it, in a worker; False when no save started."""
        if self.audio_path is None or "save" in self.workers:
            return False
        from hear2see_desktop.core.part_files import sweep_stale_parts
        from hear2see_desktop.core.project import project_frames_dir, save_project

        project = self.project()
        audio_source = self.audio_path
        frames = dict(self.frame_pngs)

        def save() -> Any:
            for folder in (path.parent, project_frames_dir(path)):
                sweep_stale_parts(folder)  # what a save killed earlier left there
            save_project(project, path, audio_source, frames)
            return project

        worker = JobWorker(CallJob(save, "Saving the project"), "save")
        self._saving_to = path
        worker.finished.connect(self._on_project_saved)
        worker.failed.connect(self.save_guard.save_failed)
        worker.cancelled.connect(self.save_guard.save_failed)
        self._run("save", worker)
        return True

    def _on_project_saved(self, project: Any) -> None:
        from hear2see_desktop.core.project import project_audio_path, project_frame_paths

        path = self._saving_to
        self.project_path = path
        self.audio_path = project_audio_path(path, project)
        self.frame_pngs = project_frame_paths(path, project)
        self._fill_recent_menu(self.store.add_recent_project(str(path)))
        self.setWindowTitle(f"HEAR2SEE — {path.name}")
        self.statusBar().showMessage(f"Saved {path.name}.")
        self._unsaved_changes = False  # the project file holds the work now; the autosave is not needed
        self.autosave_timer.stop()
        self._autosave_in_order(self.autosave_session.discard, "Removing the autosave")
        self.save_guard.saved()  # last: a close or New that waited for this save goes on

    def open_project_dialog(self) -> None:
        if self.is_busy() or not self.save_guard.go_ahead(self.open_project_dialog):
            return
        start = self.store.text(Key.LAST_FOLDER, str(Path.home()))
        path, _ = QFileDialog.getOpenFileName(self, "Open project", start, PROJECT_FILTER)
        if path:
            self.open_project(Path(path), ask=False)

    def open_project(self, path: Path, recovery: autosave.Recovery | None = None, ask: bool = True) -> None:
        """Read the project and decode its narration in a worker, then restore every panel.

        With `recovery`, `path` is the autosave: the window then goes on with the project the user
        had open (or an unsaved one), not with the autosave file itself. With `ask`, work that is not
        saved gets the "Save changes?" question first.
        """
        if self.is_busy():
            return
        if ask and recovery is None and not self.save_guard.go_ahead(lambda: self.open_project(path, ask=False)):
            return
        from hear2see_desktop.core.audio import load_audio
        from hear2see_desktop.core.project import load_project, project_audio_path

        def read() -> tuple[Any, Audio, dict[int, Any]]:
            from PIL import Image

            from hear2see_desktop.core.project import project_frame_paths
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
        worker.finished.connect(self._on_project_opened)
        self._run("open", worker)

    def _on_project_opened(self, loaded: tuple[Any, Audio, dict[int, Any]]) -> None:
        from hear2see_desktop.core.project import last_render_path, project_audio_path, project_frame_paths

        project, audio, thumbnails = loaded
        path = self._opening
        recovery = self._opening_recovery
        self.set_audio(project_audio_path(path, project), audio, project.transcript)
        self.project_path = recovery.project_path if recovery is not None else path
        self.prompt_panel.set_style(project.style)
        self.prompt_panel.set_transcript(project.transcript.text if project.transcript else "",
                                         edited=project.transcript_edited)
        self.prompt_panel.set_prompt(project.prompt, project.negative_prompt, edited=project.prompt_edited)
        self.settings_panel.set_settings(project.settings)
        self.frame_pngs = project_frame_paths(path, project)
        self.frame_times = {frame.index: frame.time_s for frame in project.frames}
        mp4 = last_render_path(path, project)
        self.last_render = {"run_id": (project.last_render or {}).get("run_id"), "mp4": str(mp4)} if mp4 else None
        for index, thumbnail in thumbnails.items():
            self.timeline.set_frame(index, self.frame_times.get(index, 0.0), thumbnail, True)
        board = project.storyboard
        if board is not None and abs(board.duration_s - audio.duration_s) <= STORYBOARD_LENGTH_TOLERANCE_S:
            self._adopt_storyboard(board, times_edited=project.scene_times_edited)
        else:
            if board is not None:
                log.warning("the project's storyboard lasts %.2f s, its narration %.2f s: cutting it again",
                            board.duration_s, audio.duration_s)
            self.rebuild_storyboard()
        self._update_actions()
        if recovery is not None:
            name = recovery.project_path.name if recovery.project_path is not None else "untitled"
            self.setWindowTitle(f"HEAR2SEE — {name} (recovered)")
            self.statusBar().showMessage("Recovered the work from the last session; save it to keep it.")
            self._unsaved_changes = False  # the autosave already holds exactly this
            self.autosave_timer.stop()
            return
        self._fill_recent_menu(self.store.add_recent_project(str(path)))
        self.setWindowTitle(f"HEAR2SEE — {path.name}")
        self.statusBar().showMessage(f"Opened {path.name}.")
        self.save_guard.changed = False  # just as it is in the file (a recovered autosave is not: it stays changed)

    def new_project(self) -> None:
        if self.is_busy() or not self.save_guard.go_ahead(self.new_project):
            return
        self.stop_playback()
        self.audio_path = self.audio = self.transcript = self.project_path = self.last_render = None
        self.player = None
        self.frame_pngs, self.frame_times = {}, {}
        self.waveform.clear()
        self.timeline.clear()
        self._adopt_storyboard(None)
        self.scene_strip.set_duration(0.0)
        self.preview.clear("Frames appear here as they render")
        self.prompt_panel.set_transcript("")
        self.prompt_panel.set_prompt("", "")
        self.setWindowTitle("HEAR2SEE")
        self._update_actions()
        self.save_guard.changed = False
        self._unsaved_changes = False  # saved or dropped by the user's answer: nothing for a crash to keep
        self.autosave_timer.stop()
        self._autosave_in_order(self.autosave_session.discard, "Removing the autosave")

    def _work_name(self) -> str:
        """What the "Save changes to ...?" question calls the work."""
        return self.project_path.name if self.project_path is not None else "the untitled project"

    def _fill_recent_menu(self, recent: list[str] | None = None) -> None:
        self.menu_bar.set_recent_projects(recent if recent is not None else self.store.recent_projects())

    def _open_recent(self, entry: str) -> None:
        self.open_project(Path(entry))

    # ------------------------------------------------------------------------------------------
    # Autosave and crash recovery (core/autosave.py does the writing, always in a worker)

    def _watch_for_changes(self) -> None:
        """Every edit the user can make schedules an autosave."""
        panel = self.prompt_panel
        for edit in (panel.prompt_edit, panel.negative_edit, panel.transcript_edit):
            edit.textChanged.connect(self.mark_changed)
        panel.style_changed.connect(self.mark_changed)
        self.settings_panel.settings_changed.connect(self.mark_changed)

    def mark_changed(self, *_args: object) -> None:
        """The work changed: autosave it once the user pauses (AUTOSAVE_DELAY_MS after the last change)."""
        self._unsaved_changes = True
        self.save_guard.changed = True
        self.autosave_timer.start()

    def autosave_now(self) -> None:
        """Write the work to the autosave in a worker, if there is a narration and something changed."""
        self.autosave_timer.stop()
        if self.audio_path is None or self.recorder is not None or not self._unsaved_changes:
            return
        self._unsaved_changes = False
        project = self.project()  # built here: the worker must not read widgets
        audio_source = self.audio_path
        frames = dict(self.frame_pngs)
        project_path = self.project_path
        saved = datetime.now().isoformat(timespec="seconds")
        session = self.autosave_session
        self._autosave_in_order(lambda: session.write(project, audio_source, frames, project_path, saved),
                                "Autosaving")

    def _autosave_in_order(self, call: Callable[[], object], message: str) -> None:
        """Run autosave jobs one after another; while one runs, only the latest request waits."""
        if self._autosave_worker is not None:
            self._autosave_queued = (call, message)
            return
        # Not in self.workers: an autosave neither blocks the user's actions nor shows a dialog.
        worker = JobWorker(CallJob(call, message), "autosave")
        worker.finished.connect(self._on_autosave_done)
        worker.cancelled.connect(self._on_autosave_done)
        worker.failed.connect(self._on_autosave_failed)
        self._autosave_worker = worker
        worker.start()

    def _on_autosave_done(self, *_args: object) -> None:
        self._autosave_worker = None
        queued, self._autosave_queued = self._autosave_queued, None
        if queued is not None:
            self._autosave_in_order(*queued)

    def _on_autosave_failed(self, message: str) -> None:
        log.warning("autosave failed: %s", message)
        self.statusBar().showMessage(f"Autosave failed: {message}")
        self._on_autosave_done()

    def _offer_recovery(self, recovery: autosave.Recovery) -> None:
        """At start-up, after a session that did not close cleanly: load its autosave, or drop it."""
        when = f" (autosaved {recovery.saved.replace('T', ' ')})" if recovery.saved else ""
        more = (f" {recovery.waiting} more window{'s' if recovery.waiting != 1 else ''} left work too; this is the "
                "newest, and the others are offered the next times HEAR2SEE starts.") if recovery.waiting else ""
        if self.confirm(self, RECOVER_QUESTION,
                        f"HEAR2SEE did not close properly last time. Recover the work from the last session{when}? "
                        f"If you answer No, the autosave is deleted.{more}"):
            self.open_project(recovery.path, recovery=recovery)
        else:
            self._autosave_in_order(self.autosave_session.discard, "Removing the autosave")

    def _sweep_part_files(self) -> None:
        """Remove the hidden part files that killed renders and saves left in the app's folders, in a worker."""
        from hear2see_desktop.core.housekeeping import sweep_app_folders

        # Not in self.workers: it neither blocks the user's actions nor shows a dialog.
        worker = JobWorker(CallJob(sweep_app_folders, "Tidying up"), "sweep")
        for signal in (worker.finished, worker.failed, worker.cancelled):
            signal.connect(self._on_swept)
        self._sweep_worker = worker
        worker.start()

    def _on_swept(self, *_args: object) -> None:
        self._sweep_worker = None

    # ------------------------------------------------------------------------------------------

    def open_models_dialog(self) -> None:
        """The model manager (window-modal, not blocking); the pickers follow what it changes."""
        from hear2see_desktop.ui.models_dialog import ModelsDialog

        if self.models_dialog is None:
            self.models_dialog = ModelsDialog(self, confirm=self.confirm, show_error=self.show_error)
            self.models_dialog.models_changed.connect(self.settings_panel.refresh_model_choices)
            self.models_dialog.models_changed.connect(self.refresh_speech_choices)
            self.models_dialog.finished.connect(self._on_models_dialog_closed)
        self.models_dialog.refresh()
        self.models_dialog.open()

    def _on_models_dialog_closed(self, _result: int) -> None:
        self.settings_panel.refresh_model_choices()
        if self.train_dialog is not None:
            self.train_dialog.form.base_notice.update_notice()
        self.refresh_speech_choices()

    def open_train_dialog(self) -> None:
        """The LoRA trainer, not modal (training takes long); a finished style joins the LoRA picker."""
        from hear2see_desktop.ui.train_dialog import TrainDialog

        settings = self.settings_panel.settings()
        if self.train_dialog is None:
            self.train_dialog = TrainDialog(self, base_model=settings.model, base_config=settings.model_config,
                                            confirm=self.confirm, show_error=self.show_error)
            self.train_dialog.style_trained.connect(self._on_style_trained)
            self.train_dialog.style_chosen.connect(self.settings_panel.lora_edit.setText)
            self.train_dialog.models_wanted.connect(self.open_models_dialog)
        self.train_dialog.suggest_base(settings.model, settings.model_config)
        self.train_dialog.show()
        self.train_dialog.raise_()

    def _on_style_trained(self, _path: str) -> None:
        self.settings_panel.refresh_model_choices()

    def refresh_speech_choices(self) -> None:
        """List the installed speech models in the audio bar, keeping the user's choice."""
        from hear2see_desktop.core.asr.installed import speech_choices

        remembered = self.store.text(Key.SPEECH_MODEL) or None
        self.audio_bar.set_speech_choices(speech_choices(), remembered)

    def _on_speech_model_chosen(self, _index: int) -> None:
        self.store.set(Key.SPEECH_MODEL, self.audio_bar.selected_speech_model() or "")

    def _about(self) -> None:
        QMessageBox.about(self, "About HEAR2SEE", f"HEAR2SEE Desktop {__version__}\n"
                          "Spoken narration to video, on your own computer.")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if not self.save_guard.go_ahead(self.close):  # Cancel, or Save (the window closes once it is saved)
            event.ignore()
            return
        self.store.set(Key.GEOMETRY, self.saveGeometry())
        self.store.set(Key.SPLITTER, self.splitter.saveState())
        self.store.set_render_settings(self.current_settings())
        self.cancel_current()
        self.stop_playback()
        threads = [w.thread for w in [*self.workers.values(), self._warm_worker, self._sweep_worker] if w is not None]
        if self.recorder is not None:
            threads.append(self.recorder.thread)
        if self.models_dialog is not None:
            threads.append(self.models_dialog.stop_download())
        if self.train_dialog is not None:
            threads.extend(self.train_dialog.stop_training())
        self._autosave_queued = None
        if self._autosave_worker is not None:
            threads.append(self._autosave_worker.thread)
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


def format_eta(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


__all__ = ["MainWindow", "QObject"]
