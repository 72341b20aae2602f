"""The render queue: renders run one at a time, in the queue's order, through the render job.

`RenderQueue` is safe to drive from two threads: a worker thread calls `run_all` (or `run_next`), which
blocks while it renders, and any other thread (the window's) adds, reorders and cancels meanwhile. Each
change is saved to the queue file at once (when the queue has one) and announced to `QueueEvents.changed`
with a snapshot of every item; a running render reports through `QueueEvents.progress` and its end
through `QueueEvents.finished`. Listeners are called on the thread that made the change and must not
block (the window turns them into Qt signals).

A failed render does not stop the queue: the item keeps its sentence and the next one starts. A `stop`
check given to `run_all` pauses the queue instead: the running render stops and its item goes back to
waiting, where it stood (how the window pauses the queue, or quits keeping it for next time).

On a Ray cluster the next waiting items are prepared while one renders (ahead.py), so the workers the
rendering item leaves idle render theirs; the client still writes one video at a time.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hear2see_desktop.core.errors import CancelledError, Hear2SeeError
from hear2see_desktop.core.jobs import CancelledFn, Job, ProgressFn, never_cancelled
from hear2see_desktop.core.render_job import RenderJob, RenderResult
from hear2see_desktop.core.render_queue.ahead import MOST_AHEAD, Ahead, preparable
from hear2see_desktop.core.render_queue.items import FINISHED, ItemStatus, QueueItem, now_iso
from hear2see_desktop.core.render_queue.store import QueueStore
from hear2see_desktop.core.render_request import RenderRequest

log = logging.getLogger(__name__)


def _no_change(items: list[QueueItem]) -> None:
    """A `changed` listener that ignores the change."""


def _no_progress(item: QueueItem, done: int, total: int, message: str, preview: Any = None) -> None:
    """A `progress` listener that ignores progress."""


def _no_finish(item: QueueItem, result: RenderResult | None) -> None:
    """A `finished` listener that ignores the end."""


@dataclass(frozen=True)
class QueueEvents:
    """What a front end hears from the queue, one callable per concern (each gets copies, never live items):
    `changed(items)` after anything changed (added, moved, cancelled, started, finished); `progress(item,
    done, total, message, preview)` from the running render (the job protocol's arguments); `finished(item,
    result)` when a render ends, with its `RenderResult` when it made the video (else None)."""

    changed: Callable[[list[QueueItem]], None] = _no_change
    progress: Callable[..., None] = _no_progress
    finished: Callable[[QueueItem, RenderResult | None], None] = _no_finish


NO_QUEUE_EVENTS = QueueEvents()

JobFactory = Callable[[QueueItem], Job[RenderResult]]
"""Makes the job that renders an item (default: a `RenderJob` of its request; the window passes one that
also feeds its timeline)."""


def render_job_for(item: QueueItem) -> Job[RenderResult]:
    return RenderJob(item.request)


class RenderQueue:
    """Queued renders and the loop that runs them (see the module docstring)."""

    def __init__(self, store: QueueStore | None = None, events: QueueEvents = NO_QUEUE_EVENTS,
                 make_job: JobFactory = render_job_for, prepare_ahead: bool = True) -> None:
        """`store`: the queue file to load from and save to (None: a queue that lives in memory only, as
        `hear2see batch` uses). `prepare_ahead`: prepare the next items on a cluster while one renders (see
        ahead.py). On `local:N` too: its workers share this computer's cores, yet `bench/cluster_batch.py`
        measured a queue of clips on two CPU workers of a two-core machine 1.11x as fast prepared ahead."""
        self.store = store
        self.events = events
        self.make_job = make_job
        self.prepare_ahead = prepare_ahead
        self._lock = threading.RLock()
        self._items: list[QueueItem] = store.load() if store is not None else []
        self._cancelling: set[str] = set()
        self._ahead = Ahead(lambda item: self.make_job(item), self._is_waiting)

    # --- what is queued ----------------------------------------------------------------------
    def items(self) -> list[QueueItem]:
        """Copies of every item, in queue order (finished ones included until removed)."""
        with self._lock:
            return [copy.copy(item) for item in self._items]

    def item(self, item_id: str) -> QueueItem:
        """A copy of one item; KeyError when it is not (or no longer) in the queue."""
        with self._lock:
            return copy.copy(self._find(item_id))

    def waiting(self) -> int:
        with self._lock:
            return sum(item.status == ItemStatus.WAITING for item in self._items)

    def prepared_ahead(self) -> list[str]:
        """The ids of waiting items prepared on a cluster before their turn (see ahead.py)."""
        return self._ahead.prepared()

    def running(self) -> QueueItem | None:
        with self._lock:
            return next((copy.copy(item) for item in self._items if item.status == ItemStatus.RUNNING), None)

    # --- changes ------------------------------------------------------------------------------
    def add(self, request: RenderRequest, label: str = "") -> QueueItem:
        """Queue a render at the end; returns (a copy of) its item."""
        item = QueueItem(request=request, label=label or request.audio_path.name)
        with self._lock:
            self._items.append(item)
            snapshot = self._changed()
        self.events.changed(snapshot)
        return copy.copy(item)

    def move(self, item_id: str, index: int) -> None:
        """Put an item at `index` in the queue (clamped to its ends): waiting items run in queue order."""
        with self._lock:
            item = self._find(item_id)
            self._items.remove(item)
            self._items.insert(max(0, min(index, len(self._items))), item)
            snapshot = self._changed()
        self.events.changed(snapshot)

    def cancel(self, item_id: str) -> bool:
        """Cancel a waiting item, or stop the running one (it becomes cancelled when the render has stopped,
        leaving no partial video); False when the item had already finished."""
        with self._lock:
            item = self._find(item_id)
            if not self._cancel(item):
                return False
            snapshot = self._changed()
        self._ahead.drop(item_id)
        self.events.changed(snapshot)
        return True

    def cancel_all(self) -> int:
        """Cancel every waiting item and stop the running one; returns how many were cancelled."""
        with self._lock:
            count = sum(self._cancel(item) for item in list(self._items))
            snapshot = self._changed()
        for item_id in self._ahead.prepared():
            self._ahead.drop(item_id)
        self.events.changed(snapshot)
        return count

    def retry(self, item_id: str) -> bool:
        """Put a failed or cancelled item back in line (where it stands); False for any other."""
        with self._lock:
            item = self._find(item_id)
            if item.status not in (ItemStatus.FAILED, ItemStatus.CANCELLED):
                return False
            item.status, item.reason, item.exit_code, item.finished = ItemStatus.WAITING, (), None, None
            snapshot = self._changed()
        self.events.changed(snapshot)
        return True

    def remove(self, item_id: str) -> bool:
        """Take a finished or waiting item out of the queue (a running one must be cancelled first)."""
        with self._lock:
            item = self._find(item_id)
            if item.status == ItemStatus.RUNNING:
                return False
            self._items.remove(item)
            snapshot = self._changed()
        self._ahead.drop(item_id)
        self.events.changed(snapshot)
        return True

    def clear_finished(self) -> int:
        """Take every done, failed and cancelled item out; returns how many."""
        with self._lock:
            kept = [item for item in self._items if item.status not in FINISHED]
            count = len(self._items) - len(kept)
            self._items = kept
            snapshot = self._changed()
        self.events.changed(snapshot)
        return count

    # --- running ------------------------------------------------------------------------------
    def run_all(self, stop: CancelledFn = never_cancelled) -> list[QueueItem]:
        """Render waiting items one at a time until none is left (items added meanwhile included) or `stop()`
        turns true; returns copies of the items this call ran, as they ended. Blocks: call it from a worker
        thread."""
        ran = []
        try:
            while not stop() and (item := self.run_next(stop)) is not None:
                ran.append(item)
        finally:  # paused or ended: nothing goes on rendering ahead on a cluster
            self._ahead.drop_all()
        return ran

    def run_next(self, stop: CancelledFn = never_cancelled) -> QueueItem | None:
        """Render the first waiting item; returns a copy of it as it ended, or None when none is waiting.

        `stop()` is polled with the render's own cancel check: when it turns true the render stops (no
        partial video) and the item goes back to waiting, not cancelled. Ctrl-C (KeyboardInterrupt) stops
        the render, marks the item cancelled and goes on to the caller."""
        with self._lock:
            item = next((item for item in self._items if item.status == ItemStatus.WAITING), None)
            if item is None:
                return None
            item.status, item.reason, item.exit_code, item.run_id = ItemStatus.RUNNING, (), None, None
            snapshot = self._changed()
        self.events.changed(snapshot)
        result = None
        try:
            result = self._render(item, stop)
        except KeyboardInterrupt:
            self._end(item, None, CancelledError())
            raise
        except CancelledError as error:
            if self._cancelled_by_user(item):
                self._end(item, None, error)
            else:  # stopped, not cancelled: back in line where it stood
                self._put_back(item)
        except Hear2SeeError as error:
            self._end(item, None, error)
        except Exception as error:  # a bug: the item gets a sentence, the log the traceback
            log.exception("queued render %s failed", item.id)
            self._end(item, None, Hear2SeeError(f"Unexpected error {type(error).__name__}: {error} "
                                                "(details in the log)."))
        else:
            self._end(item, result, None)
        return copy.copy(item)

    def _render(self, item: QueueItem, stop: CancelledFn) -> RenderResult:
        def progress(done: int, total: int, message: str, preview: Any = None) -> None:
            self.events.progress(copy.copy(item), done, total, message, preview)

        def cancelled() -> bool:
            return item.id in self._cancelling or stop()

        job = self._ahead.take(item.id) or self.make_job(item)
        if preparable(job):
            with self._ahead.preparing:  # (a no-op when it was prepared ahead)
                job.prepare(progress, cancelled)
            workers = job.on_cluster_workers() if self.prepares_ahead(item.request) else 0
            if workers:  # the next items' units render on the workers this one leaves idle
                self._ahead.want(self._next_on_cluster(item, min(MOST_AHEAD, max(1, workers - 1))))
        return job.run(progress, cancelled)

    def prepares_ahead(self, request: RenderRequest) -> bool:
        """Whether, while this request renders, the next items on its cluster are prepared (see `__init__`)."""
        return request.cluster is not None and self.prepare_ahead

    def _next_on_cluster(self, item: QueueItem, count: int) -> list[QueueItem]:
        """The first `count` waiting items after `item` that render on a cluster."""
        with self._lock:
            return [i for i in self._items if i.status == ItemStatus.WAITING and i.request.cluster][:count]

    def _is_waiting(self, item_id: str) -> bool:
        with self._lock:
            return any(i.id == item_id and i.status == ItemStatus.WAITING for i in self._items)

    def _cancelled_by_user(self, item: QueueItem) -> bool:
        with self._lock:
            return item.id in self._cancelling

    def _put_back(self, item: QueueItem) -> None:
        with self._lock:
            item.status, item.reason, item.exit_code, item.run_id = ItemStatus.WAITING, (), None, None
            snapshot = self._changed()
        self.events.changed(snapshot)

    def _end(self, item: QueueItem, result: RenderResult | None, error: Hear2SeeError | None) -> None:
        with self._lock:
            self._cancelling.discard(item.id)
            if error is None:
                assert result is not None
                item.status, item.run_id, item.finished = ItemStatus.DONE, result.run_id, now_iso()
            else:
                item.fail(error, ItemStatus.CANCELLED if isinstance(error, CancelledError) else ItemStatus.FAILED)
            snapshot = self._changed()
            ended = copy.copy(item)
        self.events.changed(snapshot)
        self.events.finished(ended, result)

    # --- inside the lock ----------------------------------------------------------------------
    def _find(self, item_id: str) -> QueueItem:
        for item in self._items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    def _cancel(self, item: QueueItem) -> bool:
        if item.status == ItemStatus.WAITING:
            item.fail(CancelledError(), ItemStatus.CANCELLED)
            return True
        if item.status == ItemStatus.RUNNING and item.id not in self._cancelling:
            self._cancelling.add(item.id)
            return True
        return False

    def _changed(self) -> list[QueueItem]:
        """Save the queue (a failed save is logged: the queue in memory still runs) and snapshot it."""
        if self.store is not None:
            try:
                self.store.save(self._items)
            except OSError:
                log.exception("could not save the render queue to %s", self.store.path)
        return [copy.copy(item) for item in self._items]


class QueueJob:
    """The whole queue as one job (the job protocol), so a GUI worker runs it like any other: `run` renders
    waiting items until none is left; the job's cancel check pauses the queue (`run_all`'s `stop`: the
    running render goes back to waiting), it cancels no item. Progress comes through the queue's events."""

    def __init__(self, queue: RenderQueue) -> None:
        self.queue = queue

    def run(self, progress: ProgressFn, cancelled: CancelledFn) -> list[QueueItem]:
        return self.queue.run_all(stop=cancelled)
