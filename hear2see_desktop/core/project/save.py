"""Saving a project: the narration and frames beside it first, the JSON last, each atomically."""

from __future__ import annotations

import dataclasses
import filecmp
import json
import logging
import os
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any

from hear2see_desktop.core import paths
from hear2see_desktop.core.atomic import copy_atomically, write_bytes_atomically
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.project.model import (
    AUDIO_SUFFIX,
    FORMAT_VERSION,
    FRAME_NAME,
    PROJECT_SUFFIX,
    Project,
    ProjectFrame,
    is_file,
    project_frames_dir,
    resolve_stored,
)

log = logging.getLogger(__name__)


def save_project(
    project: Project,
    path: str | os.PathLike[str],
    audio_source: str | os.PathLike[str] | None = None,
    frame_images: dict[int, str | os.PathLike[str]] | None = None,
) -> Path:
    """Write `project` to `path` with its narration and frames beside it; returns `path`.

    `audio_source` is the narration to keep with the project: a file already in the project's
    folder is used where it is; any other file is copied in as `<stem>.audio.wav` (a byte copy for a
    WAV, otherwise decoded and written as 16 kHz 16-bit WAV). Without it, `project.audio_file` must
    already sit in the project's folder. `frame_images` maps image index -> PNG to copy into
    `<stem>.frames/`, overriding the `png` of that entry of `project.frames` (each index must have an
    entry, which holds its time). For "Save As" into another folder, pass the old
    `project_audio_path` and `project_frame_paths` as these two.

    On success `project` is updated in place to what was written (audio_file, frame PNG paths,
    last_render's relative MP4, created/modified), so `load_project(path) == project`.
    """
    path = Path(path)
    folder = path.parent
    _check_save_target(path)
    audio_file = _save_audio(project, path, Path(audio_source) if audio_source is not None else None)
    frames = _save_frames(project, path, {i: Path(p) for i, p in (frame_images or {}).items()})
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    saved = dataclasses.replace(
        project,
        format_version=FORMAT_VERSION,
        audio_file=audio_file,
        frames=frames,
        last_render=_relative_last_render(project.last_render, folder),
        created=project.created or now,
        modified=now,
    )
    text = json.dumps(saved.to_dict(), ensure_ascii=False, indent=2) + "\n"
    _write_atomically(path, text.encode("utf-8"))
    for name in ("format_version", "audio_file", "frames", "last_render", "created", "modified"):
        setattr(project, name, getattr(saved, name))
    return path


def _check_save_target(path: Path) -> None:
    if path.is_dir():
        raise BadInputError(f"{path} is a folder: give the project a file name ending in {PROJECT_SUFFIX}.")
    if not path.parent.is_dir():
        raise BadInputError(f"The folder {path.parent} does not exist: choose another place to save the project.")


def _save_audio(project: Project, path: Path, audio_source: Path | None) -> str:
    """Put the narration beside the project and return its file name."""
    folder = path.parent
    if audio_source is None:
        if project.audio_file and is_file(folder / project.audio_file):
            return project.audio_file
        raise BadInputError(
            f"The project has no narration in {folder} to save with it: record or import the narration first."
        )
    if not is_file(audio_source):
        raise BadInputError(f"The narration {audio_source} is gone: record or import it again, then save.")
    if audio_source.resolve().parent == folder.resolve():
        return audio_source.name
    target = path.with_name(path.stem + AUDIO_SUFFIX)
    if _is_wav(audio_source):
        if not (is_file(target) and filecmp.cmp(audio_source, target, shallow=False)):
            _copy_atomically(audio_source, target)
    else:
        from hear2see_desktop.core.audio import load_audio, write_wav

        audio = load_audio(audio_source)
        try:
            write_wav(target, audio.samples, audio.sample_rate_hz)
        except OSError as error:
            raise _could_not_write(target, error) from error
    return target.name


def _save_frames(project: Project, path: Path, frame_images: dict[int, Path]) -> list[ProjectFrame]:
    """Copy every frame's PNG into `<stem>.frames/` and return the entries with relative paths."""
    folder = path.parent
    known = {frame.index for frame in project.frames}
    unknown = sorted(set(frame_images) - known)
    if unknown:
        raise ValueError(f"frame_images has indexes {unknown} that project.frames does not list (with their times)")
    frames_dir = project_frames_dir(path)
    saved: list[ProjectFrame] = []
    for frame in project.frames:
        source = frame_images.get(frame.index) or resolve_stored(folder, frame.png)
        relative = f"{frames_dir.name}/{paths.frame_file_name(frame.index)}"
        target = folder / relative
        if source is None or not is_file(source):
            if frame.index in frame_images:
                raise BadInputError(f"The rendered image {source} is gone: render again, then save.")
            log.warning("frame %d of the project has no PNG (%s); keeping the entry", frame.index, frame.png)
            saved.append(dataclasses.replace(frame, png=relative))
            continue
        if not (is_file(target) and source.resolve() == target.resolve()):
            try:
                frames_dir.mkdir(exist_ok=True)
            except OSError as error:
                raise _could_not_write(frames_dir, error) from error
            _copy_atomically(source, target)
        saved.append(dataclasses.replace(frame, png=relative))
    _remove_stale_frames(frames_dir, {PurePosixPath(f.png).name for f in saved})
    return saved


def _remove_stale_frames(frames_dir: Path, keep: set[str]) -> None:
    """Drop `frame_NNNN.png` files of an earlier, longer render, so the folder matches the project."""
    if not frames_dir.is_dir():
        return
    for child in frames_dir.iterdir():
        if FRAME_NAME.fullmatch(child.name) and child.name not in keep:
            try:
                child.unlink()
            except OSError as error:
                log.warning("could not remove the stale frame %s: %s", child, error)


def _relative_last_render(last_render: dict[str, Any] | None, folder: Path) -> dict[str, Any] | None:
    """A copy with the MP4 path made relative when the video sits inside the project's folder."""
    if last_render is None:
        return None
    result = dict(last_render)
    mp4 = result.get("mp4")
    if isinstance(mp4, str) and Path(mp4).is_absolute():
        try:
            result["mp4"] = Path(mp4).resolve().relative_to(folder.resolve()).as_posix()
        except (ValueError, OSError):
            pass  # outside the project's folder: keep the absolute path
    return result


def _write_atomically(target: Path, data: bytes) -> None:
    try:
        write_bytes_atomically(target, data)
    except OSError as error:
        raise _could_not_write(target, error) from error


def _copy_atomically(source: Path, target: Path) -> None:
    try:
        copy_atomically(source, target)
    except OSError as error:
        raise _could_not_write(target, error) from error


def _could_not_write(target: Path, error: OSError) -> BadInputError:
    reason = error.strerror or str(error)
    return BadInputError(f"{target} could not be written ({reason}): choose a folder you may write to with free space.")


def _is_wav(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(12)
    except OSError:
        return False
    return head[:4] == b"RIFF" and head[8:12] == b"WAVE"
