"""One queued render: its request, where it stands (waiting, running, done, failed, cancelled), and why it
failed, kept as the error's parts so each front end words the fix in its own terms."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from hear2see_desktop.core.choices import Choice
from hear2see_desktop.core.errors import Fix, FixWords, Hear2SeeError, plain_words, worded
from hear2see_desktop.core.render_queue.request_json import request_from_dict, request_to_dict
from hear2see_desktop.core.render_request import RenderRequest


class ItemStatus(Choice):
    """Where a queued render stands. Only waiting items run; running ones come back as waiting after a crash."""

    WAITING = "waiting"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = (ItemStatus.DONE, ItemStatus.FAILED, ItemStatus.CANCELLED)
"""The statuses an item never leaves by itself (`RenderQueue.retry` puts one back in line)."""


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class QueueItem:
    """A render in the queue. `label` is what a list shows (the project's or the narration's name);
    `reason` is the failure's sentence as parts (see core/errors.py) and `exit_code` its kind (2 bad input,
    3 model missing, 4 render failed, 1 unexpected); `run_id` and `out_path` of the request say what a done
    render made."""

    request: RenderRequest
    label: str = ""
    id: str = field(default_factory=lambda: secrets.token_hex(6))
    status: ItemStatus = ItemStatus.WAITING
    reason: tuple[str | Fix, ...] = ()
    exit_code: int | None = None
    run_id: str | None = None
    added: str = field(default_factory=now_iso)
    finished: str | None = None

    def sentence(self, words: FixWords = plain_words) -> str:
        """Why the item failed or was cancelled, with each fix named as `words` names it ('' otherwise)."""
        return worded(self.reason, words)

    def fail(self, error: Hear2SeeError, status: ItemStatus = ItemStatus.FAILED) -> None:
        self.status, self.reason, self.exit_code = status, tuple(error.parts), error.exit_code
        self.finished = now_iso()

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "status": str(self.status),
                "reason": [_part_to_json(part) for part in self.reason], "exit_code": self.exit_code,
                "run_id": self.run_id, "added": self.added, "finished": self.finished,
                "request": request_to_dict(self.request)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QueueItem:
        """Read `to_dict` back; raises KeyError/TypeError/ValueError on a wrong shape (the store skips it)."""
        exit_code = data.get("exit_code")
        return cls(request=request_from_dict(data["request"]), label=str(data.get("label", "")),
                   id=str(data["id"]), status=ItemStatus(data.get("status", "waiting")),
                   reason=tuple(_part_from_json(part) for part in data.get("reason", [])),
                   exit_code=int(exit_code) if exit_code is not None else None,
                   run_id=data.get("run_id"), added=str(data.get("added", "")), finished=data.get("finished"))


def _part_to_json(part: str | Fix) -> Any:
    return part if isinstance(part, str) else {"fix": part.setting, "value": part.value}


def _part_from_json(part: Any) -> str | Fix:
    if isinstance(part, str):
        return part
    value = part.get("value")
    return Fix(str(part["fix"]), None if value is None else str(value))
