"""The take's strong sound events as labels on the narration's time axis, under the waveform.

Shown only while the storyboard holds a sound track (a tagger heard the take); the labels are worked out once
per track (`event_spans`, plain arithmetic on the track's windows), so painting does no more than draw them.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from hear2see_desktop.core.sounds.changes import event_spans
from hear2see_desktop.core.sounds.track import SoundTrack
from hear2see_desktop.core.sounds.visual_words import load_visual_words


class SoundLane(QWidget):
    """One row of labels ("Rain", "Thunder") over the spans where each leads the take's sounds."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Sound events")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(QFontMetrics(self.font()).height() + 6)
        self._track: SoundTrack | None = None
        self._spans: list[tuple[float, float, str]] = []
        self.setVisible(False)

    def set_track(self, track: SoundTrack | None) -> None:
        """Show the events of `track`; None (no tagger heard the take) hides the lane."""
        if track is self._track:
            return
        self._track = track
        self._spans = event_spans(track, load_visual_words()) if track is not None else []
        self.setVisible(track is not None)
        self.setToolTip("Sounds the tagger heard: they add words to the scenes they fall in" if track else "")
        self.update()

    @property
    def track(self) -> SoundTrack | None:
        return self._track

    def labels(self) -> list[tuple[float, float, str]]:
        """(start_s, end_s, label) of each strong event drawn, in time order."""
        return list(self._spans)

    def span_rect(self, index: int) -> QRect:
        """Where the label `index` is drawn."""
        start_s, end_s, _ = self._spans[index]
        span = self._track.duration_s if self._track is not None else 0.0
        if span <= 0:
            return QRect()
        left = round(start_s / span * self.width())
        right = round(end_s / span * self.width())
        return QRect(left, 1, max(1, right - left), self.height() - 2)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(400, self.height())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        palette = self.palette()
        painter = QPainter(self)
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Window).darker(102))
        tint = QColor(palette.color(QPalette.ColorRole.Highlight))
        tint.setAlpha(50)
        metrics = QFontMetrics(self.font())
        for index, (_start, _end, label) in enumerate(self._spans):
            rect = self.span_rect(index)
            painter.fillRect(rect, tint)
            painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid)))
            painter.drawRect(rect.adjusted(0, 0, -1, -1))
            text = metrics.elidedText(label, Qt.TextElideMode.ElideRight, max(0, rect.width() - 6))
            painter.setPen(palette.color(QPalette.ColorRole.Text))
            painter.drawText(rect.adjusted(3, 0, -3, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             text)
        painter.end()


__all__ = ["SoundLane"]
