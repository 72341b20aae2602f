"""Export dialog: which outputs (MP4, PNG frames, transcript TXT, SRT/WebVTT/ASS subtitles) go where."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from hear2see_desktop.core.settings import RenderSettings
    from hear2see_desktop.core.transcript import Transcript


@dataclass
class ExportSource:
    """What an export writes from: the window's work, or a render from the History."""

    base: Path  # where the dialog proposes to write (a path without suffix)
    mp4: str | None  # the render's video
    frame_pngs: list[Path] = field(default_factory=list)
    transcript: Transcript | None = None  # as recognised, with word times (for subtitles)
    text: Transcript | None = None  # the text as the user has it (for the TXT)
    settings: RenderSettings | None = None  # the captions' style that subtitles follow


@dataclass
class ExportChoice:
    """Targets the user chose; None means "don't export that"."""

    mp4: Path | None = None
    frames_dir: Path | None = None
    transcript_txt: Path | None = None
    word_times: bool = False
    srt: Path | None = None
    vtt: Path | None = None
    ass: Path | None = None  # with the caption style


class ExportDialog(QDialog):
    """Ticks and paths; the window runs the exports in workers after `accept`.

    Subtitles need the recognised words' times (`has_word_times`); their paths follow the MP4's
    until the user types one of their own.
    """

    def __init__(self, base: Path, has_video: bool, has_transcript: bool, parent: QWidget | None = None,
                 has_word_times: bool = False) -> None:
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
        self.srt_check = QCheckBox("Subtitles (.srt)")
        self.srt_path = QLineEdit(str(base.with_suffix(".srt")))
        self.vtt_check = QCheckBox("Subtitles (.vtt)")
        self.vtt_path = QLineEdit(str(base.with_suffix(".vtt")))
        self.ass_check = QCheckBox("Subtitles (.ass, in the caption style)")
        self.ass_path = QLineEdit(str(base.with_suffix(".ass")))
        rows = (
            (self.mp4_check, self.mp4_path, has_video, has_video, self._pick_mp4),
            (self.frames_check, self.frames_path, has_video, has_video, self._pick_frames),
            (self.txt_check, self.txt_path, has_transcript, has_transcript, self._pick_txt),
            (self.srt_check, self.srt_path, has_word_times, False, self._pick_srt),
            (self.vtt_check, self.vtt_path, has_word_times, False, self._pick_vtt),
            (self.ass_check, self.ass_path, has_word_times, False, self._pick_ass),
        )
        for row, (check, edit, enabled, checked, pick) in enumerate(rows):
            check.setChecked(checked)
            check.setEnabled(enabled)
            edit.setEnabled(enabled)
            edit.setAccessibleName(f"{check.text()} path")
            browse = QToolButton(text="…")
            browse.setEnabled(enabled)
            browse.setAccessibleName(f"Choose where {check.text()} goes")
            browse.clicked.connect(pick)
            grid.addWidget(check, row if row < 3 else row + 1, 0)
            grid.addWidget(edit, row if row < 3 else row + 1, 1)
            grid.addWidget(browse, row if row < 3 else row + 1, 2)
            if row >= 3 and not enabled:
                check.setToolTip("Subtitles need the recognised words' times: transcribe the narration first.")
        self.word_times.setEnabled(has_transcript)
        grid.addWidget(self.word_times, 3, 1)
        self._mp4_stem = self._stem(self.mp4_path.text())
        self.mp4_path.textChanged.connect(self._follow_mp4)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        grid.addWidget(buttons, len(rows) + 1, 0, 1, 3)
        self.resize(620, self.sizeHint().height())

    def choice(self) -> ExportChoice:
        def target(check: QCheckBox, edit: QLineEdit) -> Path | None:
            text = edit.text().strip()
            return Path(text).expanduser() if check.isChecked() and check.isEnabled() and text else None

        return ExportChoice(
            mp4=target(self.mp4_check, self.mp4_path),
            frames_dir=target(self.frames_check, self.frames_path),
            transcript_txt=target(self.txt_check, self.txt_path),
            word_times=self.word_times.isChecked(),
            srt=target(self.srt_check, self.srt_path),
            vtt=target(self.vtt_check, self.vtt_path),
            ass=target(self.ass_check, self.ass_path),
        )

    @staticmethod
    def _stem(path_text: str) -> str:
        """The MP4 path without its suffix, what the subtitles' paths are made from."""
        path = Path(path_text.strip())
        return str(path.with_suffix("")) if path.suffix.lower() == ".mp4" else str(path)

    def _follow_mp4(self, text: str) -> None:
        """Subtitles sit next to the video: move their paths along while they are still the derived ones."""
        old, new = self._mp4_stem, self._stem(text)
        self._mp4_stem = new
        for edit, suffix in ((self.srt_path, ".srt"), (self.vtt_path, ".vtt"), (self.ass_path, ".ass")):
            if edit.text().strip() == old + suffix:
                edit.setText(new + suffix)

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

    def _pick_srt(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the subtitles", self.srt_path.text(), "SubRip (*.srt)")
        if path:
            self.srt_path.setText(path)

    def _pick_vtt(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the subtitles", self.vtt_path.text(), "WebVTT (*.vtt)")
        if path:
            self.vtt_path.setText(path)

    def _pick_ass(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the subtitles", self.ass_path.text(),
                                              "Advanced SubStation Alpha (*.ass)")
        if path:
            self.ass_path.setText(path)
