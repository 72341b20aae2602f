"""The large picture of the main window: the frame being rendered or the one the user picked.

The image is scaled to fit, keeping its aspect ratio, centred, with smooth filtering (a vertical 9:16
frame stands in the middle with bars beside it, never stretched); the scaled copy is cached per widget
size so a stream of repaints costs no rescaling. Its caption wraps to the image's width, so a narrow
frame shows all of it. With no image it shows a hint of what will appear there.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPainter, QPaintEvent, QPalette, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from hear2see_desktop.ui.images import sharp_pixmap

DEFAULT_HINT = "Frames appear here as they render"
CAPTION_MARGIN_PX = 6
_CAPTION_FLAGS = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap


class PreviewView(QWidget):
    """Shows one QImage (with an optional caption) or a centred hint."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Frame preview")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._image: QImage | None = None
        self._caption = ""
        self._message = DEFAULT_HINT
        self._scaled: QPixmap | None = None
        self._scaled_for: QSize | None = None
        self.setAccessibleDescription(self._message)

    # --- data in ----------------------------------------------------------------------------------
    def show_image(self, image: QImage, caption: str = "") -> None:
        """Show `image` (a null image counts as none) with `caption` along its bottom edge."""
        if image is None or image.isNull():
            self.clear(self._message)
            return
        self._image = image
        self._caption = caption
        self._scaled = None
        self.setAccessibleDescription(caption or "Rendered frame")
        self.update()

    def clear(self, message: str = DEFAULT_HINT) -> None:
        """Drop the image and show `message` instead."""
        self._image = None
        self._caption = ""
        self._message = message
        self._scaled = None
        self.setAccessibleDescription(message)
        self.update()

    # --- state out --------------------------------------------------------------------------------
    def current_image(self) -> QImage | None:
        """The image shown, as given (unscaled), or None while the hint is shown."""
        return self._image

    @property
    def caption(self) -> str:
        return self._caption

    @property
    def message(self) -> str:
        """The hint shown when there is no image."""
        return self._message

    def image_rect(self) -> QRect:
        """Where the image is drawn at the current size: fitted, aspect kept, centred (empty with no image)."""
        if self._image is None:
            return QRect()
        fitted = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        if fitted.isEmpty():
            return QRect()
        x = (self.width() - fitted.width()) // 2
        y = (self.height() - fitted.height()) // 2
        return QRect(x, y, fitted.width(), fitted.height())

    def caption_rect(self) -> QRect:
        """The caption's band at the current size: the image's width, as many lines as the caption wraps onto
        (at most the image's height), along the image's bottom edge (empty with no image or caption)."""
        target = self.image_rect()
        if target.isEmpty() or not self._caption:
            return QRect()
        text_width = max(target.width() - 2 * CAPTION_MARGIN_PX, 1)
        wrapped = QFontMetrics(self.font()).boundingRect(QRect(0, 0, text_width, 100_000), _CAPTION_FLAGS,
                                                         self._caption)
        band_h = min(wrapped.height() + 2 * CAPTION_MARGIN_PX, target.height())
        return QRect(target.left(), target.bottom() - band_h + 1, target.width(), band_h)

    def sizeHint(self) -> QSize:
        return QSize(512, 384)

    def minimumSizeHint(self) -> QSize:
        return QSize(64, 48)

    # --- painting ---------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        if self.width() <= 0 or self.height() <= 0:
            return
        palette = self.palette()
        painter = QPainter(self)
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Window).darker(115))
        target = self.image_rect()
        if self._image is None or target.isEmpty():
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(
                self.rect().adjusted(8, 8, -8, -8),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self._message if self._image is None else "",
            )
            painter.end()
            return
        painter.drawPixmap(target, self._pixmap_for(self._image, target.size()))
        if self._caption:
            self._draw_caption(painter, target)
        painter.end()

    def _pixmap_for(self, image: QImage, size: QSize) -> QPixmap:
        """The image smoothly scaled to `size` device-independent pixels, cached until size or image change."""
        if self._scaled is not None and self._scaled_for == size:
            return self._scaled
        pixmap = sharp_pixmap(image, size, self.devicePixelRatioF())
        self._scaled, self._scaled_for = pixmap, QSize(size)
        return pixmap

    def _draw_caption(self, painter: QPainter, target: QRect) -> None:
        """Caption on a translucent band at the image's bottom, readable over any picture, kept inside it."""
        band = self.caption_rect()
        if band.isEmpty():
            return
        painter.save()
        painter.setClipRect(target)
        painter.fillRect(band, QColor(0, 0, 0, 150))
        painter.setPen(QColor(255, 255, 255))
        painter.setFont(self.font())
        painter.drawText(band.adjusted(CAPTION_MARGIN_PX, 0, -CAPTION_MARGIN_PX, 0), _CAPTION_FLAGS, self._caption)
        painter.restore()


__all__ = ["DEFAULT_HINT", "PreviewView"]
