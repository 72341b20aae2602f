"""What a project holds and where its files lie beside the `.h2s` file (see the package's docstring)."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hear2see_desktop.core import paths
from hear2see_desktop.core.settings import RenderSettings
from hear2see_desktop.core.transcript import Transcript

if TYPE_CHECKING:
    from hear2see_desktop.core.storyboard.board import Storyboard

FORMAT_VERSION = 1
PROJECT_SUFFIX = ".h2s"
AUDIO_SUFFIX = ".audio.wav"
FRAMES_SUFFIX = ".frames"
REQUIRED_KEYS = ("format_version", "audio_file", "settings")

FRAME_NAME = re.compile(r"frame_\d{4,}\.png")


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
        candidate = resolve_stored(folder, frame.png)
        if candidate is not None and is_file(candidate):
            found[frame.index] = candidate
    return found


def last_render_path(project_path: str | os.PathLike[str], project: Project) -> Path | None:
    """The MP4 of the last render (absolute), or None when there was none or its path is unusable."""
    if not project.last_render or not isinstance(project.last_render.get("mp4"), str):
        return None
    return resolve_stored(Path(project_path).parent, project.last_render["mp4"])


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
# Stored names and paths


def is_plain_name(name: str) -> bool:
    """A bare file name: no folder part, nothing a file system would choke on."""
    return bool(name) and name not in (".", "..") and not any(c in name for c in "/\\\x00") and _encodable(name)


def is_relative_inside(relative: str) -> bool:
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


def resolve_stored(folder: Path, stored: str) -> Path | None:
    """An absolute path for a stored (relative or absolute) path, or None when it can't be one."""
    if not stored or "\x00" in stored or not _encodable(stored):
        return None
    candidate = Path(stored)
    return candidate if candidate.is_absolute() else folder / candidate


def is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False
