"""The run record: one JSON line per render in runs.jsonl, enough to render the same frames again.

Appends are single `write` calls of a whole line, flushed and fsynced, so a crash can at worst
leave one half-written last line; the reader skips such lines with a warning instead of failing.

A record is written once. What happens to a run later (the user rates it, deletes its files, the window
measures it) is appended as an event line keyed by the run's id, `{"event": "rating", "run": ID, ...}`,
and the reader folds the events into their records, the last event of a kind winning. The log is only
ever appended to, so no later step can lose a record another process is appending at the same time.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hear2see_desktop.core.errors import BadInputError, Fix

log = logging.getLogger(__name__)


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique id such as 20261123-093512-3fa9c1e0 (32 random bits: ids made in one second, as a batch
    or a test makes them, do not collide; 24 bits met a collision in 200)."""
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(4)}"


def append_record(log_path: Path, record: dict[str, Any]) -> None:
    """Append one run as one JSON line; the folder is created when needed."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    line = _json_line(record)
    with open(log_path, "ab") as handle:
        if handle.tell() > 0 and not _ends_with_newline(log_path):
            line = b"\n" + line  # a crash left a half line: start ours on a fresh one
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def _json_line(record: dict[str, Any]) -> bytes:
    """One record as a UTF-8 JSON line, readable text where possible.

    A lone surrogate (an undecodable byte in a command-line argument on Linux) cannot be written
    as UTF-8, so such a record is written with \\u escapes instead, which read back to the same text.
    """
    try:
        return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:
        return (json.dumps(record, ensure_ascii=True) + "\n").encode("ascii")


EVENT_KINDS = ("rating", "deleted", "metrics")
"""What can happen to a run after its render: a rating (1-5), its files deleted, its metrics measured."""


def append_event(log_path: Path, kind: str, run_id: str, **fields: Any) -> dict[str, Any]:
    """Append one event about run `run_id` (see the module docstring); the event as written."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown run log event {kind!r}")
    event = {"event": kind, "run": run_id, "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
             **fields}
    append_record(log_path, event)
    return event


def _event_of(value: Any) -> dict[str, Any] | None:
    """`value` when it is an event line this version understands, else None."""
    if (isinstance(value, dict) and "id" not in value and value.get("event") in EVENT_KINDS
            and isinstance(value.get("run"), str)):
        return value
    return None


def _fold(record: dict[str, Any], event: dict[str, Any]) -> None:
    """Apply one event to its record: the rating, the deletion (when and what) or the metrics replace earlier ones."""
    kind = event["event"]
    if kind == "rating":
        record["rating"] = event.get("rating")
    elif kind == "deleted":
        record["deleted"] = {"time": event.get("time"), "removed": event.get("removed", [])}
    else:
        record["metrics"] = event.get("metrics")


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


@dataclass
class RunLog:
    """The records read from one runs.jsonl, with the lines that had to be skipped."""

    records: list[dict[str, Any]] = field(default_factory=list)
    skipped_lines: list[int] = field(default_factory=list)


def iter_records(log_path: Path) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """(line number, record, event, or None when the line is neither) for each non-empty line."""
    with open(log_path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            value = _parse_line(line)
            yield number, value if isinstance(value, dict) and "id" in value else _event_of(value)


def _parse_line(line: str) -> Any:
    """The JSON value of one line, or None when it is not JSON (cut short, too deep, a 5000-digit number)."""
    try:
        return json.loads(line)
    except (ValueError, RecursionError):  # a JSONDecodeError is a ValueError
        return None


def read_log(log_path: Path) -> RunLog:
    """All readable records with their events folded in; a missing log is an empty one, unreadable lines are
    reported, not fatal. An event about a run that is not in the log (its line was lost) is left out."""
    result = RunLog()
    if not log_path.exists():
        return result
    if log_path.is_dir():
        raise BadInputError(f"The run log {log_path} is a folder: give a .jsonl file as ", Fix("runs_log"), ".")
    by_id: dict[str, list[dict[str, Any]]] = {}
    for number, value in iter_records(log_path):
        if value is None:
            log.warning("skipping unreadable line %d of %s", number, log_path)
            result.skipped_lines.append(number)
        elif "id" in value:
            result.records.append(value)
            by_id.setdefault(str(value["id"]), []).append(value)
        else:
            for record in by_id.get(value["run"], []):
                _fold(record, value)
    return result


def find_record(log_path: Path, run_id: str) -> dict[str, Any]:
    """The record whose id is `run_id` or starts with it (a unique prefix is enough)."""
    wanted = run_id.strip()
    matches = [r for r in read_log(log_path).records if str(r.get("id", "")).startswith(wanted)] if wanted else []
    exact = [r for r in matches if r.get("id") == wanted]
    if exact:
        return exact[-1]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise BadInputError(f"No run with id '{run_id}' is in {log_path}: see `hear2see runs list` for the ids.")
    raise BadInputError(f"'{run_id}' matches {len(matches)} runs in {log_path}: give more of the id.")


def rate_run(log_path: Path, run_id: str, rating: int) -> dict[str, Any]:
    """Store the user's 1-5 opinion score (the paper's MOS) as a rating event of the run; its record, rated.

    Rating again appends another event, and the last one counts. Every line already in the log stays
    byte for byte as it was.
    """
    if not 1 <= int(rating) <= 5:
        raise BadInputError(f"A rating must be a whole number from 1 to 5 (got {rating}).")
    record = find_record(log_path, run_id)
    append_event(log_path, "rating", str(record["id"]), rating=int(rating))
    return {**record, "rating": int(rating)}


def mean_ratings(records: list[dict[str, Any]]) -> list[tuple[str, float, int]]:
    """(settings label, mean rating, number of rated runs) per mode/scheduler/steps/size, best first.

    Records are hand-editable JSON, so a rating that is not a whole number from 1 to 5 is left out
    and odd settings or sizes show as "?" instead of failing the whole summary.
    """
    groups: dict[str, list[int]] = {}
    for record in records:
        rating = record.get("rating")
        if not (isinstance(rating, int) and not isinstance(rating, bool) and 1 <= rating <= 5):
            continue
        settings = record.get("settings")
        mode = settings.get("mode", "classic") if isinstance(settings, dict) else "classic"
        size = record.get("size")
        width, height = size if isinstance(size, list) and len(size) == 2 else ("?", "?")
        label = f"{mode} {record.get('scheduler', '?')} {record.get('steps', '?')} steps {width}x{height}"
        groups.setdefault(label, []).append(rating)
    rows = [(label, sum(values) / len(values), len(values)) for label, values in groups.items()]
    return sorted(rows, key=lambda row: (-row[1], row[0]))
