"""A lock file held by one running process, which the operating system lets go of when that process dies.

The lock is the system's own advisory file lock (`flock` on Linux and macOS, `LockFileEx` through
`msvcrt.locking` on Windows) taken on an open file, not the mere existence of the file. So a process
killed by SIGKILL or a power cut never leaves a stale lock that needs guessing about (is PID 4321 still
ours, or a new process that got the same number?), and no two processes can both "take over" a stale
lock. The holder's PID is written into the file for people who look; nothing reads it back.

Lock files are never deleted: removing one while another process has it open would let two processes
lock two different files under the same name.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)

_HELD_ELSEWHERE = {errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES}


class FileLock:
    """An exclusive lock on `path`, held until `release()` or the end of this process."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def try_acquire(cls, path: Path) -> FileLock | None:
        """Lock `path` (created when missing) without waiting; None when another holder has it.

        Two opens of the same file in one process are two holders, so two sessions in one process
        (as in tests) also exclude each other. The descriptor is not inherited by child processes
        (ffmpeg), so the lock ends with this process.
        """
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return None  # an unwritable folder: the caller tries another slot or goes without
        try:
            locked = _lock(fd)
        except OSError as error:  # a file system without locks (some network shares): go on unguarded
            log.warning("cannot lock %s (%s): another running HEAR2SEE could share it", path, error)
            locked = True
        if not locked:
            os.close(fd)
            return None
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            pass  # the PID is only for people; the lock itself is what counts
        return cls(path, fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Let go of the lock (closing the file ends it); safe to call twice."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


if sys.platform == "win32":
    import msvcrt

    def _lock(fd: int) -> bool:
        """True when locked, False when another holder has it."""
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # byte 0, past the end is allowed; freed when the handle closes
        except OSError:
            return False
        return True

else:
    import fcntl

    def _lock(fd: int) -> bool:
        """True when locked, False when another holder has it; OSError when this file system cannot lock."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # per open file: ends when this descriptor closes
        except OSError as error:
            if error.errno in _HELD_ELSEWHERE:
                return False
            raise
        return True


__all__ = ["FileLock"]
