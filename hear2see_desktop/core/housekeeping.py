"""Which folders the app tidies by itself at start-up: the app-wide policy over the part-file sweep.

`part_files` knows how to tell a dead part file from a live one; this module knows where the app writes
(autosave slots, takes, renders, the models folders), so it can import those modules without any of them
importing it back.
"""

from __future__ import annotations

import os
from pathlib import Path

from hear2see_desktop.core import paths
from hear2see_desktop.core.autosave import AUTOSAVE_STEM, slot_folders
from hear2see_desktop.core.models.importing import KIND_FOLDERS
from hear2see_desktop.core.models.thumbnails import THUMBNAIL_FOLDER
from hear2see_desktop.core.part_files import STALE_PART_AGE_S, sweep_stale_parts
from hear2see_desktop.core.project import FRAMES_SUFFIX


def app_folders() -> list[Path]:
    """The folders the app writes into by itself: autosave slots and their frames, takes, each render's folder,
    and the models folders that imports and thumbnails are written into."""
    folders = []
    try:
        slots = slot_folders()
    except OSError:
        slots = []  # no usable autosave folder (autosave is off then too)
    for slot in slots:
        folders += [slot, slot / f"{AUTOSAVE_STEM}{FRAMES_SUFFIX}"]
    folders.append(paths.takes_dir())
    models = paths.models_dir()
    folders += [models / name for name in (*KIND_FOLDERS.values(), THUMBNAIL_FOLDER)]
    renders = paths.renders_dir()
    try:
        with os.scandir(renders) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    folders += [Path(entry.path), Path(entry.path) / paths.RENDER_FRAMES_FOLDER]
    except OSError:
        pass  # no render yet
    return folders


def sweep_app_folders(older_than_s: float = STALE_PART_AGE_S) -> list[Path]:
    """`sweep_stale_parts` over every folder of `app_folders()`; for start-up, in a worker."""
    removed = []
    for folder in app_folders():
        removed += sweep_stale_parts(folder, older_than_s)
    return removed
