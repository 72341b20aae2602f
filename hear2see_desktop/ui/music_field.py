"""The Music row of the render settings: an optional background track, Browse… and Clear, and its level."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDoubleSpinBox, QFileDialog, QHBoxLayout, QLineEdit, QToolButton, QWidget

from hear2see_desktop.core.settings import MUSIC_LEVEL_RANGE_DB, RenderSettings
from hear2see_desktop.ui.wiring import without_arguments

MUSIC_FILTER = "Music (*.wav *.flac *.ogg *.mp3 *.m4a *.aac *.aiff *.opus);;All files (*)"


class MusicField(QWidget):
    """A file field for the music (empty: no music) and its level in dB relative to the voice.

    The file is only checked when a render starts (the job says in one sentence what is wrong with it),
    so typing a path never decodes audio on the UI thread.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("none")
        self.path_edit.setAccessibleName("Music file")
        self.path_edit.setToolTip("Background music, looped or cut to the narration's length and ducked while "
                                  "the narration speaks")
        self.browse_button = QToolButton(text="Browse…")
        self.browse_button.clicked.connect(self._browse)
        self.clear_button = QToolButton(text="Clear")
        self.clear_button.setToolTip("No music: the soundtrack is the narration alone")
        self.clear_button.clicked.connect(without_arguments(self.path_edit.clear))
        low, high = MUSIC_LEVEL_RANGE_DB
        self.level = QDoubleSpinBox(minimum=low, maximum=high, singleStep=1.0, decimals=1, suffix=" dB",
                                    value=RenderSettings().music_level_db)
        self.level.setAccessibleName("Music level")
        self.level.setToolTip("How far below the voice the music plays in the pauses; while the narration "
                              "speaks it goes 12 dB further down")
        for widget in (self.path_edit, self.browse_button, self.clear_button, self.level):
            layout.addWidget(widget)
        self.path_edit.textChanged.connect(self._show_state)
        self.path_edit.textChanged.connect(self.changed)
        self.level.valueChanged.connect(self.changed)
        self._show_state()

    def music_path(self) -> str | None:
        return self.path_edit.text().strip() or None

    def level_db(self) -> float:
        return round(self.level.value(), 1)

    def set_music(self, path: str | None, level_db: float) -> None:
        self.path_edit.setText(path or "")
        self.path_edit.setCursorPosition(0)
        self.level.setValue(level_db)

    def _show_state(self) -> None:
        has_music = self.music_path() is not None
        self.level.setEnabled(has_music)
        self.clear_button.setEnabled(has_music)

    def _browse(self) -> None:
        start = str(Path(self.music_path()).parent) if self.music_path() else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Choose background music", start, MUSIC_FILTER)
        if path:
            self.path_edit.setText(path)
