"""The narration's waveform on a time axis, with its recognised words and a playhead.

Samples are reduced once to a min/max envelope of at most a few thousand buckets, so painting costs
the same for three seconds or two hours of audio. While recording, chunks are folded into the
same envelope as they arrive (halving its resolution when it gets too fine), so the take grows on
screen at a cost proportional to the chunk, never to the take.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QLineF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen, QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from hear2see_desktop.core.transcript import Word

ENVELOPE_BUCKETS = 4096
"""Resolution of the stored envelope: more than any screen is wide, small enough to repaint freely."""

LIVE_MIN_SPAN_S = 10.0
"""While recording, the axis shows at least this long, so a new take fills the view from the left."""

RECORDING_COLOUR = QColor(217, 69, 59)
PLAYHEAD_COLOUR = QColor(230, 57, 70)


class _Envelope:
    """Min/max of consecutive buckets of `samples_per_bucket` samples, plus a partly filled last bucket."""

    def __init__(self, max_buckets: int = ENVELOPE_BUCKETS) -> None:
        self.max_buckets = max_buckets
        self.clear()

    def clear(self) -> None:
        self.samples_per_bucket = 1
        self.total_samples = 0
        self._mins = np.zeros(0, dtype=np.float32)
        self._maxs = np.zeros(0, dtype=np.float32)
        self._count = 0
        self._pending_n = 0  # samples in the unfinished bucket after the last full one
        self._pending_min = 0.0
        self._pending_max = 0.0

    # --- reading ----------------------------------------------------------------------------------
    def buckets(self) -> tuple[np.ndarray, np.ndarray]:
        """(mins, maxs) of every bucket, the unfinished one included."""
        mins, maxs = self._mins[: self._count], self._maxs[: self._count]
        if self._pending_n:
            mins = np.append(mins, np.float32(self._pending_min))
            maxs = np.append(maxs, np.float32(self._pending_max))
        return mins, maxs

    # --- writing ----------------------------------------------------------------------------------
    def set(self, samples: np.ndarray) -> None:
        """Replace everything with `samples`, picking the bucket size that gives at most `max_buckets`."""
        self.clear()
        n = len(samples)
        self.samples_per_bucket = max(1, math.ceil(n / self.max_buckets))
        self._add(samples)

    def append(self, chunk: np.ndarray) -> None:
        """Add samples after the current ones; costs O(len(chunk)) amortised."""
        self._add(chunk)
        while self._count >= 2 * self.max_buckets:
            self._halve()

    def _add(self, samples: np.ndarray) -> None:
        n = len(samples)
        if n == 0:
            return
        self.total_samples += n
        spb = self.samples_per_bucket
        start = 0
        if self._pending_n:
            take = min(spb - self._pending_n, n)
            low, high = _min_max(samples[:take])
            self._pending_min = min(self._pending_min, low)
            self._pending_max = max(self._pending_max, high)
            self._pending_n += take
            start = take
            if self._pending_n == spb:
                self._push(np.array([self._pending_min], np.float32), np.array([self._pending_max], np.float32))
                self._pending_n = 0
        full = (n - start) // spb
        if full:
            # A reshape of a contiguous slice is a view: no copy even for hours of audio.
            block = np.ascontiguousarray(samples[start : start + full * spb]).reshape(full, spb)
            self._push(_scaled(block.min(axis=1), samples.dtype), _scaled(block.max(axis=1), samples.dtype))
            start += full * spb
        if start < n:
            self._pending_min, self._pending_max = _min_max(samples[start:])
            self._pending_n = n - start

    def _push(self, mins: np.ndarray, maxs: np.ndarray) -> None:
        needed = self._count + len(mins)
        if needed > len(self._mins):
            capacity = max(needed, 2 * len(self._mins), 64)
            self._mins = np.resize(self._mins, capacity)
            self._maxs = np.resize(self._maxs, capacity)
        self._mins[self._count : needed] = mins
        self._maxs[self._count : needed] = maxs
        self._count = needed

    def _halve(self) -> None:
        """Merge bucket pairs; an odd last bucket joins the unfinished one, which still fits."""
        count = self._count
        pairs = count // 2
        if count % 2:
            last_min, last_max = float(self._mins[count - 1]), float(self._maxs[count - 1])
            if self._pending_n:
                self._pending_min = min(self._pending_min, last_min)
                self._pending_max = max(self._pending_max, last_max)
            else:
                self._pending_min, self._pending_max = last_min, last_max
            self._pending_n += self.samples_per_bucket
        self._mins[:pairs] = np.minimum(self._mins[0 : 2 * pairs : 2], self._mins[1 : 2 * pairs : 2])
        self._maxs[:pairs] = np.maximum(self._maxs[0 : 2 * pairs : 2], self._maxs[1 : 2 * pairs : 2])
        self._count = pairs
        self.samples_per_bucket *= 2


def _scale_for(dtype: np.dtype) -> float:
    """Integer PCM is mapped to [-1, 1); float samples are taken as they are."""
    if np.issubdtype(dtype, np.signedinteger):
        return 1.0 / (int(np.iinfo(dtype).max) + 1)
    return 1.0


def _scaled(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return np.nan_to_num(values.astype(np.float32) * np.float32(_scale_for(dtype)))


def _min_max(samples: np.ndarray) -> tuple[float, float]:
    scale = _scale_for(samples.dtype)
    low, high = float(samples.min()) * scale, float(samples.max()) * scale
    return (0.0 if math.isnan(low) else low), (0.0 if math.isnan(high) else high)


def _as_samples(samples: np.ndarray) -> np.ndarray:
    array = np.asarray(samples)
    if array.ndim != 1:
        raise ValueError(f"Waveform samples must be one mono channel (1-D); got shape {array.shape}.")
    if array.dtype.kind not in "fi" or array.dtype.itemsize > 8:
        array = array.astype(np.float32)
    return array


class WaveformView(QWidget):
    """Shows one take: its envelope, recognised words above it and where playback is."""

    seek_requested = Signal(float)  # seconds from the start of the audio, where the user clicked

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Narration waveform")
        self.setAccessibleDescription("Click to move the playhead to that moment of the narration.")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(48)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._envelope = _Envelope()
        self._sample_rate_hz = 16000
        self._live = False
        self._words: list[Word] = []
        self._word_starts_s = np.zeros(0)  # sorted, for skipping crowded stretches in the label layout
        self._playhead_s: float | None = None
        self._version = 0  # bumped whenever the envelope changes, to invalidate the column cache
        self._columns_key: tuple[int, int, float] | None = None
        self._columns: tuple[np.ndarray, np.ndarray] = (np.zeros(0), np.zeros(0))
        self._labels_key: tuple[int, float, int] | None = None
        self._labels: list[tuple[Word, QRect]] = []

    # --- data in ----------------------------------------------------------------------------------
    def set_samples(self, samples: np.ndarray, sample_rate_hz: int = 16000) -> None:
        """Show a whole take (mono, float in [-1, 1] or integer PCM); leaves live mode."""
        if sample_rate_hz <= 0:
            raise ValueError(f"The sample rate must be positive; got {sample_rate_hz} Hz.")
        self._live = False
        self._sample_rate_hz = int(sample_rate_hz)
        self._envelope.set(_as_samples(samples))
        self._changed()

    def set_live(self, live: bool, sample_rate_hz: int = 16000) -> None:
        """Enter recording mode (an empty take that `append_samples` grows) or leave it keeping the take."""
        if sample_rate_hz <= 0:
            raise ValueError(f"The sample rate must be positive; got {sample_rate_hz} Hz.")
        if live:
            self._envelope.clear()
            self._sample_rate_hz = int(sample_rate_hz)
            self._words, self._word_starts_s = [], np.zeros(0)
            self._playhead_s = None
        self._live = bool(live)
        self._changed()

    def append_samples(self, chunk: np.ndarray) -> None:
        """Add a recorded chunk at the end of the take."""
        chunk = _as_samples(chunk)
        if len(chunk) == 0:
            return
        self._envelope.append(chunk)
        self._changed()

    def set_words(self, words: Sequence[Word]) -> None:
        """Label recognised words at their start times; labels that would overlap are left out."""
        self._words = sorted(words, key=lambda w: (w.start, w.end))
        self._word_starts_s = np.array([w.start for w in self._words], dtype=np.float64)
        self._labels_key = None
        self.update()

    def set_playhead(self, seconds: float | None) -> None:
        """Mark the playback position, or hide the mark with None."""
        if seconds is not None:
            seconds = float(seconds)
        if seconds == self._playhead_s:
            return
        old, self._playhead_s = self._playhead_s, seconds
        # Repaint only the two thin strips where the mark was and is.
        for value in (old, seconds):
            if value is not None:
                x = round(self.seconds_to_x(value))
                self.update(QRect(x - 2, 0, 5, self.height()))

    def clear(self) -> None:
        """No take, no words, no playhead."""
        self._envelope.clear()
        self._live = False
        self._words, self._word_starts_s = [], np.zeros(0)
        self._playhead_s = None
        self._changed()

    # --- state out --------------------------------------------------------------------------------
    @property
    def duration_s(self) -> float:
        """Length of the take shown (or recorded so far), in seconds."""
        return self._envelope.total_samples / self._sample_rate_hz

    @property
    def span_s(self) -> float:
        """Seconds the full width stands for: the take, or at least LIVE_MIN_SPAN_S while recording."""
        if self._live:
            return max(self.duration_s, LIVE_MIN_SPAN_S)
        return self.duration_s

    @property
    def samples_per_bucket(self) -> int:
        """How many samples each envelope bucket summarises (grows as a recording gets longer)."""
        return self._envelope.samples_per_bucket

    @property
    def sample_rate_hz(self) -> int:
        return self._sample_rate_hz

    @property
    def is_live(self) -> bool:
        return self._live

    @property
    def playhead_s(self) -> float | None:
        return self._playhead_s

    @property
    def words(self) -> list[Word]:
        return list(self._words)

    def envelope(self) -> tuple[np.ndarray, np.ndarray]:
        """(mins, maxs) per bucket, in [-1, 1]; at most about 2 * ENVELOPE_BUCKETS long."""
        return self._envelope.buckets()

    def visible_word_labels(self) -> list[tuple[Word, QRect]]:
        """Words that get a label at the current size, with where their label is drawn."""
        self._layout_labels()
        return list(self._labels)

    def seconds_to_x(self, seconds: float) -> float:
        """Where a moment lies along the widget's width (same mapping as the timeline below)."""
        span = self.span_s
        return 0.0 if span <= 0 else seconds / span * self.width()

    def x_to_seconds(self, x: float) -> float:
        """The moment under a horizontal position, clamped to the take."""
        width = max(1, self.width())
        return min(max(x / width * self.span_s, 0.0), self.duration_s)

    def sizeHint(self) -> QSize:
        return QSize(640, 120)

    def minimumSizeHint(self) -> QSize:
        return QSize(32, 48)

    # --- events -----------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._can_seek():
            self.seek_requested.emit(self.x_to_seconds(event.position().x()))
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        # Dragging with the button held scrubs.
        if event.buttons() & Qt.MouseButton.LeftButton and self._can_seek():
            self.seek_requested.emit(self.x_to_seconds(event.position().x()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._labels_key = None
        super().resizeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        width, height = self.width(), self.height()
        if width <= 0 or height <= 0:
            return
        palette = self.palette()
        painter = QPainter(self)
        painter.fillRect(self.rect(), palette.color(QPalette.ColorRole.Base))

        labels = self._layout_labels()
        band_px = self._label_band_px()
        wave = QRectF(0, band_px, width, height - band_px)
        mid_y = wave.center().y()
        half = max(wave.height() / 2 - 2, 0.5)

        painter.setPen(QPen(palette.color(QPalette.ColorRole.Mid), 1))
        painter.drawLine(QLineF(0, mid_y, width, mid_y))

        colour = RECORDING_COLOUR if self._live else palette.color(QPalette.ColorRole.Highlight)
        mins, maxs = self._column_envelope(width)
        if len(mins):
            xs = np.arange(len(mins), dtype=np.float64) + 0.5
            tops = mid_y - np.clip(maxs, -1.0, 1.0) * half
            bottoms = mid_y - np.clip(mins, -1.0, 1.0) * half
            # At least one pixel tall, so silence still shows where the take is.
            bottoms = np.maximum(bottoms, tops + 1.0)
            painter.setPen(QPen(colour, 1))
            painter.drawLines([QLineF(x, t, x, b) for x, t, b in zip(xs, tops, bottoms, strict=True)])

        if labels:
            text_colour = palette.color(QPalette.ColorRole.Text)
            dim_colour = palette.color(QPalette.ColorRole.PlaceholderText)
            tick_colour = QColor(palette.color(QPalette.ColorRole.Highlight))
            tick_colour.setAlpha(110)
            painter.setFont(self._label_font())
            for word, rect in labels:
                x_end = self.seconds_to_x(word.end)
                painter.fillRect(QRectF(rect.left(), wave.top(), max(x_end - rect.left(), 1.0), 2), tick_colour)
                painter.setPen(text_colour if word.conf >= 0.5 else dim_colour)
                painter.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, word.word)

        if self._playhead_s is not None and self.span_s > 0:
            x = self.seconds_to_x(self._playhead_s)
            painter.setPen(QPen(PLAYHEAD_COLOUR, 2))
            painter.drawLine(QLineF(x, 0, x, height))
        painter.end()

    # --- internals --------------------------------------------------------------------------------
    def _can_seek(self) -> bool:
        """A finished take can be sought; one being recorded cannot."""
        return not self._live and self.duration_s > 0

    def _changed(self) -> None:
        self._version += 1
        self._labels_key = None
        self.update()

    def _column_envelope(self, width: int) -> tuple[np.ndarray, np.ndarray]:
        """Min/max per pixel column over the buckets it covers; cached until the take or width changes."""
        key = (width, self._version, self.span_s)
        if key == self._columns_key:
            return self._columns
        mins, maxs = self._envelope.buckets()
        count = len(mins)
        if count == 0 or self.span_s <= 0:
            self._columns = (np.zeros(0), np.zeros(0))
        else:
            # The axis may be longer than the data (live mode): buckets per column from the span.
            span_buckets = self.span_s * self._sample_rate_hz / self._envelope.samples_per_bucket
            starts = np.floor(np.arange(width) * (span_buckets / width)).astype(np.int64)
            starts = starts[starts < count]
            # reduceat takes the one bucket at `start` when a column covers less than a bucket.
            self._columns = (np.minimum.reduceat(mins, starts), np.maximum.reduceat(maxs, starts))
        self._columns_key = key
        return self._columns

    def _label_band_px(self) -> int:
        """Height kept above the waveform for word labels: up to two rows, none when the view is too short."""
        line = QFontMetrics(self._label_font()).height()
        if not self._words or self.height() < 3 * line + 16:
            return 0
        return line * (2 if self.height() >= 4 * line + 24 else 1)

    def _label_font(self) -> QFont:
        font = self.font()
        font.setPointSizeF(max(font.pointSizeF() * 0.85, 6.0))
        return font

    def _layout_labels(self) -> list[tuple[Word, QRect]]:
        """Greedy placement: each word goes in the first row where it clears the previous label, else is skipped."""
        key = (self.width(), self.span_s, self.height())
        if key == self._labels_key:
            return self._labels
        self._labels_key = key
        self._labels = []
        band_px = self._label_band_px()
        if band_px == 0 or self.span_s <= 0:
            return self._labels
        metrics = QFontMetrics(self._label_font())
        line = metrics.height()
        rows = band_px // line
        row_end = [-math.inf] * rows
        gap_px = 4
        width = self.width()
        xs = np.round(self._word_starts_s * (width / self.span_s))
        i, count = 0, len(self._words)
        while i < count:
            x = int(xs[i])
            if x >= width:
                break
            room_from = min(row_end) + gap_px
            if x < room_from:
                # No row has room here: jump to the first word that starts where one does.
                i = int(np.searchsorted(xs, room_from, side="left"))
                continue
            word = self._words[i]
            i += 1
            text_w = metrics.horizontalAdvance(word.word)
            if text_w <= 0:
                continue
            row = next(r for r in range(rows) if x >= row_end[r] + gap_px)
            rect = QRect(x, row * line, text_w, line)
            row_end[row] = rect.right()
            self._labels.append((word, rect))
        return self._labels


__all__ = ["ENVELOPE_BUCKETS", "LIVE_MIN_SPAN_S", "WaveformView"]
