"""The live loss curve of a training run, painted with QPainter (PySide6-Essentials has no QtCharts).

Each step's loss is noisy (one random timestep per image), so a faint line shows the raw values and a
strong one an exponential moving average: the trend the user is really watching.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

SMOOTHING = 0.8
"""Weight of the running average against each new loss (0: no smoothing)."""
_MARGIN_LEFT_PX = 52
_MARGIN_PX = 10
_MARGIN_BOTTOM_PX = 22


def smooth(values: list[float], weight: float = SMOOTHING) -> list[float]:
    """Exponential moving average with bias correction, so the first points are not pulled towards 0."""
    smoothed: list[float] = []
    average = 0.0
    for count, value in enumerate(values, 1):
        average = weight * average + (1 - weight) * value
        smoothed.append(average / (1 - weight**count) if weight < 1 else value)
    return smoothed


class LossPlot(QWidget):
    """Loss against step: `add_point(step, loss)` as steps finish, `clear()` for a new run."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._steps: list[int] = []
        self._losses: list[float] = []
        self.total_steps = 0  # the x axis reaches at least this far, so the curve grows into a fixed frame
        self.setMinimumSize(240, 140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Training loss")

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(420, 220)

    @property
    def points(self) -> list[tuple[int, float]]:
        """(step, loss) in step order."""
        return list(zip(self._steps, self._losses, strict=True))

    def add_point(self, step: int, loss: float) -> None:
        """Add one step's loss; a step at or before the last one replaces the points from there (a resume)."""
        if not math.isfinite(loss):
            return
        while self._steps and self._steps[-1] >= step:
            self._steps.pop()
            self._losses.pop()
        self._steps.append(int(step))
        self._losses.append(float(loss))
        self.update()

    def set_total_steps(self, total: int) -> None:
        self.total_steps = max(0, int(total))
        self.update()

    def clear(self) -> None:
        self._steps.clear()
        self._losses.clear()
        self.update()

    def smoothed(self) -> list[float]:
        return smooth(self._losses)

    # ------------------------------------------------------------------------------------------

    def _frame(self) -> QRectF:
        return QRectF(_MARGIN_LEFT_PX, _MARGIN_PX, max(1, self.width() - _MARGIN_LEFT_PX - _MARGIN_PX),
                      max(1, self.height() - _MARGIN_PX - _MARGIN_BOTTOM_PX))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            palette = self.palette()
            painter.fillRect(self.rect(), palette.base())
            frame = self._frame()
            text_colour = palette.text().color()
            painter.setPen(QPen(palette.mid().color(), 1))
            painter.drawRect(frame)
            if not self._steps:
                painter.setPen(text_colour)
                painter.drawText(frame, Qt.AlignmentFlag.AlignCenter, "The loss appears here as training runs.")
                return
            low, high = min(self._losses), max(self._losses)
            if high - low < 1e-9:
                low, high = low - 0.5, high + 0.5
            first = 0
            last = max(self._steps[-1], self.total_steps, 1)

            def to_point(step: int, loss: float) -> QPointF:
                x = frame.left() + frame.width() * (step - first) / (last - first)
                y = frame.bottom() - frame.height() * (loss - low) / (high - low)
                return QPointF(x, y)

            raw = QPolygonF([to_point(s, v) for s, v in zip(self._steps, self._losses, strict=True)])
            trend = QPolygonF([to_point(s, v) for s, v in zip(self._steps, self.smoothed(), strict=True)])
            accent = palette.highlight().color()
            faint = QColor(accent)
            faint.setAlpha(90)
            painter.setPen(QPen(faint, 1))
            painter.drawPolyline(raw)
            painter.setPen(QPen(accent, 2))
            painter.drawPolyline(trend)
            if len(self._steps) == 1:
                painter.drawEllipse(raw[0], 2.5, 2.5)
            painter.setPen(text_colour)
            left = QRectF(0, 0, _MARGIN_LEFT_PX - 4, 16)
            painter.drawText(left.translated(0, frame.top() - 2), Qt.AlignmentFlag.AlignRight, f"{high:.4g}")
            painter.drawText(left.translated(0, frame.bottom() - 14), Qt.AlignmentFlag.AlignRight, f"{low:.4g}")
            below = QRectF(frame.left(), frame.bottom() + 3, frame.width(), 16)
            painter.drawText(below, Qt.AlignmentFlag.AlignLeft, f"step {first}")
            painter.drawText(below, Qt.AlignmentFlag.AlignRight, f"step {last}")
            painter.drawText(below, Qt.AlignmentFlag.AlignHCenter, f"loss {self._losses[-1]:.4f}")
        finally:
            painter.end()
