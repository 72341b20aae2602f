"""`hear2see batch`'s progress on the terminal: the whole batch's bar and the running item's, on one redrawn
line (`[2/4 ###.....] Rendering frames [#####....] 40%`; plain lines when piped), then one line per
finished item. Everything goes to stderr; the summary
table is the command's output."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from hear2see_desktop.cli_progress import TerminalProgress
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.render_queue import ItemStatus, QueueItem

OVERALL_WIDTH = 8
"""Characters of the whole batch's bar, before the running item's message and bar."""


class BatchProgress:
    """`QueueEvents.progress` and `QueueEvents.finished` for a batch of `len(order)` renders."""

    def __init__(self, order: list[str], stream: TextIO | None = None, bar: bool | None = None) -> None:
        """`order`: the queued items' ids, in the order they run."""
        self.stream = stream or sys.stderr
        self.order = order
        self.finished_count = 0
        self._overall = 0.0
        self._item_id: str | None = None
        self._item_bar = TerminalProgress(self.stream, bar)
        self._item_started = time.monotonic()

    def progress(self, item: QueueItem, done: int, total: int, message: str, preview: Any = None) -> None:
        if item.id != self._item_id:
            self._item_id, self._item_started = item.id, time.monotonic()
            self._item_bar = TerminalProgress(self.stream, self._item_bar.bar)
        fraction = min(max(done, 0), max(total, 1)) / max(total, 1)
        count = max(len(self.order), 1)
        self._overall = max(self._overall, (self.finished_count + fraction) / count)
        self._item_bar(done, total, f"{self._position(item, self._overall)} {message}")

    def finished(self, item: QueueItem, result: Any) -> None:
        self._item_bar.close()
        self.finished_count += 1
        self._overall = self.finished_count / max(len(self.order), 1)
        took = time.monotonic() - self._item_started if item.id == self._item_id else 0.0
        if item.status == ItemStatus.DONE:
            words = f"rendered in {took:.1f} s"
        elif item.status == ItemStatus.CANCELLED:
            words = "cancelled"
        else:
            words = "bad input" if item.exit_code == BadInputError.exit_code else "failed"
        self.stream.write(f"{self._position(item)} {item.label}: {words}\n")
        self.stream.flush()

    def close(self) -> None:
        self._item_bar.close()

    def _position(self, item: QueueItem, overall: float | None = None) -> str:
        """`[2/4]`, with the whole batch's bar when `overall` (0..1) is given: `[2/4 ###.....]`."""
        number = self.order.index(item.id) + 1 if item.id in self.order else self.finished_count + 1
        if overall is None:
            return f"[{number}/{len(self.order)}]"
        filled = int(OVERALL_WIDTH * overall)
        return f"[{number}/{len(self.order)} {'#' * filled}{'.' * (OVERALL_WIDTH - filled)}]"
