"""Transcript, prompt and negative prompt, editable inline, with the style picker.

The panel remembers whether the user edited each text, so the window can ask before replacing
their words with machine output (a new transcript, a rebuilt prompt).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hear2see_desktop.core.prompt.styles import load_style, style_names


class _TrackedEdit(QPlainTextEdit):
    """A text box that knows whether its text came from the user or from `set_machine_text`."""

    def __init__(self, placeholder: str, max_height: int | None = None) -> None:
        super().__init__()
        self.setPlaceholderText(placeholder)
        self.edited = False
        self._setting = False
        self.textChanged.connect(self._mark_edited)
        if max_height:
            self.setMaximumHeight(max_height)

    def _mark_edited(self) -> None:
        if not self._setting:
            self.edited = True

    def set_machine_text(self, text: str) -> None:
        """Replace the text without counting it as the user's edit."""
        self._setting = True
        try:
            self.setPlainText(text)
        finally:
            self._setting = False
        self.edited = False


class PromptPanel(QWidget):
    """The paper's "Prompt" step: what was said, and what will be drawn."""

    rebuild_requested = Signal()
    style_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

        self.transcript_label = QLabel("Transcript")
        layout.addWidget(self.transcript_label)
        self.transcript_edit = _TrackedEdit("Record or import a narration: its transcript appears here.", 140)
        self.transcript_edit.setAccessibleName("Transcript")
        layout.addWidget(self.transcript_edit)

        header = QHBoxLayout()
        header.addWidget(QLabel("Prompt"))
        header.addStretch(1)
        header.addWidget(QLabel("Style"))
        self.style_combo = QComboBox()
        for name in style_names():
            self.style_combo.addItem(load_style(name).label, name)
        self.style_combo.currentIndexChanged.connect(lambda _i: self.style_changed.emit(self.style()))
        header.addWidget(self.style_combo)
        self.rebuild_button = QPushButton("Rebuild from transcript")
        self.rebuild_button.setToolTip("Build the prompt again from the transcript and style")
        self.rebuild_button.clicked.connect(self.rebuild_requested)
        header.addWidget(self.rebuild_button)
        layout.addLayout(header)

        self.prompt_edit = _TrackedEdit("The picture to draw, built from the transcript; edit freely.", 110)
        self.prompt_edit.setAccessibleName("Prompt")
        layout.addWidget(self.prompt_edit)
        layout.addWidget(QLabel("Negative prompt"))
        self.negative_edit = _TrackedEdit("What to avoid (text, watermark, blurry, …)", 70)
        self.negative_edit.setAccessibleName("Negative prompt")
        layout.addWidget(self.negative_edit)
        self.dropped_label = QLabel()
        self.dropped_label.setWordWrap(True)
        self.dropped_label.setVisible(False)
        layout.addWidget(self.dropped_label)
        layout.addStretch(1)
        self.set_style("cinematic")

    # --- reading -----------------------------------------------------------------------------
    def transcript_text(self) -> str:
        return self.transcript_edit.toPlainText().strip()

    def prompt_text(self) -> str:
        return self.prompt_edit.toPlainText().strip()

    def negative_text(self) -> str:
        return self.negative_edit.toPlainText().strip()

    def style(self) -> str:
        return str(self.style_combo.currentData())

    def prompt_edited(self) -> bool:
        return self.prompt_edit.edited or self.negative_edit.edited

    # --- writing -----------------------------------------------------------------------------
    def set_style(self, name: str) -> None:
        index = self.style_combo.findData(name)
        if index >= 0:
            self.style_combo.setCurrentIndex(index)

    def show_live_transcript(self, text: str) -> None:
        """Partial text while recording: shown, read-only, not the user's."""
        self.transcript_edit.setReadOnly(True)
        self.transcript_edit.set_machine_text(text)
        self.transcript_edit.moveCursor(self.transcript_edit.textCursor().MoveOperation.End)

    def set_transcript(self, text: str, edited: bool = False) -> None:
        self.transcript_edit.setReadOnly(False)
        self.transcript_edit.set_machine_text(text)
        self.transcript_edit.edited = edited

    def set_prompt(self, prompt: str, negative: str, dropped: list[str] | None = None, edited: bool = False) -> None:
        self.prompt_edit.set_machine_text(prompt)
        self.negative_edit.set_machine_text(negative)
        self.prompt_edit.edited = edited
        if dropped:
            self.dropped_label.setText("Left out to fit CLIP's 77 tokens: " + ", ".join(dropped))
            self.dropped_label.setVisible(True)
        else:
            self.dropped_label.setVisible(False)
