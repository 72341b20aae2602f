"""Loading a project: every way a `.h2s` file can be unusable ends in one sentence the user can act on."""

from __future__ import annotations

import json
import logging
import os
import types
import typing
from pathlib import Path
from typing import Any

from hear2see_desktop.core.choices import Choice
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.project.model import (
    FORMAT_VERSION,
    PROJECT_SUFFIX,
    REQUIRED_KEYS,
    Project,
    ProjectFrame,
    is_file,
    is_plain_name,
    is_relative_inside,
)
from hear2see_desktop.core.settings import RenderSettings
from hear2see_desktop.core.storyboard.board import Storyboard
from hear2see_desktop.core.transcript import Transcript

log = logging.getLogger(__name__)


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
    if not is_file(audio):
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
    if not is_plain_name(audio_file):
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
    """Does a JSON value fit a simple annotation (str, int, float, bool, a str enum, X | None)?"""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arm) for arm in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return _is_int(value)
    if isinstance(hint, type) and issubclass(hint, Choice):
        return isinstance(value, str)  # stored as its text; `validate` names a value that is not one of them
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
        if not is_relative_inside(png):
            raise _Damaged("a frame path points outside the project's folder")
        try:
            frames.append(ProjectFrame(index, float(time_s), png))
        except OverflowError:
            raise _Damaged("a frame time is out of range") from None
    return frames
