"""The Captions row of the render settings: burn captions in or not, and the Caption style… dialog."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QPushButton, QWidget

from hear2see_desktop.core.caption_style import CaptionStyle
from hear2see_desktop.ui.caption_style_dialog import CaptionStyleDialog
from hear2see_desktop.ui.wiring import without_arguments


class CaptionsField(QWidget):
    """The "Burn in captions" box and the style the captions (and subtitle files) take; `changed` when either
    changes. `frame_size_px` says the video's size, for the preview's shape."""

    changed = Signal()

    def __init__(self, frame_size_px: Callable[[], tuple[int, int]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._frame_size_px = frame_size_px
        self._style = CaptionStyle()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.check = QCheckBox("Burn in captions")
        self.check.setToolTip("Draw the narration's words into the picture (subtitle files are in Export)")
        self.style_button = QPushButton("Caption style…")
        self.style_button.setToolTip("Font, size, colours, outline, position, line lengths and word highlighting "
                                     "of the captions, with a preview")
        self.style_button.clicked.connect(without_arguments(self.edit_style))
        self.dialog: CaptionStyleDialog | None = None  # while it is open
        layout.addWidget(self.check)
        layout.addWidget(self.style_button)
        layout.addStretch(1)
        self.check.toggled.connect(self.changed)

    def caption_style(self) -> CaptionStyle:
        return self._style

    def set_caption_style(self, style: CaptionStyle) -> None:
        """Keep `style` for the next render (shown in the dialog)."""
        if style != self._style:
            self._style = style
            self.changed.emit()

    def edit_style(self) -> None:
        """Open the Caption style dialog (window-modal) on the current style; its OK keeps the new style."""
        if self.dialog is not None:
            self.dialog.raise_()
            return
        dialog = CaptionStyleDialog(self._style, self._frame_size_px(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.set_caption_style(dialog.style()))
        dialog.finished.connect(self._forget_dialog)
        self.dialog = dialog
        dialog.open()

    def _forget_dialog(self, _result: int) -> None:
        self.dialog = None
