"""The History window: every render of this project or of all, found by its prompt, and what to do with one.

It only shows and asks: the list, its thumbnails and the details come in as plain data (core/history.py,
QImages made in a worker), and each button says what the user wants as a signal with the run's id; the
window's History part (main_window/history.py) reads the log, deletes, exports and renders.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hear2see_desktop.core.history import METRIC_NAMES, History, HistoryEntry
from hear2see_desktop.ui.wiring import without_arguments

THIS_PROJECT, ALL_PROJECTS = "This project", "All projects"
COLUMNS = ("", "Time", "Prompt", "Mode", "Size", "Rating")
ICON_PX = 64


def local_time(iso: str) -> str:
    """A logged UTC time as the user's clock reads it, to the minute."""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso[:16]


class HistoryDialog(QDialog):
    """The list of renders (thumbnail, time, prompt, mode, size, rating), a scope, a search and the actions."""

    open_requested = Signal(str)  # the run's id, for each action
    export_requested = Signal(str)
    rerender_requested = Signal(str)
    replay_requested = Signal(str)
    rate_requested = Signal(str, int)
    delete_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("History")
        self.history = History()
        self.narration_sha256: str | None = None  # of the narration open in the window, if any
        self._thumbnails: dict[str, QImage] = {}
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.scope = QComboBox()
        self.scope.addItems([THIS_PROJECT, ALL_PROJECTS])
        self.scope.setAccessibleName("Show renders of")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search prompts")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search prompts")
        self.count_label = QLabel("Reading the run log…")
        top.addWidget(self.scope)
        top.addWidget(self.search, 1)
        top.addWidget(self.count_label)
        layout.addLayout(top)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setIconSize(QSize(ICON_PX, ICON_PX))
        self.tree.setColumnWidth(0, ICON_PX + 12)
        self.tree.setColumnWidth(1, 130)
        self.tree.setColumnWidth(2, 320)
        layout.addWidget(self.tree, 1)
        self.details = QLabel("")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.details)
        actions = QHBoxLayout()
        self.open_button = self._button(actions, "Open video", self.open_requested)
        self.export_button = self._button(actions, "Export again…", self.export_requested)
        self.rerender_button = self._button(actions, "Re-render with changes", self.rerender_requested)
        self.replay_button = self._button(actions, "Replay exactly", self.replay_requested)
        actions.addStretch(1)
        self.stars: list[QToolButton] = []
        for n in range(1, 6):
            star = QToolButton(text="☆")
            star.setToolTip(f"Rate this render {n}/5")
            star.setAccessibleName(f"Rate {n} of 5")
            star.setAutoRaise(True)
            star.clicked.connect(without_arguments(partial(self._rate, n)))
            actions.addWidget(star)
            self.stars.append(star)
        actions.addStretch(1)
        self.delete_button = self._button(actions, "Delete…", self.delete_requested)
        layout.addLayout(actions)
        self.scope.currentIndexChanged.connect(self._refill)
        self.search.textChanged.connect(self._refill)
        self.tree.currentItemChanged.connect(self._show_selected)
        self.tree.itemDoubleClicked.connect(lambda *_: self._emit_for_selected(self.open_requested))
        self.resize(900, 560)
        self._show_selected()

    def _button(self, layout: QHBoxLayout, text: str, signal: object) -> QPushButton:
        button = QPushButton(text)
        button.clicked.connect(without_arguments(partial(self._emit_for_selected, signal)))
        layout.addWidget(button)
        return button

    # --- what comes in ---------------------------------------------------------------------------
    def set_history(self, history: History, narration_sha256: str | None) -> None:
        """The run log as read now, and the narration open in the window (None: none is open)."""
        first = not self.history.entries and self.count_label.text().startswith("Reading")
        self.history, self.narration_sha256 = history, narration_sha256
        if first and narration_sha256 is None:
            self.scope.setCurrentText(ALL_PROJECTS)  # nothing is open: "this project" would show nothing
        self._refill()

    def thumbnail_ids(self) -> set[str]:
        """The runs whose pictures the list already has."""
        return set(self._thumbnails)

    def set_thumbnails(self, thumbnails: dict[str, QImage]) -> None:
        """Pictures by run id, as the worker made them."""
        self._thumbnails.update(thumbnails)
        for index in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(index)
            image = self._thumbnails.get(item.data(0, Qt.ItemDataRole.UserRole))
            if image is not None:
                item.setIcon(0, QIcon(QPixmap.fromImage(image)))

    # --- what shows ------------------------------------------------------------------------------
    def visible_entries(self) -> list[HistoryEntry]:
        """The entries the list shows now, top to bottom."""
        this_project = self.scope.currentText() == THIS_PROJECT
        if this_project and self.narration_sha256 is None:
            return []
        return self.history.filtered(self.narration_sha256 if this_project else None, self.search.text())

    def selected_entry(self) -> HistoryEntry | None:
        item = self.tree.currentItem()
        return self.history.find(item.data(0, Qt.ItemDataRole.UserRole)) if item is not None else None

    def select(self, run_id: str) -> None:
        for index in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(index)
            if item.data(0, Qt.ItemDataRole.UserRole) == run_id:
                self.tree.setCurrentItem(item)

    def _refill(self, *_args: object) -> None:
        selected = self.selected_entry()
        self.tree.clear()
        entries = self.visible_entries()
        for entry in entries:
            rating = "★" * entry.rating if entry.rating else ""
            item = QTreeWidgetItem(["", local_time(entry.time), entry.prompt, entry.mode,
                                    f"{entry.width_px}×{entry.height_px}", rating])
            item.setData(0, Qt.ItemDataRole.UserRole, entry.run_id)
            item.setToolTip(2, entry.prompt)
            item.setSizeHint(0, QSize(ICON_PX, ICON_PX + 4))
            image = self._thumbnails.get(entry.run_id)
            if image is not None:
                item.setIcon(0, QIcon(QPixmap.fromImage(image)))
            self.tree.addTopLevelItem(item)
        if selected is not None:
            self.select(selected.run_id)
        if self.tree.currentItem() is None and entries:
            self.tree.setCurrentItem(self.tree.topLevelItem(0))
        self.count_label.setText(self._count_text(len(entries)))
        self._show_selected()

    def _count_text(self, shown: int) -> str:
        if self.scope.currentText() == THIS_PROJECT and self.narration_sha256 is None:
            return "Open a narration to see its renders, or show all projects."
        total = len(self.history.entries)
        return f"{shown} of {total} render{'' if total == 1 else 's'}"

    def _show_selected(self, *_args: object) -> None:
        entry = self.selected_entry()
        for widget in (self.open_button, self.export_button, self.rerender_button, self.replay_button,
                       self.delete_button, *self.stars):
            widget.setEnabled(entry is not None)
        if entry is not None:
            self.open_button.setEnabled(entry.video_exists)
            self.export_button.setEnabled(entry.video_exists)
        for n, star in enumerate(self.stars, start=1):
            star.setText("★" if entry is not None and entry.rating is not None and n <= entry.rating else "☆")
        self.details.setText(self._details(entry) if entry is not None else "")

    @staticmethod
    def _details(entry: HistoryEntry) -> str:
        lines = [f"Run {entry.run_id}" + (f", a replay of {entry.replay_of}" if entry.replay_of else ""),
                 entry.settings_line()]
        measured = [f"{METRIC_NAMES.get(name, name)} {value:.3f}" for name, value in entry.metrics.items()
                    if value is not None]
        if measured:
            lines.append(" · ".join(measured))
        if "total_s" in entry.timings_s:
            lines.append(f"Rendered in {entry.timings_s['total_s']:.1f} s")
        video = str(entry.video_path) if entry.video_path is not None else "no video"
        lines.append(video if entry.video_exists else f"{video} (the video is gone)")
        return "\n".join(lines)

    # --- what goes out ---------------------------------------------------------------------------
    def _emit_for_selected(self, signal: object) -> None:
        entry = self.selected_entry()
        if entry is not None:
            signal.emit(entry.run_id)  # type: ignore[attr-defined]

    def _rate(self, n: int) -> None:
        entry = self.selected_entry()
        if entry is not None:
            self.rate_requested.emit(entry.run_id, n)


__all__ = ["ALL_PROJECTS", "THIS_PROJECT", "HistoryDialog", "local_time"]
