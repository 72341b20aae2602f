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

from hear2see_desktop.core.project.load import load_project
from hear2see_desktop.core.project.model import (
    AUDIO_SUFFIX,
    FORMAT_VERSION,
    FRAMES_SUFFIX,
    PROJECT_SUFFIX,
    Project,
    ProjectFrame,
    autosave_path,
    last_render_path,
    project_audio_path,
    project_frame_paths,
    project_frames_dir,
)
from hear2see_desktop.core.project.save import save_project

__all__ = [
    "AUDIO_SUFFIX",
    "FORMAT_VERSION",
    "FRAMES_SUFFIX",
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
