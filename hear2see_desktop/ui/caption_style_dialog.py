"""The Caption style dialog: font, size, colours, outline, position, line lengths and word highlighting, with a
live preview drawn by the render's own caption code."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from hear2see_desktop.core.caption_preview import caption_preview
from hear2see_desktop.core.caption_style import (
    MAX_CHARS_RANGE,
    MAX_LINES_RANGE,
    OUTLINE_WIDTH_RANGE,
    SIZE_RANGE_PCT,
    CaptionStyle,
    colour_hex,
)
from hear2see_desktop.core.choices import CaptionHighlight, CaptionPosition
from hear2see_desktop.core.fonts import FontFace, font_faces
from hear2see_desktop.core.jobs import CallJob
from hear2see_desktop.ui.images import rgb_to_qimage
from hear2see_desktop.ui.job_worker import JobWorker
from hear2see_desktop.ui.layout import row

AUTOMATIC_FONT = "Automatic (the bundled bold font)"
PREVIEW_LONGEST_PX = 360
_FONT_SCANS: set[JobWorker] = set()
"""Font scans still running: kept here, not by a dialog that may close first."""
POSITION_LABELS = {CaptionPosition.BOTTOM: "Bottom", CaptionPosition.MIDDLE: "Middle", CaptionPosition.TOP: "Top"}


class ColourButton(QPushButton):
    """A button that shows a colour and picks another with the colour dialog."""

    colour_changed = Signal(str)

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._title = title
        self._colour = "#FFFFFF"
        self.setAccessibleName(title)
        self.clicked.connect(self._pick)

    def colour(self) -> str:
        return self._colour

    def set_colour(self, colour: str) -> None:
        self._colour = colour_hex(colour)
        self.setText(self._colour)
        self.setStyleSheet(f"QPushButton {{ border-left: 18px solid {self._colour}; padding-left: 6px; }}")
        self.colour_changed.emit(self._colour)

    def _pick(self) -> None:
        chosen = QColorDialog.getColor(QColor(self._colour), self, self._title)
        if chosen.isValid():
            self.set_colour(chosen.name().upper())


class CaptionStyleDialog(QDialog):
    """Edits one CaptionStyle; `style()` is the result once accepted. The installed fonts are listed by a
    worker (a scan of the font folders); the preview is redrawn as each field changes (a few milliseconds)."""

    def __init__(self, style: CaptionStyle, frame_size_px: tuple[int, int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Caption style")
        self._frame_size_px = frame_size_px
        self._filling = True
        self._fonts_ready = False  # until the scan is done, a named font is not looked up (nor drawn)
        form = QFormLayout()
        self.font_combo = QComboBox()
        self.font_combo.setAccessibleName("Caption font")
        self.font_combo.addItem(AUTOMATIC_FONT, "")
        if style.font:
            self.font_combo.addItem(style.font, style.font)
            self.font_combo.setCurrentIndex(1)
        self.font_combo.setToolTip("The font captions are drawn with; letters it lacks (Korean, say) are drawn "
                                   "with an installed font that has them")
        form.addRow("Font", self.font_combo)
        self.size = QDoubleSpinBox(minimum=SIZE_RANGE_PCT[0], maximum=SIZE_RANGE_PCT[1], singleStep=0.5, decimals=1,
                                   suffix=" %")
        self.size.setAccessibleName("Caption size")
        self.size.setToolTip("The letters' size as a share of the frame's shorter side")
        form.addRow("Size", self.size)
        self.colour = ColourButton("Caption colour")
        form.addRow("Colour", self.colour)
        self.outline_colour = ColourButton("Outline colour")
        self.outline_width = QDoubleSpinBox(minimum=OUTLINE_WIDTH_RANGE[0], maximum=OUTLINE_WIDTH_RANGE[1],
                                            singleStep=0.5, decimals=1, suffix=" ×")
        self.outline_width.setSpecialValueText("none")
        self.outline_width.setAccessibleName("Outline width")
        self.outline_width.setToolTip("The outline's width as a multiple of the usual one (a twelfth of the "
                                      "letters' size)")
        form.addRow("Outline", row(self.outline_colour, self.outline_width))
        self.position = QComboBox()
        self.position.setAccessibleName("Caption position")
        for key, label in POSITION_LABELS.items():
            self.position.addItem(label, key.value)
        form.addRow("Position", self.position)
        self.max_chars = QSpinBox(minimum=MAX_CHARS_RANGE[0], maximum=MAX_CHARS_RANGE[1], suffix=" characters")
        self.max_chars.setAccessibleName("Characters per line")
        self.max_lines = QSpinBox(minimum=MAX_LINES_RANGE[0], maximum=MAX_LINES_RANGE[1], suffix=" lines")
        self.max_lines.setAccessibleName("Lines per caption")
        for spin in (self.max_chars, self.max_lines):
            spin.setToolTip("How the words are cut into captions, in the picture and in the subtitle files")
        form.addRow("At most", row(self.max_chars, QLabel("a line,"), self.max_lines))
        self.highlight = QCheckBox("Highlight the word being spoken")
        self.highlight.setToolTip("The karaoke style of short videos (ASS subtitles carry it as karaoke timing)")
        self.highlight_colour = ColourButton("Highlight colour")
        form.addRow("Words", row(self.highlight, self.highlight_colour))

        self.preview = QLabel()
        self.preview.setAccessibleName("Caption preview")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumSize(PREVIEW_LONGEST_PX, PREVIEW_LONGEST_PX)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
                                   | QDialogButtonBox.StandardButton.RestoreDefaults)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(
            partial(self.set_style, CaptionStyle()))
        columns = QHBoxLayout()
        columns.addLayout(form)
        columns.addWidget(self.preview, 1)
        outer = QVBoxLayout(self)
        outer.addLayout(columns)
        outer.addWidget(buttons)

        self.set_style(style)
        for signal in (self.font_combo.currentIndexChanged, self.size.valueChanged, self.outline_width.valueChanged,
                       self.position.currentIndexChanged, self.max_chars.valueChanged, self.max_lines.valueChanged,
                       self.highlight.toggled, self.colour.colour_changed, self.outline_colour.colour_changed,
                       self.highlight_colour.colour_changed):
            signal.connect(self._redraw)
        self.highlight.toggled.connect(self.highlight_colour.setEnabled)
        self._filling = False
        self._redraw()
        worker = JobWorker(CallJob(font_faces, "Finding fonts"), "fonts", preview_interval_s=None)
        worker.finished.connect(self._show_fonts)
        worker.finished.connect(lambda _faces: _FONT_SCANS.discard(worker))
        _FONT_SCANS.add(worker)
        worker.start()

    def style(self) -> CaptionStyle:
        """The style the fields show."""
        return CaptionStyle(
            font=str(self.font_combo.currentData() or ""),
            size_pct=round(self.size.value(), 1),
            colour=self.colour.colour(),
            outline_colour=self.outline_colour.colour(),
            outline_width=round(self.outline_width.value(), 1),
            position=str(self.position.currentData()),
            max_chars=self.max_chars.value(),
            max_lines=self.max_lines.value(),
            highlight=CaptionHighlight.WORD if self.highlight.isChecked() else CaptionHighlight.NONE,
            highlight_colour=self.highlight_colour.colour(),
        )

    def set_style(self, style: CaptionStyle) -> None:
        """Show `style` in the fields (the preview follows)."""
        filling, self._filling = self._filling, True
        try:
            index = self.font_combo.findData(style.font)
            if index < 0:
                self.font_combo.addItem(style.font, style.font)
                index = self.font_combo.count() - 1
            self.font_combo.setCurrentIndex(index)
            self.size.setValue(style.size_pct)
            self.colour.set_colour(style.colour)
            self.outline_colour.set_colour(style.outline_colour)
            self.outline_width.setValue(style.outline_width)
            self.position.setCurrentIndex(max(0, self.position.findData(str(style.position))))
            self.max_chars.setValue(style.max_chars)
            self.max_lines.setValue(style.max_lines)
            self.highlight.setChecked(style.highlight == CaptionHighlight.WORD)
            self.highlight_colour.set_colour(style.highlight_colour)
            self.highlight_colour.setEnabled(self.highlight.isChecked())
        finally:
            self._filling = filling
        self._redraw()

    def preview_image(self) -> QPixmap:
        return self.preview.pixmap()

    def fonts_listed(self) -> bool:
        """Whether the installed fonts are in the font list yet."""
        return self._fonts_ready

    def _redraw(self, *_args: Any) -> None:
        """Draw the sample caption in the fields' style (the render's own drawing code, at preview size)."""
        if self._filling:
            return
        style = self.style() if self._fonts_ready else replace(self.style(), font="")
        problem = style.problem()
        if problem is not None:
            self.preview.setText(problem)
            return
        width_px, height_px = self._frame_size_px
        rgb = caption_preview(style, width_px, height_px, PREVIEW_LONGEST_PX)
        self.preview.setPixmap(QPixmap.fromImage(rgb_to_qimage(rgb)))

    def _show_fonts(self, faces: object) -> None:
        """The installed fonts, found by the worker, added to the font list (the choice is kept)."""
        current = self.font_combo.currentData()
        self._filling = True
        try:
            known = {str(self.font_combo.itemData(i)).lower() for i in range(self.font_combo.count())}
            for face in faces if isinstance(faces, tuple) else ():
                if isinstance(face, FontFace) and face.name.lower() not in known:
                    self.font_combo.addItem(face.name, face.name)
                    self.font_combo.setItemData(self.font_combo.count() - 1, face.path, Qt.ItemDataRole.ToolTipRole)
            self.font_combo.setCurrentIndex(max(0, self.font_combo.findData(current)))
        finally:
            self._filling = False
        self._fonts_ready = True
        self._redraw()

