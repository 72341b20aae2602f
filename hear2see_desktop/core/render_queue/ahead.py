"""The queue's next renders on a cluster, prepared while the current one renders.

On one computer the queue renders one item at a time. On a cluster that leaves workers idle: an animate clip is
one unit, so a batch of clips would keep one worker busy and the others waiting, and every item's narration
stage (transcription, the workers' model check) and video encoding would leave them all waiting. So while an
item renders on a cluster, a background thread prepares the next waiting items (`RenderJob.prepare`): their
units are handed out, and the workers render them whenever the item being read has no unit to send (see
`ClusterSession.want`). The client still reads and writes one video at a time, with the one loaded pipeline:
two renders never share it. The queue does this on clusters of other machines only (`RenderQueue.prepares_ahead`).

One item is prepared at a time (and never beside the queue's own preparing of the current item): the speech
models are not shared between threads. A prepared item that is cancelled, removed or not reached (the queue
paused or ended) has its units stopped on the workers. A preparation that fails is dropped: the item prepares
again at its turn and fails there with its own sentence.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from hear2see_desktop.core.errors import CancelledError

log = logging.getLogger(__name__)

MOST_AHEAD = 8
"""The most items prepared ahead at once, however many workers: each holds up to `scheduler.MAX_AHEAD`
pictures in the client's memory until its turn."""


class Preparable(Protocol):
    """A job the queue can prepare before its turn (`RenderJob`)."""

    def prepare(self, progress: Any, cancelled: Callable[[], bool], ahead: bool = False) -> None: ...

    def discard(self) -> None: ...

    def on_cluster_workers(self) -> int: ...


def preparable(job: object) -> bool:
    return all(callable(getattr(job, name, None)) for name in ("prepare", "discard", "on_cluster_workers"))


def _quiet(done: int, total: int, message: str, preview: Any = None) -> None:
    """An item prepared ahead is still waiting: its progress shows when it renders."""


class Ahead:
    """Items prepared ahead of their turn, by one background thread (see the module docstring)."""

    def __init__(self, make_job: Callable[[Any], Any], still_waiting: Callable[[str], bool]) -> None:
        """`make_job(item)`: the item's job; `still_waiting(item_id)`: the item is in the queue, waiting."""
        self._make_job = make_job
        self._still_waiting = still_waiting
        self.preparing = threading.Lock()  # one narration stage at a time, the queue's own included
        self._changed = threading.Condition()
        self._wanted: list[Any] = []  # items to prepare, in queue order
        self._ready: dict[str, Any] = {}  # item id -> its prepared job
        self._busy_with: str | None = None
        self._dropped: set[str] = set()
        self._thread: threading.Thread | None = None

    def want(self, items: list[Any]) -> None:
        """Prepare these items (in this order) when they are not already; drop prepared ones no longer listed."""
        with self._changed:
            self._wanted = [item for item in items if item.id not in self._ready]
            ids = {item.id for item in items}
            stale = [item_id for item_id in self._ready if item_id not in ids]
            jobs = [self._ready.pop(item_id) for item_id in stale]
            if self._wanted and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._prepare_wanted, name="queue-ahead", daemon=True)
                self._thread.start()
        _discard(jobs)

    def take(self, item_id: str) -> Any | None:
        """The item's prepared job (waiting for its preparation when it is under way), or None."""
        with self._changed:
            self._wanted = [item for item in self._wanted if item.id != item_id]
            self._changed.wait_for(lambda: self._busy_with != item_id)
            return self._ready.pop(item_id, None)

    def prepared(self) -> list[str]:
        """The ids of the items prepared now (their units handed out)."""
        with self._changed:
            return list(self._ready)

    def drop(self, item_id: str) -> None:
        """The item will not run (cancelled, removed): stop its units, or its preparation."""
        with self._changed:
            self._wanted = [item for item in self._wanted if item.id != item_id]
            if self._busy_with == item_id:
                self._dropped.add(item_id)
            job = self._ready.pop(item_id, None)
        _discard([job] if job is not None else [])

    def drop_all(self) -> None:
        """Nothing more runs ahead (the queue paused or ended): stop every prepared item's units (waits for the
        workers to stop them: call it from the queue's thread)."""
        with self._changed:
            self._wanted = []
            if self._busy_with is not None:
                self._dropped.add(self._busy_with)
            jobs = list(self._ready.values())
            self._ready.clear()
            self._changed.wait_for(lambda: self._busy_with is None)
            self._dropped.clear()
        _discard(jobs, wait=True)

    def _prepare_wanted(self) -> None:
        while True:
            with self._changed:
                if not self._wanted:
                    return
                item = self._wanted.pop(0)
                self._busy_with = item.id
            job = None
            try:
                job = self._make_job(item)
                if preparable(job):
                    with self.preparing:
                        if self._dropped_or_gone(item.id):
                            raise CancelledError()
                        job.prepare(_quiet, lambda item_id=item.id: self._dropped_or_gone(item_id), ahead=True)
                else:
                    job = None
            except Exception as error:  # noqa: BLE001 - the item prepares again at its turn, with its own sentence
                log.debug("preparing queue item %s ahead did not finish: %s", item.id, error)
                _discard([job] if job is not None else [])
                job = None
            with self._changed:
                self._busy_with = None
                if job is not None and item.id not in self._dropped:
                    self._ready[item.id] = job
                    job = None
                self._dropped.discard(item.id)
                self._changed.notify_all()
            _discard([job] if job is not None else [])

    def _dropped_or_gone(self, item_id: str) -> bool:
        with self._changed:
            dropped = item_id in self._dropped
        return dropped or not self._still_waiting(item_id)


def _discard(jobs: list[Any], wait: bool = False) -> None:
    """Stop the jobs' units, on a thread of their own unless `wait`: the window's thread cancels items and must
    not wait."""
    def stop() -> None:
        for job in jobs:
            try:
                job.discard()
            except Exception:  # noqa: BLE001 - a cluster gone meanwhile has nothing left to stop
                log.exception("stopping a queue item prepared ahead failed")

    if jobs and wait:
        stop()
    elif jobs:
        threading.Thread(target=stop, name="queue-ahead-stop", daemon=True).start()
