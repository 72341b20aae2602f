"""What the History does with a render's files: a thumbnail from its own pictures, and deleting them.

A thumbnail is the render's first PNG when the window kept its frames, else the first frame of its video,
decoded once and kept in the cache folder under the video's SHA-256 (a cache: deleting it costs a decode).
The frame cache is not searched: its keys need the model's weights hashed again, and the video's first
frame is that same picture.

Deleting removes what the run wrote (its video, subtitles, frames, its render folder when the window made
one) and then appends a "deleted" event to the run log: the record stays (ratings and replays keep their
history), the History no longer lists it. A video at the logged path whose content is not the run's (a
later render wrote the same name) is left alone.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hear2see_desktop.core import paths
from hear2see_desktop.core.atomic import through_part
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.hashing import sha256_file
from hear2see_desktop.core.history import HistoryEntry, is_render_folder
from hear2see_desktop.core.pictures import read_rgb
from hear2see_desktop.core.runlog import append_event

log = logging.getLogger(__name__)

THUMBNAIL_PX = 96
"""The longer side of a History thumbnail; the shorter keeps the video's shape (vertical video stays tall)."""


def thumbnail_cache_path(entry: HistoryEntry) -> Path:
    """Where the thumbnail decoded from `entry`'s video is kept: `<cache>/history-thumbnails/<sha256>.png`."""
    output = entry.record.get("output")
    key = output.get("sha256") if isinstance(output, dict) else None
    name = str(key) if isinstance(key, str) and key.isalnum() else entry.run_id
    return paths.cache_dir() / "history-thumbnails" / f"{name}.png"


def thumbnail_for(entry: HistoryEntry) -> np.ndarray | None:
    """A small (h, w, 3) uint8 picture of the render, or None when neither its frames nor its video are left."""
    if entry.frames_dir is not None:
        first = entry.frames_dir / paths.frame_file_name(0)
        if first.is_file() and (picture := read_rgb(first)) is not None:
            return _small(picture)
    cached = thumbnail_cache_path(entry)
    if cached.is_file() and (picture := read_rgb(cached)) is not None:
        return picture
    if entry.video_path is None or not entry.video_exists:
        return None
    from hear2see_desktop.core.video import read_frames

    try:
        frames = read_frames(entry.video_path)
        first_frame = next(frames, None)
        frames.close()
    except (OSError, RuntimeError, BadInputError) as error:  # a broken or vanished file: no picture
        log.warning("no thumbnail from %s: %s", entry.video_path, error)
        return None
    if first_frame is None:
        return None
    picture = _small(first_frame)
    _keep(cached, picture)
    return picture


def _small(rgb: np.ndarray) -> np.ndarray:
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(rgb), "RGB")
    image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.uint8).copy()


def _keep(target: Path, rgb: np.ndarray) -> None:
    """Cache the thumbnail (atomically); a folder that cannot be written only costs a decode next time."""
    from PIL import Image

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with through_part(target, keep_suffix=True) as part:
            Image.fromarray(rgb, "RGB").save(part, format="PNG")
    except OSError as error:
        log.warning("could not keep the thumbnail %s: %s", target, error)


def delete_render(log_path: Path, entry: HistoryEntry) -> list[Path]:
    """Remove the run's files, then log its deletion; the paths removed.

    Raises BadInputError naming the file when one cannot be removed (in use, no permission); nothing is
    logged then, so the History still lists the run and deleting again removes what is left.
    """
    removed: list[Path] = []
    video = entry.video_path
    output = entry.record.get("output")
    logged_sha = output.get("sha256") if isinstance(output, dict) else None
    own_video = video is not None and video.is_file() and (not logged_sha or sha256_file(video) == logged_sha)
    targets: list[Path] = []
    if own_video and video is not None:
        targets.append(video)
        targets += [Path(str(text)) for text in entry.record.get("subtitles") or [] if isinstance(text, str)]
    targets.append(thumbnail_cache_path(entry))
    for target in targets:
        if target.is_file():
            _remove(target, target.unlink)
            removed.append(target)
    folder = video.parent if video is not None else None
    if folder is not None and is_render_folder(folder) and folder.is_dir():
        frames = folder / paths.RENDER_FRAMES_FOLDER
        if frames.is_dir():
            _remove(frames, lambda: shutil.rmtree(frames))
            removed.append(frames)
        if not any(folder.iterdir()):
            _remove(folder, folder.rmdir)
    append_event(log_path, "deleted", entry.run_id, removed=[str(path) for path in removed])
    return removed


def _remove(path: Path, remove: Callable[[], object]) -> None:
    try:
        remove()
    except OSError as error:
        raise BadInputError(f"Could not delete {path} ({error.strerror or error}): close any program that uses "
                            "it and delete again.") from error


__all__ = ["THUMBNAIL_PX", "delete_render", "thumbnail_cache_path", "thumbnail_for"]
