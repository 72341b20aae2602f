"""The `.h2s` project file, so work resumes where it stopped.

A project is one JSON file with its narration and rendered images kept beside it:

    myclip.h2s           the JSON (transcript, prompt, storyboard, settings, frame list, last render)
    myclip.audio.wav     the narration (or whatever audio file already sat in that folder)
    myclip.frames/       frame_0001.png ... the distinct images rendered so far

Paths inside the JSON are relative to the project's folder, so the three can be moved together.
Sidecar files are written first and the JSON last, each through a temporary file and a rename,
so a crash never leaves a project that points at half a file. Every way a project file can be
unusable ends in a `BadInputError` whose message is one sentence the user can act on.
"""

from __future__ import annotations

import dataclasses
import filecmp
import hashlib
import json
import logging
import os
import re
import shutil
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO

from hear2see_desktop.core import paths
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.part_files import part_path
from hear2see_desktop.core.settings import RenderSettings
from hear2see_desktop.core.transcript import Transcript

if TYPE_CHECKING:
    from hear2see_desktop.core.storyboard.board import Storyboard

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
PROJECT_SUFFIX = ".h2s"
AUDIO_SUFFIX = ".audio.wav"
FRAMES_SUFFIX = ".frames"
REQUIRED_KEYS = ("format_version", "audio_file", "settings")

_FRAME_NAME = re.compile(r"frame_\d{4,}\.png")
_COPY_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class ProjectFrame:
    """One rendered distinct image: its index in the render, when it first shows, and its PNG.

    `png` is relative to the project's folder once saved (`myclip.frames/frame_0001.png`); before
    saving it may be an absolute path to a PNG anywhere, which `save_project` copies in.
    """

    index: int
    time_s: float
    png: str

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "time_s": self.time_s, "png": self.png}


@dataclass
class Project:
    """Everything needed to pick a piece of work up again (the narration itself lives beside it)."""

    format_version: int = FORMAT_VERSION
    audio_file: str = ""
    transcript: Transcript | None = None
    transcript_edited: bool = False
    prompt: str = ""
    negative_prompt: str = ""
    prompt_edited: bool = False
    style: str = "cinematic"
    settings: RenderSettings = field(default_factory=RenderSettings)
    frames: list[ProjectFrame] = field(default_factory=list)
    last_render: dict[str, Any] | None = None  # {"run_id": ..., "mp4": relative when inside the folder}
    created: str = ""
    modified: str = ""
    storyboard: Storyboard | None = None  # the scenes and their prompts, as the user left them
    scene_times_edited: bool = False  # the user moved a cut between scenes (prompt edits live in the scenes)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of the `.h2s` file."""
        return {
            "format_version": self.format_version,
            "audio_file": self.audio_file,
            "transcript": self.transcript.to_dict() if self.transcript is not None else None,
            "transcript_edited": self.transcript_edited,
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "prompt_edited": self.prompt_edited,
            "style": self.style,
            "settings": self.settings.to_dict(),
            "frames": [frame.to_dict() for frame in self.frames],
            "last_render": self.last_render,
            "created": self.created,
            "modified": self.modified,
            "storyboard": self.storyboard.to_dict() if self.storyboard is not None else None,
            "scene_times_edited": self.scene_times_edited,
        }


# ----------------------------------------------------------------------------------------------
# Where things live


def project_audio_path(project_path: str | os.PathLike[str], project: Project) -> Path:
    """The narration file of `project`, which always sits in the project's folder."""
    return Path(project_path).parent / project.audio_file


def project_frames_dir(project_path: str | os.PathLike[str]) -> Path:
    """The folder beside the project that holds its rendered images (`myclip.frames/`)."""
    project_path = Path(project_path)
    return project_path.with_name(project_path.stem + FRAMES_SUFFIX)


def project_frame_paths(project_path: str | os.PathLike[str], project: Project) -> dict[int, Path]:
    """Image index -> PNG path for each frame whose file is still there.

    Frames whose PNG has gone are left out rather than failing: they can simply be rendered again.
    """
    folder = Path(project_path).parent
    found: dict[int, Path] = {}
    for frame in project.frames:
        candidate = _resolve(folder, frame.png)
        if candidate is not None and _is_file(candidate):
            found[frame.index] = candidate
    return found


def last_render_path(project_path: str | os.PathLike[str], project: Project) -> Path | None:
    """The MP4 of the last render (absolute), or None when there was none or its path is unusable."""
    if not project.last_render or not isinstance(project.last_render.get("mp4"), str):
        return None
    return _resolve(Path(project_path).parent, project.last_render["mp4"])


def autosave_path(project_path: str | os.PathLike[str] | None) -> Path:
    """Where crash-recovery copies of a project go: `<data>/autosave/`, created when missing.

    A saved project gets `<stem>-<hash of its full path>.h2s`, so two `clip.h2s` in different folders
    never overwrite each other's autosave; an unsaved one gets `untitled.h2s`.
    """
    folder = paths.data_dir() / "autosave"
    folder.mkdir(parents=True, exist_ok=True)
    if project_path is None:
        return folder / f"untitled{PROJECT_SUFFIX}"
    project_path = Path(project_path).expanduser().absolute()
    digest = hashlib.sha256(os.fsencode(str(project_path))).hexdigest()[:10]
    return folder / f"{project_path.stem}-{digest}{PROJECT_SUFFIX}"


# ----------------------------------------------------------------------------------------------
# Saving


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
        if project.audio_file and _is_file(folder / project.audio_file):
            return project.audio_file
        raise BadInputError(
            f"The project has no narration in {folder} to save with it: record or import the narration first."
        )
    if not _is_file(audio_source):
        raise BadInputError(f"The narration {audio_source} is gone: record or import it again, then save.")
    if audio_source.resolve().parent == folder.resolve():
        return audio_source.name
    target = path.with_name(path.stem + AUDIO_SUFFIX)
    if _is_wav(audio_source):
        if not (_is_file(target) and filecmp.cmp(audio_source, target, shallow=False)):
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
        source = frame_images.get(frame.index) or _resolve(folder, frame.png)
        relative = f"{frames_dir.name}/{paths.frame_file_name(frame.index)}"
        target = folder / relative
        if source is None or not _is_file(source):
            if frame.index in frame_images:
                raise BadInputError(f"The rendered image {source} is gone: render again, then save.")
            log.warning("frame %d of the project has no PNG (%s); keeping the entry", frame.index, frame.png)
            saved.append(dataclasses.replace(frame, png=relative))
            continue
        if not (_is_file(target) and source.resolve() == target.resolve()):
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
        if _FRAME_NAME.fullmatch(child.name) and child.name not in keep:
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
    _atomically(target, lambda handle: handle.write(data))


def _copy_atomically(source: Path, target: Path) -> None:
    def copy(handle: BinaryIO) -> None:
        with open(source, "rb") as src:
            shutil.copyfileobj(src, handle, _COPY_CHUNK_BYTES)

    _atomically(target, copy)


def _atomically(target: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write through a hidden part file, fsync, then rename: a crash never leaves half a file."""
    part = part_path(target)
    try:
        with open(part, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(part, target)
    except OSError as error:
        part.unlink(missing_ok=True)
        raise _could_not_write(target, error) from error
    except BaseException:
        part.unlink(missing_ok=True)
        raise


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


# ----------------------------------------------------------------------------------------------
# Loading


def load_project(path: str | os.PathLike[str]) -> Project:
    """Read a `.h2s` file; raises `BadInputError` with one sentence for every way it can be unusable."""
    path = Path(path)
    data = _read_json(path)
    version = data.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise BadInputError(f"{path.name} was saved by a newer version of HEAR2SEE; update the app to open it.")
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise BadInputError(f"{path.name} is not a HEAR2SEE project (it has no {', '.join(missing)}).")
    try:
        project = _project_from(data)
    except _Damaged as damaged:
        raise BadInputError(f"{path.name} is damaged ({damaged}); open an autosave or an older copy.") from None
    audio = path.parent / project.audio_file
    if not _is_file(audio):
        raise BadInputError(
            f"The project {path.name} can't be opened: the narration {project.audio_file} is missing beside it; "
            "put it back next to the project file."
        )
    return project


class _Damaged(Exception):
    """A field of a project file has the wrong shape; the message names it."""


def _read_json(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BadInputError(f"There is no project file at {path}; check the path and try again.") from None
    except IsADirectoryError:
        raise BadInputError(f"{path} is a folder, not a project file; choose a {PROJECT_SUFFIX} file.") from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise BadInputError(f"{path} could not be opened ({reason}); check that you may read it.") from None
    if not raw.strip():
        raise BadInputError(f"{path.name} is empty; open an autosave or an older copy of the project.")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        if raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
            raise BadInputError(
                f"{path.name} is damaged or cut short; open an autosave or an older copy of the project."
            ) from None
        raise BadInputError(f"{path.name} is not a HEAR2SEE project file; choose a {PROJECT_SUFFIX} file.") from None
    if not isinstance(data, dict):
        raise BadInputError(f"{path.name} is not a HEAR2SEE project file; choose a {PROJECT_SUFFIX} file.")
    return data


def _project_from(data: dict[str, Any]) -> Project:
    version = data["format_version"]
    if not _is_int(version) or version < 1:
        raise _Damaged("its format_version is not a positive whole number")
    audio_file = _typed(data, "audio_file", str)
    if not _is_plain_name(audio_file):
        raise _Damaged("its audio_file is not a plain file name")
    last_render = data.get("last_render")
    if last_render is not None and not isinstance(last_render, dict):
        raise _Damaged("its last_render is not an object")
    return Project(
        format_version=version,
        audio_file=audio_file,
        transcript=_transcript_from(data.get("transcript")),
        transcript_edited=_typed(data, "transcript_edited", bool, False),
        prompt=_typed(data, "prompt", str, ""),
        negative_prompt=_typed(data, "negative_prompt", str, ""),
        prompt_edited=_typed(data, "prompt_edited", bool, False),
        style=_typed(data, "style", str, "cinematic"),
        settings=_settings_from(data["settings"]),
        frames=_frames_from(data.get("frames", [])),
        last_render=last_render,
        created=_typed(data, "created", str, ""),
        modified=_typed(data, "modified", str, ""),
        storyboard=_storyboard_from(data.get("storyboard")),
        scene_times_edited=data.get("scene_times_edited") is True,
    )


_MISSING = object()


def _typed(data: dict[str, Any], key: str, kind: type, default: Any = _MISSING) -> Any:
    value = data.get(key, default)
    if value is _MISSING:
        raise _Damaged(f"its {key} is missing")
    if not isinstance(value, kind):
        raise _Damaged(f"its {key} has the wrong type")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _transcript_from(value: Any) -> Transcript | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _Damaged("its transcript is not an object")
    try:
        return Transcript.from_dict(value)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as error:
        log.warning("project transcript unreadable: %r", error)
        raise _Damaged("its transcript has a wrong field") from None


def _storyboard_from(value: Any) -> Storyboard | None:
    """The saved storyboard, or None: one that can't be used is dropped (and rebuilt by the app), never fatal.

    The storyboard is derived work the app can make again from the transcript, so a damaged one
    must not cost the user the rest of the project.
    """
    if value is None:
        return None
    from hear2see_desktop.core.storyboard.board import Storyboard

    try:
        board = Storyboard.from_dict(value)
        board.validate()
    except (BadInputError, TypeError, ValueError, OverflowError, RecursionError) as error:
        log.warning("the project's storyboard is unusable and was left out: %s", error)
        return None
    return board


def _settings_from(value: Any) -> RenderSettings:
    """RenderSettings.from_dict, after checking every known field has its declared type."""
    if not isinstance(value, dict):
        raise _Damaged("its settings are not an object")
    hints = typing.get_type_hints(RenderSettings)
    for name, hint in hints.items():
        if name in value and name != "loras" and not _matches(value[name], hint):
            raise _Damaged(f"the setting {name} has the wrong type")
    loras = value.get("loras", [])
    if not isinstance(loras, list) or not all(
        isinstance(lora, dict) and isinstance(lora.get("path"), str) and (_matches(lora.get("weight", 1.0), float))
        for lora in loras
    ):
        raise _Damaged("its LoRA list has a wrong entry")
    try:
        return RenderSettings.from_dict(value)
    except (KeyError, TypeError, ValueError, OverflowError) as error:
        log.warning("project settings unreadable: %r", error)
        raise _Damaged("its settings have a wrong field") from None


def _matches(value: Any, hint: Any) -> bool:
    """Does a JSON value fit a simple annotation (str, int, float, bool, X | None)?"""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arm) for arm in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return _is_int(value)
    if isinstance(hint, type) and origin is None:
        return isinstance(value, hint)
    return True  # a container type we do not check field by field


def _frames_from(value: Any) -> list[ProjectFrame]:
    if not isinstance(value, list):
        raise _Damaged("its frames are not a list")
    frames = []
    for entry in value:
        if not isinstance(entry, dict):
            raise _Damaged("a frame entry is not an object")
        index, time_s, png = entry.get("index"), entry.get("time_s"), entry.get("png")
        if not _is_int(index) or index < 0 or not _matches(time_s, float) or not isinstance(png, str):
            raise _Damaged("a frame entry is malformed")
        if not _is_relative_inside(png):
            raise _Damaged("a frame path points outside the project's folder")
        try:
            frames.append(ProjectFrame(index, float(time_s), png))
        except OverflowError:
            raise _Damaged("a frame time is out of range") from None
    return frames


def _is_plain_name(name: str) -> bool:
    """A bare file name: no folder part, nothing a file system would choke on."""
    return bool(name) and name not in (".", "..") and not any(c in name for c in "/\\\x00") and _encodable(name)


def _is_relative_inside(relative: str) -> bool:
    parts = relative.split("/")
    return (
        bool(relative)
        and not relative.startswith("/")
        and "\\" not in relative
        and "\x00" not in relative
        and ":" not in parts[0]
        and all(part not in ("", ".", "..") for part in parts)
        and _encodable(relative)
    )


def _encodable(name: str) -> bool:
    try:
        os.fsencode(name)
    except UnicodeError:
        return False
    return True


def _resolve(folder: Path, stored: str) -> Path | None:
    """An absolute path for a stored (relative or absolute) path, or None when it can't be one."""
    if not stored or "\x00" in stored or not _encodable(stored):
        return None
    candidate = Path(stored)
    return candidate if candidate.is_absolute() else folder / candidate


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


__all__ = [
    "FORMAT_VERSION",
    "PROJECT_SUFFIX",
    "Project",
    "ProjectFrame",
    "autosave_path",
    "last_render_path",
    "load_project",
    "project_audio_path",
    "project_frame_paths",
    "project_frames_dir",
    "save_project",
]
