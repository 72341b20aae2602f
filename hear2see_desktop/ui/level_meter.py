"""Input level while recording, so the narrator can see they are neither too quiet nor clipping.

A horizontal bar over -60..0 dBFS with green, yellow and red zones, a peak mark that holds for a
moment and then falls, and a clip light that stays on until `reset()`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from PySide6.QtCore import QLineF, QRectF, QSize, QTimer
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

FLOOR_DBFS = -60.0
YELLOW_FROM_DBFS = -18.0
RED_FROM_DBFS = -6.0
CLIP_DBFS = -0.1
PEAK_HOLD_S = 1.0
PEAK_FALL_DB_PER_S = 20.0

GREEN = QColor(46, 160, 67)
YELLOW = QColor(219, 171, 9)
RED = QColor(218, 54, 51)


def _clamp_dbfs(dbfs: float) -> float:
    """NaN and -inf (digital silence) read as the floor; anything above full scale as 0 dB."""
    if dbfs is None or math.isnan(dbfs):
        return FLOOR_DBFS
    return min(max(float(dbfs), FLOOR_DBFS), 0.0)


class LevelMeter(QWidget):
    """Shows the latest level given to `set_level`; it measures nothing itself."""

    def __init__(self, parent: QWidget | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(parent)
        self.setAccessibleName("Input level")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._clock = clock
        self._level_dbfs = FLOOR_DBFS
        self._peak_dbfs = FLOOR_DBFS
        self._peak_at = clock()
        self._clipped = False
        self._described_db: int | None = None
        # Keeps the falling peak moving when levels stop arriving; runs only while it falls.
        self._fall_timer = QTimer(self)
        self._fall_timer.setInterval(50)
        self._fall_timer.timeout.connect(self._on_fall_tick)

    # --- data in ----------------------------------------------------------------------------------
    def set_level(self, dbfs: float) -> None:
        """The latest level in dBFS (clamped to -60..0)."""
        level = _clamp_dbfs(dbfs)
        self._level_dbfs = level
        if level >= self.peak_dbfs:
            self._peak_dbfs = level
            self._peak_at = self._clock()
        if level >= CLIP_DBFS:
            self._clipped = True
        if self.peak_dbfs > level and not self._fall_timer.isActive():
            self._fall_timer.start()
        rounded = round(level)
        if rounded != self._described_db:
            self._described_db = rounded
            self.setAccessibleDescription(f"{rounded} dBFS")
        self.update()

    def reset(self) -> None:
        """Back to silence: level, peak and clip light."""
        self._level_dbfs = self._peak_dbfs = FLOOR_DBFS
        self._peak_at = self._clock()
        self._clipped = False
        self._fall_timer.stop()
        self.update()

    # --- state out --------------------------------------------------------------------------------
    @property
    def level_dbfs(self) -> float:
        return self._level_dbfs

    @property
    def peak_dbfs(self) -> float:
        """The held peak: the loudest recent level, falling after PEAK_HOLD_S but never below the level."""
        held_for = self._clock() - self._peak_at
        fallen = self._peak_dbfs - max(0.0, held_for - PEAK_HOLD_S) * PEAK_FALL_DB_PER_S
        return max(fallen, self._level_dbfs)

    @property
    def clipped(self) -> bool:
        """Whether the input reached full scale since the last reset."""
        return self._clipped

    def sizeHint(self) -> QSize:
        return QSize(200, 14)

    def minimumSizeHint(self) -> QSize:
        return QSize(40, 8)

    # --- painting ---------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        width, height = self.width(), self.height()
        if width <= 0 or height <= 0:
            return
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Base))
        clip_w = min(height, max(width // 8, 1))
        bar_w = max(width - clip_w - 2, 1)

        def x_of(dbfs: float) -> float:
            return (dbfs - FLOOR_DBFS) / -FLOOR_DBFS * bar_w

        level_x = x_of(self._level_dbfs)
        zones = (
            (FLOOR_DBFS, YELLOW_FROM_DBFS, GREEN),
            (YELLOW_FROM_DBFS, RED_FROM_DBFS, YELLOW),
            (RED_FROM_DBFS, 0.0, RED),
        )
        for low, high, colour in zones:
            left, right = x_of(low), x_of(high)
            dim = QColor(colour)
            dim.setAlpha(55)  # the empty part of each zone, so the scale reads in any theme
            painter.fillRect(QRectF(left, 0, right - left, height), dim)
            lit_right = min(right, level_x)
            if lit_right > left:
                painter.fillRect(QRectF(left, 0, lit_right - left, height), colour)

        peak = self.peak_dbfs
        if peak > FLOOR_DBFS:
            peak_x = x_of(peak)
            painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Text), 2))
            painter.drawLine(QLineF(peak_x, 0, peak_x, height))

        clip_colour = QColor(RED) if self._clipped else QColor(RED.red(), RED.green(), RED.blue(), 55)
        painter.fillRect(QRectF(width - clip_w, 0, clip_w, height), clip_colour)
        painter.end()

    def _on_fall_tick(self) -> None:
        if self.peak_dbfs <= self._level_dbfs:
            self._fall_timer.stop()
        self.update()


__all__ = ["LevelMeter"]
