"""Crash recovery: each running app keeps one autosaved copy of its work in a slot of its own.

Slots live in `<data>/autosave/`. Slot 1 is that folder itself (the one autosave of versions before
slots, so work they left after a crash is still found); more slots, for apps running at the same
time, are `slot-2/`, `slot-3/`, ... inside it. Each slot holds:

    owner.lock              locked by the running app that owns the slot (see core/file_lock.py)
    autosave.h2s            the work as a normal project file (written by `save_project`, atomically)
    autosave.audio.wav      its narration; autosave.frames/ its rendered images
    autosave-info.json      where the work was saved by the user (if anywhere) and which narration was copied
    session.json            {"clean_exit": false} while the owner runs, true after a clean close

At start-up an app claims a slot nobody holds. When some slot's owner is gone without a clean exit
and left an autosave, the app claims that slot and hands the autosave back for recovery (the newest
one when several crashed apps left work; the others wait in their slots for later starts). A second
app running at the same time never touches the first one's slot, and no two apps offer the same
autosave, because the slot's lock is held while it is offered.

A process killed at any moment (SIGKILL, power cut) leaves either the previous autosave or the new
one, never half of one, because every file goes through a temporary file and a rename and the
`.h2s` is written last; the operating system releases its lock, so its slot becomes recoverable.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from hear2see_desktop.core import paths
from hear2see_desktop.core.atomic import write_bytes_atomically
from hear2see_desktop.core.file_lock import FileLock
from hear2see_desktop.core.project import AUDIO_SUFFIX, FRAMES_SUFFIX, Project, save_project

log = logging.getLogger(__name__)

AUTOSAVE_STEM = "autosave"
_INFO_NAME = "autosave-info.json"
_SESSION_NAME = "session.json"
_LOCK_NAME = "owner.lock"
_SLOT_DIR = re.compile(r"slot-([1-9]\d*)")
_MAX_SLOTS = 1000  # far beyond any number of windows a person opens; only a bound for the claiming loop


@dataclass(frozen=True)
class Recovery:
    """An autosave left by a session that did not close cleanly."""

    path: Path  # the autosaved `.h2s`
    project_path: Path | None  # the project file the user was working on, None when it was never saved
    saved: str  # ISO time of the autosave, for the question shown to the user
    waiting: int = 0  # autosaves of other crashed sessions, left in their slots for later starts


def autosave_dir() -> Path:
    """`<data>/autosave/` (also slot 1), created when missing."""
    folder = paths.data_dir() / "autosave"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def slot_folders() -> list[Path]:
    """Every slot that exists, slot 1 (the autosave folder itself) first, then `slot-2/`, ... by number."""
    root = autosave_dir()
    numbered = []
    try:
        for entry in os.scandir(root):
            match = _SLOT_DIR.fullmatch(entry.name)
            if match and entry.is_dir(follow_symlinks=False):
                numbered.append((int(match.group(1)), Path(entry.path)))
    except OSError as error:
        log.warning("could not list %s: %s", root, error)
    return [root, *(folder for _, folder in sorted(numbered))]


class AutosaveSession:
    """This app's claim on one autosave slot: where its work is autosaved, and what it recovered.

    Every write goes only into a slot this session holds: after `end()` or `abandon()` the methods
    do nothing, so a late autosave can never land in a slot another app has taken over.
    """

    def __init__(self, folder: Path, lock: FileLock | None, recovery: Recovery | None = None) -> None:
        self.folder = folder
        self.recovery = recovery  # the crashed session's work found in this slot, to offer at start-up
        self._lock = lock

    @property
    def active(self) -> bool:
        """Whether this session still holds its slot (never, when no slot could be claimed)."""
        return self._lock is not None and self._lock.held

    @property
    def autosave_file(self) -> Path:
        """The autosaved project file (it may not exist)."""
        return self.folder / f"{AUTOSAVE_STEM}.h2s"

    def write(
        self,
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
        target = self.autosave_file
        if not self.active:
            log.info("not autosaving: this session no longer holds %s", self.folder)
            return target
        info = _read_json(self.folder / _INFO_NAME)
        stamp = _file_stamp(audio_source)
        copied = target.with_name(target.stem + AUDIO_SUFFIX)
        source: Path | None = audio_source
        if stamp is not None and info.get("audio_source") == stamp and copied.is_file():
            project.audio_file = copied.name
            source = None  # the copy beside the autosave is still this narration
        save_project(project, target, source, frame_images)
        _write_json(self.folder / _INFO_NAME, {
            "project_path": str(project_path) if project_path is not None else None,
            "audio_source": stamp,
            "saved": saved or project.modified,
        })
        return target

    def discard(self) -> None:
        """Remove the autosave and everything beside it (narration copy, frames, info)."""
        if self.active:
            _discard(self.folder)

    def end(self) -> None:
        """A clean close: drop the autosave, mark the exit clean and free the slot for the next start."""
        if not self.active:
            return
        _discard(self.folder)
        _write_json(self.folder / _SESSION_NAME, {"clean_exit": True, "pid": os.getpid()})
        self.abandon()

    def abandon(self) -> None:
        """Let go of the slot as a killed process would: the autosave stays and the next start offers it.

        For tests that simulate a crash inside one process; the app itself ends with `end()`.
        """
        if self._lock is not None:
            self._lock.release()


def start_session() -> AutosaveSession:
    """Claim a slot for this app, taking over the newest work a crashed app left, if any.

    Called once at start-up, before anything is autosaved; a few small files, fine on the UI thread.
    The returned session's `recovery` is that work (None when there is none). The slot is marked as
    running at once, so if this app crashes before the user answers, the offer comes again next time.
    When no slot can be had (an unwritable data folder), the app still runs, without crash recovery.
    """
    try:
        return _claim_slot()
    except OSError as error:
        log.warning("no autosave slot could be claimed (%s): autosave is off", error)
        return AutosaveSession(paths.data_dir() / "autosave", None)


def _claim_slot() -> AutosaveSession:
    free: list[tuple[Path, FileLock]] = []
    for folder in slot_folders():
        lock = FileLock.try_acquire(folder / _LOCK_NAME)
        if lock is not None:  # nobody runs in this slot
            free.append((folder, lock))
    crashed = [(folder, lock) for folder, lock in free if _has_crash_autosave(folder)]
    if crashed:
        folder, lock = max(crashed, key=lambda slot: _mtime_ns(slot[0] / f"{AUTOSAVE_STEM}.h2s"))
    else:
        folder, lock = free[0] if free else _new_slot()
    for _folder, other_lock in free:
        if other_lock is not lock:
            other_lock.release()
    recovery = _recovery_in(folder, waiting=len(crashed) - 1) if crashed else None
    if recovery is None:
        _discard(folder)  # whatever a clean or empty slot still holds is nobody's work
    elif recovery.waiting:
        log.info("recovering %s; %d more crashed sessions left work for later starts", folder, recovery.waiting)
    _write_json(folder / _SESSION_NAME, {"clean_exit": False, "pid": os.getpid(),
                                        "started": datetime.now().isoformat(timespec="seconds")})
    return AutosaveSession(folder, lock, recovery)


def _new_slot() -> tuple[Path, FileLock]:
    """Make and lock the next numbered slot; another app starting at the same moment may win a number."""
    root = autosave_dir()
    taken = [int(m.group(1)) for f in slot_folders()[1:] if (m := _SLOT_DIR.fullmatch(f.name))]
    first = max(taken, default=1) + 1
    for number in range(first, first + _MAX_SLOTS):
        folder = root / f"slot-{number}"
        try:
            folder.mkdir(exist_ok=True)
        except FileExistsError:
            continue  # a file by that name; any other error (no permission) ends the search
        lock = FileLock.try_acquire(folder / _LOCK_NAME)
        if lock is not None:
            return folder, lock
    raise OSError(f"no slot in {root} could be made and locked")


def _has_crash_autosave(folder: Path) -> bool:
    """An autosave whose session never closed cleanly (a clean close removes it, but be sure)."""
    session = _read_json(folder / _SESSION_NAME)
    return session.get("clean_exit") is not True and (folder / f"{AUTOSAVE_STEM}.h2s").is_file()


def _recovery_in(folder: Path, waiting: int) -> Recovery:
    info = _read_json(folder / _INFO_NAME)
    project_path = info.get("project_path")
    return Recovery(
        path=folder / f"{AUTOSAVE_STEM}.h2s",
        project_path=Path(project_path) if isinstance(project_path, str) and project_path else None,
        saved=str(info.get("saved", "")),
        waiting=max(0, waiting),
    )


def _discard(folder: Path) -> None:
    """Remove a slot's autosave and everything beside it; its lock and session marker stay."""
    (folder / f"{AUTOSAVE_STEM}.h2s").unlink(missing_ok=True)  # first: without it nothing is offered
    (folder / _INFO_NAME).unlink(missing_ok=True)
    (folder / f"{AUTOSAVE_STEM}{AUDIO_SUFFIX}").unlink(missing_ok=True)
    shutil.rmtree(folder / f"{AUTOSAVE_STEM}{FRAMES_SUFFIX}", ignore_errors=True)


def _mtime_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


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
    try:
        write_bytes_atomically(path, json.dumps(data).encode("utf-8"))
    except OSError as error:
        log.warning("could not write %s: %s", path, error)


__all__ = [
    "AutosaveSession",
    "Recovery",
    "autosave_dir",
    "slot_folders",
    "start_session",
]
