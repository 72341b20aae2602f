"""The window's one screen: audio bar; prompt, preview and render settings side by side; waveform, sound lane,
scenes, scene sound words, frames.

Layout only: the window connects the widgets to its parts.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSplitter, QVBoxLayout, QWidget

from hear2see_desktop.ui.audio_bar import AudioBar
from hear2see_desktop.ui.metrics_panel import MetricsPanel
from hear2see_desktop.ui.preview_view import PreviewView
from hear2see_desktop.ui.prompt_panel import PromptPanel
from hear2see_desktop.ui.render_settings_panel import RenderSettingsPanel
from hear2see_desktop.ui.scene_sounds_field import SceneSoundsField
from hear2see_desktop.ui.scene_strip import SceneStrip
from hear2see_desktop.ui.sound_lane import SoundLane
from hear2see_desktop.ui.timeline_view import TimelineView
from hear2see_desktop.ui.waveform_view import WaveformView

EMPTY_PREVIEW = "Frames appear here as they render"


class Workspace(QWidget):
    """Every widget of the Audio -> Prompt -> Video flow, laid out top to bottom."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        self.audio_bar = AudioBar()
        outer.addWidget(self.audio_bar)
        self.splitter = top = QSplitter(Qt.Orientation.Horizontal)
        self.prompt_panel = PromptPanel()
        top.addWidget(self.prompt_panel)
        top.addWidget(self._preview_box())
        top.addWidget(self._render_box())
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 4)
        top.setStretchFactor(2, 2)
        outer.addWidget(top, 1)
        self.waveform = WaveformView()
        outer.addWidget(self.waveform)
        self.sound_lane = SoundLane()
        outer.addWidget(self.sound_lane)
        self.scene_strip = SceneStrip()
        outer.addWidget(self.scene_strip)
        self.scene_sounds = SceneSoundsField()
        outer.addWidget(self.scene_sounds)
        self.timeline = TimelineView()
        outer.addWidget(self.timeline)

    def _preview_box(self) -> QWidget:
        """The picture being rendered, with the finished render's metrics and rating under it."""
        self.preview = PreviewView()
        self.preview.clear(EMPTY_PREVIEW)
        self.preview.setMinimumSize(320, 240)
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.preview, 1)
        self.metrics_panel = MetricsPanel()
        layout.addWidget(self.metrics_panel)
        return box

    def _render_box(self) -> QWidget:
        """The render settings with the Render, Add to queue, Cancel and Export buttons, the progress bar, the ETA."""
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        self.settings_panel = RenderSettingsPanel()
        layout.addWidget(self.settings_panel)
        buttons = QHBoxLayout()
        self.render_button = QPushButton("Render")
        self.render_button.setToolTip("Render the video (Ctrl+Enter); while the render queue runs, it adds to it")
        self.queue_button = QPushButton("Add to queue")
        self.queue_button.setToolTip("Queue this render with these settings, to run in the background "
                                     "(Ctrl+Shift+Enter)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the current task (Esc)")
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the video, frames or transcript (Ctrl+E)")
        for button in (self.render_button, self.queue_button, self.cancel_button, self.export_button):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setFormat("")
        layout.addWidget(self.progress_bar)
        self.eta_label = QLabel("")
        layout.addWidget(self.eta_label)
        layout.addStretch(1)
        return box


__all__ = ["EMPTY_PREVIEW", "Workspace"]
