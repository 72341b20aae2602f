"""Sweeping away the hidden part files that a killed process left behind.

Every atomic write in the app goes through a hidden file beside the final one, renamed over it when
complete: `.<name>.part-<8 hex digits>`, with the final suffix repeated for files that ffmpeg or
libsndfile must recognise (`.clip.mp4.part-1a2b3c4d.mp4`). A process killed mid-write (SIGKILL, a
power cut, a crash in a native library) never reaches the rename or its clean-up, so the part file
stays, hidden, and a half-rendered video can hold hundreds of megabytes.

A part file is removed only when all of these hold:
- its name is exactly that pattern (`.clip.mp4.part-1a2b3c4d.mp4` or `.owl.h2s.part-1a2b3c4d`, never
  `clip.part-1a2b3c4d`, `.notes.part-1a2b3c4d.txt` or `.clip.part-xyz`), and it is a plain file;
- it was last written more than `STALE_PART_AGE_S` ago;
- on Linux, no process has it open (checked in /proc); on Windows a file open in another process
  cannot be deleted anyway, and such a file is left alone.

Why six hours, when most part files live for seconds: another running instance (or the CLI) may be
writing one right now, and the video encoder's part can go unwritten for long stretches (ffmpeg writes
in 32 KiB pieces, which a slow CPU render produces minutes apart; a paused or throttled process writes
nothing). Removing a live part would fail that render after all its work, while leaving a dead one a few
hours longer only costs disk space until a later sweep. Where the system cannot say which files are open
(macOS), the age is the only guard: a render suspended for longer than that (a laptop asleep overnight)
could lose its part file.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

STALE_PART_AGE_S = 6 * 3600.0
_PART_NAME = re.compile(r"\.(?P<name>.+)\.part-[0-9a-f]{8}(?P<suffix>\.[^.]+)?")


def part_path(final: str | os.PathLike[str], keep_suffix: bool = False) -> Path:
    """A fresh hidden part name beside `final` for an atomic write (`.clip.mp4.part-1a2b3c4d`); with
    `keep_suffix` the final suffix is repeated (`.clip.mp4.part-1a2b3c4d.mp4`) for writers that pick the
    format from the name (ffmpeg, libsndfile, PIL). `sweep_stale_parts` recognises exactly these names."""
    final = Path(final)
    suffix = final.suffix if keep_suffix else ""
    return final.with_name(f".{final.name}.part-{secrets.token_hex(4)}{suffix}")


def is_part_name(name: str) -> bool:
    """Whether `name` is one of our atomic writes' hidden part names (`.clip.mp4.part-1a2b3c4d.mp4`)."""
    match = _PART_NAME.fullmatch(name)
    if match is None:
        return False
    suffix = match.group("suffix")
    return suffix is None or os.path.splitext(match.group("name"))[1] == suffix


def sweep_stale_parts(folder: str | os.PathLike[str], older_than_s: float = STALE_PART_AGE_S,
                      now: float | None = None) -> list[Path]:
    """Remove the stale part files directly inside `folder` (not below it); returns what was removed.

    Never raises: a missing or unreadable folder, or a file that cannot be removed, is skipped. One
    directory listing plus a stat of each matching name, so it is cheap; it still touches the disk,
    so the GUI runs it in a worker.
    """
    cutoff = (time.time() if now is None else now) - older_than_s
    stale = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if not is_part_name(entry.name):
                    continue
                try:
                    if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                        stale.append(Path(entry.path))
                except OSError:
                    continue
    except OSError:
        return []
    if not stale:
        return []
    in_use = _open_by_some_process(stale)
    removed = []
    for path in stale:
        if path in in_use:
            log.info("keeping %s: a running process still has it open", path)
            continue
        try:
            path.unlink()
        except FileNotFoundError:
            continue  # its writer renamed or removed it in the meantime
        except OSError as error:  # open in another process on Windows, a read-only folder, ...
            log.info("could not remove the stale part file %s: %s", path, error)
            continue
        removed.append(path)
    if removed:
        log.info("removed %d stale part file(s) from %s", len(removed), folder)
    return removed


def _open_by_some_process(candidates: list[Path]) -> set[Path]:
    """Those of `candidates` that a process (of this user) has open, where the system can tell: Linux's /proc."""
    if not sys.platform.startswith("linux") or not os.path.isdir("/proc/self/fd"):
        return set()
    wanted = {os.path.realpath(path): path for path in candidates}
    found = set()
    try:
        pids = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return set()
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue  # another user's process, or one that just ended
        for fd in fds:
            try:
                target = os.readlink(f"{fd_dir}/{fd}")
            except OSError:
                continue
            if target in wanted:
                found.add(wanted[target])
    return found


__all__ = ["STALE_PART_AGE_S", "is_part_name", "part_path", "sweep_stale_parts"]
