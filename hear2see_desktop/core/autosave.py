"""Crash recovery: one autosaved copy of the open work, and a marker of whether the app exited cleanly.

Everything lives in `<data>/autosave/`:

    autosave.h2s            the work as a normal project file (written by `save_project`, atomically)
    autosave.audio.wav      its narration; autosave.frames/ its rendered images
    autosave-info.json      where the work was saved by the user (if anywhere) and which narration was copied
    session.json            {"clean_exit": false} while the app runs, true after a clean close

A process killed at any moment (SIGKILL, power cut) leaves either the previous autosave or the new
one, never half of one, because every file goes through a temporary file and a rename and the
`.h2s` is written last. On the next start, `start_session` hands back the autosave when the last
session did not close cleanly, so the app can offer to recover it.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hear2see_desktop.core import paths
from hear2see_desktop.core.project import AUDIO_SUFFIX, FRAMES_SUFFIX, Project, save_project

log = logging.getLogger(__name__)

AUTOSAVE_STEM = "autosave"
_INFO_NAME = "autosave-info.json"
_SESSION_NAME = "session.json"


@dataclass(frozen=True)
class Recovery:
    """An autosave left by a session that did not close cleanly."""

    path: Path  # the autosaved `.h2s`
    project_path: Path | None  # the project file the user was working on, None when it was never saved
    saved: str  # ISO time of the autosave, for the question shown to the user


def autosave_dir() -> Path:
    """`<data>/autosave/`, created when missing."""
    folder = paths.data_dir() / "autosave"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def autosave_file() -> Path:
    """The autosaved project file (it may not exist)."""
    return autosave_dir() / f"{AUTOSAVE_STEM}.h2s"


def start_session() -> Recovery | None:
    """Mark this session as running; return the autosave of an earlier session that did not exit cleanly.

    Called once at start-up, before anything is autosaved. A session that crashes before the user
    answers leaves the autosave and the "running" marker in place, so the offer comes again.
    """
    session = _read_json(autosave_dir() / _SESSION_NAME)
    recovery = None
    if session.get("clean_exit") is not True and autosave_file().is_file():
        info = _read_json(autosave_dir() / _INFO_NAME)
        project_path = info.get("project_path")
        recovery = Recovery(
            path=autosave_file(),
            project_path=Path(project_path) if isinstance(project_path, str) and project_path else None,
            saved=str(info.get("saved", "")),
        )
    _write_json(autosave_dir() / _SESSION_NAME, {"clean_exit": False, "pid": os.getpid()})
    return recovery


def end_session() -> None:
    """A clean close: drop the autosave and mark the exit clean, so the next start offers nothing."""
    discard_autosave()
    _write_json(autosave_dir() / _SESSION_NAME, {"clean_exit": True, "pid": os.getpid()})


def write_autosave(
    project: Project,
    audio_source: Path,
    frame_images: dict[int, Path] | None = None,
    project_path: Path | None = None,
    saved: str = "",
) -> Path:
    """Write `project` (with its narration and frames) as the autosave; returns the `.h2s` path.

    Meant for a worker thread: the narration is copied the first time and only again when its file
    changed (by size and modification time), so repeated autosaves of a long narration stay cheap.
    `project` is updated in place as `save_project` does.
    """
    target = autosave_file()
    info = _read_json(autosave_dir() / _INFO_NAME)
    stamp = _file_stamp(audio_source)
    copied = target.with_name(target.stem + AUDIO_SUFFIX)
    source: Path | None = audio_source
    if stamp is not None and info.get("audio_source") == stamp and copied.is_file():
        project.audio_file = copied.name
        source = None  # the copy beside the autosave is still this narration
    save_project(project, target, source, frame_images)
    _write_json(autosave_dir() / _INFO_NAME, {
        "project_path": str(project_path) if project_path is not None else None,
        "audio_source": stamp,
        "saved": saved or project.modified,
    })
    return target


def discard_autosave() -> None:
    """Remove the autosave and everything beside it (narration copy, frames, info)."""
    folder = autosave_dir()
    autosave_file().unlink(missing_ok=True)  # first: without it nothing is offered, whatever else remains
    (folder / _INFO_NAME).unlink(missing_ok=True)
    (folder / f"{AUTOSAVE_STEM}{AUDIO_SUFFIX}").unlink(missing_ok=True)
    shutil.rmtree(folder / f"{AUTOSAVE_STEM}{FRAMES_SUFFIX}", ignore_errors=True)


def _file_stamp(path: Path) -> dict[str, Any] | None:
    """What identifies a version of a file cheaply: its absolute path, size and modification time."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return {"path": str(path.absolute()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _read_json(path: Path) -> dict[str, Any]:
    """A small JSON object, or {} when it is missing or unreadable (a marker cut short counts as absent)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Small enough for the UI thread; through a temporary file and a rename, so it is never half written."""
    part = path.with_name(f".{path.name}.part-{secrets.token_hex(4)}")
    try:
        with open(part, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(part, path)
    except OSError as error:
        part.unlink(missing_ok=True)
        log.warning("could not write %s: %s", path, error)


__all__ = [
    "Recovery",
    "autosave_dir",
    "autosave_file",
    "discard_autosave",
    "end_session",
    "start_session",
    "write_autosave",
]
