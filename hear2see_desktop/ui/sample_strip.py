"""The validation images of a training run as they arrive: the latest one large, all of them as thumbnails.

Seeing the same prompt drawn every N steps is how a user judges when a style has learnt enough (or begun
to copy its pictures), so each thumbnail is labelled with its step and a click shows it large again.
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QScrollArea, QToolButton, QVBoxLayout, QWidget

from hear2see_desktop.ui.wiring import without_arguments

LARGE_PX = 256
THUMB_PX = 72


class SampleStrip(QWidget):
    """`add_sample(step, image)` per validation image; `clear()` for a new run."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.samples: list[tuple[int, QImage]] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.large = QLabel("Validation images appear here every N steps.")
        self.large.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.large.setMinimumWidth(LARGE_PX)
        self.large.setFixedHeight(LARGE_PX)  # the loss curve above takes any height to spare
        self.large.setWordWrap(True)
        self.caption = QLabel()
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.large)
        layout.addWidget(self.caption)
        self._row_widget = QWidget()
        self._row = QHBoxLayout(self._row_widget)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(self._row_widget)
        scroll.setWidgetResizable(True)
        scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFixedHeight(THUMB_PX + 44)
        self.scroll = scroll
        layout.addWidget(scroll)

    def add_sample(self, step: int, image: QImage) -> None:
        """Show `image` large and add its thumbnail, labelled with the step, at the end of the row."""
        if image.isNull():
            return
        self.samples.append((step, image))
        button = QToolButton()
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        button.setIcon(QPixmap.fromImage(image))
        button.setIconSize(image.size().scaled(THUMB_PX, THUMB_PX, Qt.AspectRatioMode.KeepAspectRatio))
        button.setText(f"step {step}")
        button.setAutoRaise(True)
        index = len(self.samples) - 1
        button.clicked.connect(without_arguments(partial(self.show_sample, index)))
        self._row.insertWidget(self._row.count() - 1, button)
        self.show_sample(index)
        bar = self.scroll.horizontalScrollBar()
        bar.setValue(bar.maximum())

    def show_sample(self, index: int) -> None:
        step, image = self.samples[index]
        pixmap = QPixmap.fromImage(image).scaled(LARGE_PX, LARGE_PX, Qt.AspectRatioMode.KeepAspectRatio,
                                                 Qt.TransformationMode.SmoothTransformation)
        self.large.setPixmap(pixmap)
        self.caption.setText(f"Validation image after step {step}")

    def clear(self) -> None:
        self.samples.clear()
        while self._row.count() > 1:
            item = self._row.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.large.clear()
        self.large.setText("Validation images appear here every N steps.")
        self.caption.clear()
