"""The run record: one JSON line per render in runs.jsonl, enough to render the same frames again.

Appends are single `write` calls of a whole line, flushed and fsynced, so a crash can at worst
leave one half-written last line; the reader skips such lines with a warning instead of failing.
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

from hear2see_desktop.core.errors import BadInputError

log = logging.getLogger(__name__)


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique id such as 20261123-093512-3fa9c1."""
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def append_record(log_path: Path, record: dict[str, Any]) -> None:
    """Append one run as one JSON line; the folder is created when needed."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False, sort_keys=False) + "\n"
    with open(log_path, "a", encoding="utf-8") as handle:
        if handle.tell() > 0 and not _ends_with_newline(log_path):
            line = "\n" + line  # a crash left a half line: start ours on a fresh one
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


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
    """(line number, record or None when the line is not a JSON object) for each non-empty line."""
    with open(log_path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                yield number, None
                continue
            yield number, value if isinstance(value, dict) and "id" in value else None


def read_log(log_path: Path) -> RunLog:
    """All readable records; a missing log is an empty one, unreadable lines are reported, not fatal."""
    result = RunLog()
    if not log_path.exists():
        return result
    if log_path.is_dir():
        raise BadInputError(f"The run log {log_path} is a folder: pass a .jsonl file to --runs-log.")
    for number, record in iter_records(log_path):
        if record is None:
            log.warning("skipping unreadable line %d of %s", number, log_path)
            result.skipped_lines.append(number)
        else:
            result.records.append(record)
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
    """Store the user's 1-5 opinion score (the paper's MOS) in the run's record.

    The log is rewritten through a temp file and renamed, so a crash leaves either the old or the
    new log; unreadable lines are kept as they were.
    """
    if not 1 <= int(rating) <= 5:
        raise BadInputError(f"A rating must be a whole number from 1 to 5 (got {rating}).")
    record = find_record(log_path, run_id)
    lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    for number, line in enumerate(lines):
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and value.get("id") == record["id"]:
            value["rating"] = int(rating)
            lines[number] = json.dumps(value, ensure_ascii=False) + "\n"
            record = value
    temp = log_path.with_name(f".{log_path.name}.{secrets.token_hex(3)}.part")
    with open(temp, "w", encoding="utf-8") as handle:
        handle.writelines(lines)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, log_path)
    return record


def mean_ratings(records: list[dict[str, Any]]) -> list[tuple[str, float, int]]:
    """(settings label, mean rating, number of rated runs) per mode/scheduler/steps/size, best first."""
    groups: dict[str, list[int]] = {}
    for record in records:
        if "rating" not in record:
            continue
        settings = record.get("settings") or {}
        size = record.get("size") or ["?", "?"]
        label = (f"{settings.get('mode', 'classic')} {record.get('scheduler', '?')} {record.get('steps', '?')} steps "
                 f"{size[0]}x{size[1]}")
        groups.setdefault(label, []).append(int(record["rating"]))
    rows = [(label, sum(values) / len(values), len(values)) for label, values in groups.items()]
    return sorted(rows, key=lambda row: (-row[1], row[0]))
