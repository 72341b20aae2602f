"""The queue file: the queue as JSON in the app's data folder, rewritten whole and atomically on each change.

So the queue survives closing the app, a crash or a power cut: the file on disk is always one whole
queue, never half of one. A render that was running when the app stopped comes back as waiting (its
finished frames are in the frame cache, so it picks up where it stopped). An unreadable file is moved
aside (`render-queue.json.unreadable`), never overwritten in silence; an item that no longer reads
(a newer version's shape) is left out and logged.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from hear2see_desktop.core import paths
from hear2see_desktop.core.atomic import write_bytes_atomically
from hear2see_desktop.core.errors import Hear2SeeError
from hear2see_desktop.core.render_queue.items import ItemStatus, QueueItem

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


class QueueStore:
    """Loads and saves one queue file (default: the app's, `paths.render_queue_path()`)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or paths.render_queue_path()

    def load(self) -> list[QueueItem]:
        """The saved items in order, running ones back to waiting; [] when there is no queue file yet."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            entries = data["items"]
            if not isinstance(entries, list):
                raise TypeError("items is not a list")
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
            aside = self.path.with_name(self.path.name + ".unreadable")
            log.warning("the render queue %s is unreadable (%s); moved to %s", self.path, error, aside)
            try:
                self.path.replace(aside)
            except OSError:
                log.exception("could not move the unreadable queue aside")
            return []
        items = []
        for entry in entries:
            try:
                item = QueueItem.from_dict(entry)
            except (KeyError, TypeError, ValueError, AttributeError, Hear2SeeError) as error:
                log.warning("left out a queue item that does not read (%s): %r", error, entry)
                continue
            if item.status == ItemStatus.RUNNING:
                item.status = ItemStatus.WAITING
            items.append(item)
        return items

    def save(self, items: list[QueueItem]) -> None:
        data = {"version": FORMAT_VERSION, "items": [item.to_dict() for item in items]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomically(self.path, json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))
