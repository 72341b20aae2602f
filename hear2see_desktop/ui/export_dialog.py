"""Export dialog: which outputs (MP4, PNG frames, transcript TXT) go where."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGridLayout,
    QLineEdit,
    QToolButton,
    QWidget,
)


@dataclass
class ExportChoice:
    """Targets the user chose; None means "don't export that"."""

    mp4: Path | None = None
    frames_dir: Path | None = None
    transcript_txt: Path | None = None
    word_times: bool = False


class ExportDialog(QDialog):
    """Ticks and paths; the window runs the exports in workers after `accept`."""

    def __init__(self, base: Path, has_video: bool, has_transcript: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        grid = QGridLayout(self)
        self.mp4_check = QCheckBox("Video (MP4 with the narration)")
        self.mp4_path = QLineEdit(str(base.with_suffix(".mp4")))
        self.frames_check = QCheckBox("Frames (PNG)")
        self.frames_path = QLineEdit(str(base.parent / f"{base.name}-frames"))
        self.txt_check = QCheckBox("Transcript (TXT)")
        self.txt_path = QLineEdit(str(base.with_suffix(".txt")))
        self.word_times = QCheckBox("with word times")
        rows = (
            (self.mp4_check, self.mp4_path, has_video, self._pick_mp4),
            (self.frames_check, self.frames_path, has_video, self._pick_frames),
            (self.txt_check, self.txt_path, has_transcript, self._pick_txt),
        )
        for row, (check, edit, enabled, pick) in enumerate(rows):
            check.setChecked(enabled)
            check.setEnabled(enabled)
            edit.setEnabled(enabled)
            browse = QToolButton(text="…")
            browse.setEnabled(enabled)
            browse.clicked.connect(pick)
            grid.addWidget(check, row, 0)
            grid.addWidget(edit, row, 1)
            grid.addWidget(browse, row, 2)
        self.word_times.setEnabled(has_transcript)
        grid.addWidget(self.word_times, 3, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        grid.addWidget(buttons, 4, 0, 1, 3)
        self.resize(620, self.sizeHint().height())

    def choice(self) -> ExportChoice:
        def target(check: QCheckBox, edit: QLineEdit) -> Path | None:
            text = edit.text().strip()
            return Path(text).expanduser() if check.isChecked() and text else None

        return ExportChoice(
            mp4=target(self.mp4_check, self.mp4_path),
            frames_dir=target(self.frames_check, self.frames_path),
            transcript_txt=target(self.txt_check, self.txt_path),
            word_times=self.word_times.isChecked(),
        )

    def _pick_mp4(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the video", self.mp4_path.text(), "MP4 video (*.mp4)")
        if path:
            self.mp4_path.setText(path)

    def _pick_frames(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder for the frames", self.frames_path.text())
        if path:
            self.frames_path.setText(path)

    def _pick_txt(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the transcript", self.txt_path.text(), "Text (*.txt)")
        if path:
            self.txt_path.setText(path)
