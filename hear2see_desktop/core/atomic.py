"""Atomic writes: a file appears under its final name whole, or not at all.

Everything the app writes for the user or for itself (takes, projects, storyboards, subtitles, thumbnails,
run logs, settings files) goes through a hidden part file beside the target (part_files.py names it, so
a sweep finds leftovers of a crash) and takes the final name by one rename. A crash, a full disk or an
error mid-write leaves the old file (or none), never half of one; the error goes on to the caller, which
words it for the user.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from hear2see_desktop.core.part_files import part_path

COPY_CHUNK_BYTES = 1 << 20


@contextmanager
def through_part(target: Path, keep_suffix: bool = False) -> Iterator[Path]:
    """The part path to write `target` through (with the target's suffix when a library picks the format
    by it). When the block ends, the part takes the target's name; when it raises, the part is removed."""
    part = part_path(target, keep_suffix=keep_suffix)
    try:
        yield part
        os.replace(part, target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


def write_atomically(target: Path, write: Callable[[BinaryIO], object]) -> None:
    """`write(handle)` into a part file, flushed and fsynced, then renamed to `target`."""
    with through_part(target) as part, open(part, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())


def write_bytes_atomically(target: Path, data: bytes) -> None:
    write_atomically(target, lambda handle: handle.write(data))


def copy_atomically(source: Path, target: Path) -> None:
    """Copy `source` to `target` in chunks, through a part file."""

    def copy(handle: BinaryIO) -> None:
        with open(source, "rb") as original:
            shutil.copyfileobj(original, handle, COPY_CHUNK_BYTES)

    write_atomically(target, copy)
