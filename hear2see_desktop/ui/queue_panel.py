"""The Queue panel: the renders waiting their turn, the one rendering, and the finished ones, with their controls.

A view and its buttons only: it shows the items it is given (`show_items`, `show_progress`) and says
what the user asked for as signals carrying item ids; the window's queue part (main_window/
render_queue_part.py) does it through core/render_queue. Opening a finished video is handed to the
desktop, as the Exported box does.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QImage, QPixmap
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from hear2see_desktop.core.render_queue import ItemStatus, QueueItem
from hear2see_desktop.ui.wiring import without_arguments

ID_ROLE = Qt.ItemDataRole.UserRole
PAUSE, RESUME = "Pause queue", "Resume queue"


def item_text(item: QueueItem, progress: str = "") -> str:
    """One row: what is rendered (project or narration), mode and size, then where it stands."""
    settings = item.request.settings
    status = str(item.status)
    if item.status == ItemStatus.RUNNING and progress:
        status = f"rendering · {progress}"
    elif item.status == ItemStatus.DONE and item.run_id:
        status = f"done · run {item.run_id}"
    elif item.status in (ItemStatus.FAILED, ItemStatus.CANCELLED) and item.sentence():
        status = f"{status}: {item.sentence()}"
    return f"{item.label} · {settings.mode} {settings.width}×{settings.height}\n{status}"


class QueuePanel(QWidget):
    """The queue's list and buttons; each button emits the request for the selected item (by id)."""

    pause_toggled = Signal()  # Pause queue / Resume queue
    move_requested = Signal(str, int)  # item id, its new place in the queue
    cancel_requested = Signal(str)
    cancel_all_requested = Signal()
    retry_requested = Signal(str)
    remove_finished_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._items: list[QueueItem] = []
        self._progress: dict[str, str] = {}
        self._paused = False
        layout = QVBoxLayout(self)
        self.summary = QLabel("Nothing queued. Add to queue (Ctrl+Shift+Enter) renders in the background.")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.list = QListWidget()
        self.list.setAlternatingRowColors(True)
        self.list.setWordWrap(True)
        self.list.itemSelectionChanged.connect(self._update_buttons)
        layout.addWidget(self.list, 1)
        self.preview = QLabel()  # the running render's latest finished image
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setMinimumHeight(96)
        layout.addWidget(self.preview)
        grid = QGridLayout()
        self.pause_button = self._button(PAUSE, "Stop the running render (it stays waiting) or run the queue again")
        self.up_button = self._button("Move up", "Run the selected render earlier")
        self.down_button = self._button("Move down", "Run the selected render later")
        self.cancel_button = self._button("Cancel selected", "Cancel the selected render (a running one stops)")
        self.cancel_all_button = self._button("Cancel all", "Cancel every waiting render and stop the running one")
        self.retry_button = self._button("Retry", "Put the selected failed or cancelled render back in line")
        self.remove_button = self._button("Remove finished", "Take the done, failed and cancelled renders out")
        self.open_button = self._button("Open video", "Play the selected render's video")
        self.folder_button = self._button("Show in folder", "Show the selected render's video in its folder")
        buttons = (self.pause_button, self.cancel_all_button, self.up_button, self.down_button, self.cancel_button,
                   self.retry_button, self.open_button, self.folder_button, self.remove_button)
        for index, button in enumerate(buttons):
            grid.addWidget(button, index // 2, index % 2)
        layout.addLayout(grid)
        self.pause_button.clicked.connect(self.pause_toggled)
        self.up_button.clicked.connect(without_arguments(self._move_up))
        self.down_button.clicked.connect(without_arguments(self._move_down))
        self.cancel_button.clicked.connect(without_arguments(self._cancel_selected))
        self.cancel_all_button.clicked.connect(self.cancel_all_requested)
        self.retry_button.clicked.connect(without_arguments(self._retry_selected))
        self.remove_button.clicked.connect(self.remove_finished_requested)
        self.open_button.clicked.connect(without_arguments(self._open_video))
        self.folder_button.clicked.connect(without_arguments(self._show_in_folder))
        self._update_buttons()

    def _button(self, text: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        return button

    # --- what the queue part shows -----------------------------------------------------------
    def show_items(self, items: list[QueueItem]) -> None:
        """List `items` in queue order, keeping the selection on the same item."""
        selected = self.selected_id()
        self._items = list(items)
        self._progress = {key: text for key, text in self._progress.items()
                          if any(item.id == key and item.status == ItemStatus.RUNNING for item in items)}
        self.list.clear()
        for item in items:
            row = QListWidgetItem(item_text(item, self._progress.get(item.id, "")))
            row.setData(ID_ROLE, item.id)
            row.setToolTip(self._tooltip(item))
            self.list.addItem(row)
            if item.id == selected:
                row.setSelected(True)
                self.list.setCurrentItem(row)
        if not any(item.status == ItemStatus.RUNNING for item in items):
            self.preview.clear()
        self._update_summary()
        self._update_buttons()

    def show_progress(self, item_id: str, done: int, total: int, message: str) -> None:
        """The running render's progress, in its row."""
        percent = f"{100 * done // total}%" if total > 0 else ""
        self._progress[item_id] = " ".join(part for part in (percent, message) if part)
        for index, item in enumerate(self._items):
            if item.id == item_id:
                self.list.item(index).setText(item_text(item, self._progress[item_id]))

    def show_image(self, image: QImage) -> None:
        """The running render's latest finished image, small."""
        pixmap = QPixmap.fromImage(image)
        self.preview.setPixmap(pixmap.scaledToHeight(96, Qt.TransformationMode.SmoothTransformation))

    def set_paused(self, paused: bool) -> None:
        self.pause_button.setText(RESUME if paused else PAUSE)
        self._paused = paused
        self._update_summary()

    # --- reading the list --------------------------------------------------------------------
    def selected_id(self) -> str | None:
        rows = self.list.selectedItems()
        return str(rows[0].data(ID_ROLE)) if rows else None

    def selected(self) -> QueueItem | None:
        item_id = self.selected_id()
        return next((item for item in self._items if item.id == item_id), None)

    def select(self, item_id: str) -> None:
        for index, item in enumerate(self._items):
            if item.id == item_id:
                self.list.setCurrentRow(index)

    # --- inside ------------------------------------------------------------------------------
    def _tooltip(self, item: QueueItem) -> str:
        request = item.request
        lines = [f"Narration: {request.audio_path}", f"Video: {request.out_path}",
                 f"Prompt: {request.settings.prompt or '(from the transcript)'}", f"Added: {item.added}"]
        if item.run_id:
            lines.append(f"Run id: {item.run_id}")
        return "\n".join(lines)

    def _update_summary(self) -> None:
        counts = {status: sum(item.status == status for item in self._items) for status in ItemStatus}
        waiting, running = counts[ItemStatus.WAITING], counts[ItemStatus.RUNNING]
        if not self._items:
            text = "Nothing queued. Add to queue (Ctrl+Shift+Enter) renders in the background."
        elif self._paused and waiting:
            text = f"Paused: {waiting} waiting. {RESUME} runs them."
        else:
            text = f"{running} rendering, {waiting} waiting, {counts[ItemStatus.DONE]} done."
        self.summary.setText(text)

    def _update_buttons(self) -> None:
        item = self.selected()
        status = item.status if item is not None else None
        index = self._items.index(item) if item is not None else -1
        self.up_button.setEnabled(index > 0)
        self.down_button.setEnabled(0 <= index < len(self._items) - 1)
        self.cancel_button.setEnabled(status in (ItemStatus.WAITING, ItemStatus.RUNNING))
        self.retry_button.setEnabled(status in (ItemStatus.FAILED, ItemStatus.CANCELLED))
        done = status == ItemStatus.DONE and item is not None and item.request.out_path.is_file()
        self.open_button.setEnabled(done)
        self.folder_button.setEnabled(done)
        self.cancel_all_button.setEnabled(any(i.status in (ItemStatus.WAITING, ItemStatus.RUNNING)
                                              for i in self._items))
        self.remove_button.setEnabled(any(i.status not in (ItemStatus.WAITING, ItemStatus.RUNNING)
                                          for i in self._items))

    def _move_up(self) -> None:
        self._move(-1)

    def _move_down(self) -> None:
        self._move(1)

    def _move(self, step: int) -> None:
        item = self.selected()
        if item is not None:
            self.move_requested.emit(item.id, self._items.index(item) + step)

    def _cancel_selected(self) -> None:
        item_id = self.selected_id()
        if item_id is not None:
            self.cancel_requested.emit(item_id)

    def _retry_selected(self) -> None:
        item_id = self.selected_id()
        if item_id is not None:
            self.retry_requested.emit(item_id)

    def _open_video(self) -> None:
        item = self.selected()
        if item is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(item.request.out_path)))

    def _show_in_folder(self) -> None:
        item = self.selected()
        if item is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(item.request.out_path).parent)))


__all__ = ["PAUSE", "RESUME", "QueuePanel", "item_text"]
