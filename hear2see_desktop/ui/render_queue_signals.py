"""The render queue's events (core/render_queue) as Qt signals, so the window hears them on its own thread.

The queue calls its listeners on the thread that made the change: the window's for an add or a move, the
queue worker's for a render that starts, reports or ends. Emitting a signal from there reaches the
window's slots queued (they are slots of QObjects living in the window's thread), with copies of the
items, never live ones.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from hear2see_desktop.core.render_job import RenderResult
from hear2see_desktop.core.render_queue import QueueEvents, QueueItem


class RenderQueueSignals(QObject):
    """`changed`, `progress` and `item_finished` of one render queue."""

    changed = Signal(list)  # every QueueItem, in queue order
    progress = Signal(str, "qint64", "qint64", str)  # item id, done, total, message
    item_finished = Signal(object, object)  # the QueueItem as it ended, its RenderResult or None

    def events(self) -> QueueEvents:
        """The queue's listeners: each event becomes one of these signals."""
        return QueueEvents(changed=self._changed, progress=self._progress, finished=self._finished)

    def _changed(self, items: list[QueueItem]) -> None:
        self.changed.emit(items)

    def _progress(self, item: QueueItem, done: int, total: int, message: str, _preview: Any = None) -> None:
        self.progress.emit(item.id, int(done), int(total), message)

    def _finished(self, item: QueueItem, result: RenderResult | None) -> None:
        self.item_finished.emit(item, result)


__all__ = ["RenderQueueSignals"]
