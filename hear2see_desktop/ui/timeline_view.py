"""A strip of frame thumbnails placed at their times, on the same axis as the waveform above it.

Frames arrive while they render: a preview of an image being denoised is drawn dimmed with a dashed
outline, and the finished image replaces it. The widget keeps a plain model (index -> time, image,
final) that the window and the tests can read back.
"""

from __future__ import annotations

from typing import NamedTuple

from PySide6.QtCore import QLineF, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen, QPixmap, QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from hear2see_desktop.ui.images import sharp_pixmap

THUMBNAIL_HEIGHT_PX = 72
MARGIN_PX = 4
TICK_PX = 6
PREVIEW_OPACITY = 0.5
PLAYHEAD_COLOUR = QColor(230, 57, 70)


class TimelineFrame(NamedTuple):
    """One distinct image of the clip: where it starts (s), its latest picture and whether that is final."""

    time_s: float
    image: QImage
    final: bool


class TimelineView(QWidget):
    """Thumbnails of the clip's images at their start times; later frames are drawn on top of earlier ones."""

    frame_clicked = Signal(int)  # index of the image whose thumbnail was clicked

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Frame timeline")
        self.setAccessibleDescription("Rendered images at the moments they appear in the video.")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(2 * MARGIN_PX + TICK_PX + 16)
        self._duration_s = 0.0
        self._frames: dict[int, TimelineFrame] = {}
        self._thumbnails: dict[int, QPixmap] = {}  # scaled to the current strip height
        self._playhead_s: float | None = None
        self.placeholder_text = "Images appear here as they render"

    # --- data in ----------------------------------------------------------------------------------
    def set_duration(self, seconds: float) -> None:
        """Length of the clip the width stands for (the narration's length, as in the waveform)."""
        seconds = max(float(seconds), 0.0)
        if seconds != self._duration_s:
            self._duration_s = seconds
            self.update()

    def set_frame(self, index: int, time_s: float, image: QImage, final: bool) -> None:
        """Place or replace image `index` at `time_s`; a final image is never replaced by a late preview."""
        current = self._frames.get(index)
        if current is not None and current.final and not final:
            return
        self._frames[index] = TimelineFrame(float(time_s), image, bool(final))
        self._thumbnails.pop(index, None)
        self.update()

    def remove_frame(self, index: int) -> None:
        """Forget one image (e.g. its render was cancelled before it finished)."""
        if self._frames.pop(index, None) is not None:
            self._thumbnails.pop(index, None)
            self.update()

    def set_playhead(self, seconds: float | None) -> None:
        """Mark the playback position, or hide the mark with None."""
        seconds = None if seconds is None else float(seconds)
        if seconds != self._playhead_s:
            self._playhead_s = seconds
            self.update()

    def clear(self) -> None:
        """No frames and no playhead; the duration stays, since the narration has not changed."""
        self._frames.clear()
        self._thumbnails.clear()
        self._playhead_s = None
        self.update()

    # --- state out --------------------------------------------------------------------------------
    def frame_count(self) -> int:
        """Number of thumbnails shown (previews included)."""
        return len(self._frames)

    def has_final(self, index: int) -> bool:
        """Whether image `index` has finished rendering."""
        frame = self._frames.get(index)
        return frame is not None and frame.final

    def frame(self, index: int) -> TimelineFrame | None:
        return self._frames.get(index)

    def frames(self) -> dict[int, TimelineFrame]:
        """A copy of the model: index -> (time_s, image, final)."""
        return dict(self._frames)

    @property
    def duration_s(self) -> float:
        return self._duration_s

    @property
    def span_s(self) -> float:
        """Seconds the width stands for: the duration, or past the last frame while it is still unknown."""
        if self._duration_s > 0:
            return self._duration_s
        if self._frames:
            return max(frame.time_s for frame in self._frames.values()) + 1.0
        return 0.0

    @property
    def playhead_s(self) -> float | None:
        return self._playhead_s

    def seconds_to_x(self, seconds: float) -> float:
        """Where a moment lies along the width: the same mapping as WaveformView for the same duration."""
        span = self.span_s
        return 0.0 if span <= 0 else seconds / span * self.width()

    def thumbnail_rect(self, index: int) -> QRect:
        """Where image `index` is drawn (empty if it is not on the timeline)."""
        frame = self._frames.get(index)
        if frame is None:
            return QRect()
        return self._rect_for(frame)

    def index_at(self, x: float, y: float) -> int | None:
        """The topmost thumbnail under a point, as drawn."""
        for index in reversed(self._paint_order()):
            if QRectF(self._rect_for(self._frames[index])).contains(QPointF(x, y)):
                return index
        return None

    def sizeHint(self) -> QSize:
        return QSize(640, THUMBNAIL_HEIGHT_PX + 2 * MARGIN_PX + TICK_PX)

    def minimumSizeHint(self) -> QSize:
        return QSize(32, 2 * MARGIN_PX + TICK_PX + 16)

    # --- events -----------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            index = self.index_at(event.position().x(), event.position().y())
            if index is not None:
                self.frame_clicked.emit(index)
                event.accept()
                return
        super().mousePressEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        if event.oldSize().height() != event.size().height():
            self._thumbnails.clear()
        super().resizeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        width, height = self.width(), self.height()
        if width <= 0 or height <= 0:
            return
        palette = self.palette()
        painter = QPainter(self)
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Window).darker(108))
        tick_y = height - TICK_PX
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 1))
        painter.drawLine(QLineF(0, tick_y, width, tick_y))

        if not self._frames:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder_text)

        highlight = palette.color(QPalette.ColorRole.Highlight)
        outline = palette.color(QPalette.ColorRole.Shadow)
        for index in self._paint_order():
            frame = self._frames[index]
            rect = self._rect_for(frame)
            if rect.isEmpty():
                continue
            x_tick = self.seconds_to_x(frame.time_s)
            painter.setPen(QPen(highlight if frame.final else palette.color(QPalette.ColorRole.Mid), 2))
            painter.drawLine(QLineF(x_tick, tick_y, x_tick, height))
            pixmap = self._thumbnail(index, rect.size())
            painter.setOpacity(1.0 if frame.final else PREVIEW_OPACITY)
            if pixmap is None:
                painter.fillRect(rect, palette.color(QPalette.ColorRole.Mid))
            else:
                painter.drawPixmap(rect, pixmap)
            painter.setOpacity(1.0)
            if frame.final:
                painter.setPen(QPen(outline, 1))
            else:
                painter.setPen(QPen(highlight, 1, Qt.PenStyle.DashLine))
            painter.drawRect(rect.adjusted(0, 0, -1, -1))

        if self._playhead_s is not None and self.span_s > 0:
            x = self.seconds_to_x(self._playhead_s)
            painter.setPen(QPen(PLAYHEAD_COLOUR, 2))
            painter.drawLine(QLineF(x, 0, x, height))
        painter.end()

    # --- internals --------------------------------------------------------------------------------
    def _paint_order(self) -> list[int]:
        """Earlier times first, so a later frame covers the one before it where they overlap."""
        return sorted(self._frames, key=lambda i: (self._frames[i].time_s, i))

    def _thumb_height(self) -> int:
        return max(self.height() - 2 * MARGIN_PX - TICK_PX, 1)

    def _rect_for(self, frame: TimelineFrame) -> QRect:
        """Left edge at the frame's time (pulled in at the right end), height of the strip, image's aspect."""
        thumb_h = self._thumb_height()
        image = frame.image
        if image is None or image.isNull() or image.height() <= 0:
            thumb_w = thumb_h
        else:
            thumb_w = max(1, round(thumb_h * image.width() / image.height()))
        x = round(self.seconds_to_x(frame.time_s))
        x = max(0, min(x, self.width() - thumb_w))
        return QRect(x, MARGIN_PX, thumb_w, thumb_h)

    def _thumbnail(self, index: int, size: QSize) -> QPixmap | None:
        """The image scaled once per strip height (at device pixels, for sharp HiDPI thumbnails)."""
        cached = self._thumbnails.get(index)
        if cached is not None:
            return cached
        image = self._frames[index].image
        if image is None or image.isNull():
            return None
        pixmap = sharp_pixmap(image, size, self.devicePixelRatioF())
        self._thumbnails[index] = pixmap
        return pixmap


__all__ = ["THUMBNAIL_HEIGHT_PX", "TimelineFrame", "TimelineView"]
