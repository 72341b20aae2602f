"""The numbers of the finished render under the preview (AV-Align, CLIPSIM, flicker, cost) and its rating."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from hear2see_desktop.ui.fix_words import field_words
from hear2see_desktop.ui.wiring import without_arguments

if TYPE_CHECKING:  # the eval result's module reaches scipy (onsets): not on the start-up path
    from hear2see_desktop.core.eval_result import EvalResult


class MetricsPanel(QWidget):
    """Shows an eval result (the eval job's EvalResult); emits `rated(n)` when a star is clicked."""

    rated = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.summary = QLabel("Metrics appear here after a render.")
        self.summary.setToolTip(
            "AV-Align: audio onsets vs. motion peaks as TempoTokens' reference scores them (usually 0-1; above 1 "
            "when several onsets share one motion peak). One-to-one: each onset and peak matched at most once "
            "(0-1). CLIPSIM: frame-text similarity. "
            "Flicker: frame change after motion compensation (0-255, lower is steadier).")
        layout.addWidget(self.summary, 1)
        layout.addWidget(QLabel("Your rating"))
        self.stars: list[QToolButton] = []
        for n in range(1, 6):
            star = QToolButton(text="☆")
            star.setToolTip(f"Rate this render {n}/5")
            star.setAutoRaise(True)
            star.clicked.connect(without_arguments(partial(self._rate, n)))
            layout.addWidget(star)
            self.stars.append(star)
        self.set_rating_enabled(False)

    def show_measuring(self) -> None:
        self.summary.setText("Measuring AV-Align, CLIPSIM and flicker…")
        self.show_rating(0)
        self.set_rating_enabled(True)

    def show_result(self, result: EvalResult) -> None:
        align, strict = result.av_align.score, result.av_align.one_to_one.score
        clip, flicker = result.clipsim, result.flicker
        parts = [
            "AV-Align " + ("no events" if align is None else f"{align:.2f}")
            + ("" if strict is None else f" (one-to-one {strict:.2f})"),
            "CLIPSIM " + ("–" if clip is None else f"{clip.score:.3f}"),
            f"flicker {flicker.warped_mad:.1f} (plain {flicker.plain_mad:.1f})",
        ]
        if result.run is not None:
            parts.append(f"{result.run.unet_evaluations} UNet evals")
        self.summary.setText(" · ".join(parts))
        self.summary.setToolTip("\n".join(note.worded(field_words) for note in result.notes)
                                or self.summary.toolTip())

    def show_failure(self, message: str) -> None:
        self.summary.setText(f"Metrics unavailable: {message}")

    def show_rating(self, rating: int) -> None:
        for n, star in enumerate(self.stars, start=1):
            star.setText("★" if n <= rating else "☆")

    def set_rating_enabled(self, enabled: bool) -> None:
        for star in self.stars:
            star.setEnabled(enabled)

    def _rate(self, n: int) -> None:
        self.show_rating(n)
        self.rated.emit(n)
