"""A render queue: renders waiting their turn, run one at a time by the same job code as a single render.

`items.py` holds what is queued and its status, `request_json.py` a request as JSON, `store.py` the queue
file that survives a restart, `runner.py` the queue itself (add, reorder, cancel, run). No Qt here: the
window's queue panel and `hear2see batch` are both built on `RenderQueue`.
"""

from hear2see_desktop.core.render_queue.items import ItemStatus, QueueItem
from hear2see_desktop.core.render_queue.runner import QueueEvents, QueueJob, RenderQueue
from hear2see_desktop.core.render_queue.store import QueueStore

__all__ = ["ItemStatus", "QueueEvents", "QueueItem", "QueueJob", "QueueStore", "RenderQueue"]
