"""Where the app keeps its data, cache and logs, and where its bundled resources live.

`HEAR2SEE_HOME` moves all user data (models, runs.jsonl, cache, logs) into one folder, for tests
and portable installs; otherwise platformdirs' per-user folders are used. Nothing is written next
to the source tree at run time. The models folder alone can live elsewhere (a USB drive, a shared
folder): `HEAR2SEE_MODELS_DIR`, else the folder chosen in the model manager (models-location.json).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path

import platformdirs

APP_NAME = "hear2see"


def _home_override() -> Path | None:
    value = os.environ.get("HEAR2SEE_HOME")
    return Path(value).expanduser() if value else None


def data_dir() -> Path:
    """The user data folder (models, runs.jsonl)."""
    home = _home_override()
    return home if home else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def models_location_path() -> Path:
    """The small JSON file that remembers the models folder the user chose (`{"models_dir": "..."}`)."""
    return data_dir() / "models-location.json"


def _chosen_models_dir() -> Path | None:
    """The folder saved by the model manager, or None when none was chosen or the file is unreadable."""
    try:
        chosen = json.loads(models_location_path().read_text(encoding="utf-8")).get("models_dir")
    except (OSError, ValueError, AttributeError):
        return None
    return Path(chosen).expanduser() if isinstance(chosen, str) and chosen.strip() else None


def models_dir() -> Path:
    """Installed models live here, one sub-folder per kind (`vosk/`, `sd/`, ...).

    $HEAR2SEE_MODELS_DIR wins, then the user's choice, then `<data_dir>/models`; a chosen folder that is
    missing (an unplugged drive) is still returned, so lookups say where they looked rather than guess.
    """
    explicit = os.environ.get("HEAR2SEE_MODELS_DIR", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    return _chosen_models_dir() or data_dir() / "models"


def runs_log_path() -> Path:
    """The JSONL run record every render appends to."""
    return data_dir() / "runs.jsonl"


def render_queue_path() -> Path:
    """The render queue waiting to run (core/render_queue/store.py), kept across restarts."""
    return data_dir() / "render-queue.json"


def unit_costs_path() -> Path:
    """What renders measured this machine's work to cost (render time estimates read it)."""
    return data_dir() / "unit-costs.json"


def cache_dir() -> Path:
    """Re-creatable files (thumbnails, cached frames)."""
    home = _home_override()
    return home / "cache" if home else Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


RENDER_FRAMES_FOLDER = "frames"
"""Inside a render's folder: its distinct images as PNGs, named by `frame_file_name`."""


def takes_dir() -> Path:
    """Microphone takes the window records, kept as WAVs."""
    return data_dir() / "takes"


def renders_dir() -> Path:
    """The window's renders, one folder each (`render_folder`): the MP4 and its frames."""
    return cache_dir() / "renders"


def render_folder(started: datetime) -> Path:
    """The folder of a render started at `started` (to the microsecond, so two renders never share one)."""
    return renders_dir() / started.strftime("%Y%m%d-%H%M%S-%f")


def frame_file_name(index: int) -> str:
    """The PNG name of distinct image `index` (0-based) wherever frames are written: frame_0001.png first."""
    return f"frame_{index + 1:04d}.png"


def log_dir() -> Path:
    """Log files, tracebacks included; the user sees sentences, the log keeps details."""
    home = _home_override()
    return home / "logs" if home else Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def resources_dir() -> Path:
    """The bundled `resources/` folder, from a source checkout, an install, or a frozen app."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    candidates = []
    if frozen_root:
        candidates.append(Path(frozen_root) / "resources")
    package_dir = Path(__file__).resolve().parent.parent
    candidates.append(package_dir / "resources")  # installed as package data
    candidates.append(package_dir.parent / "resources")  # source checkout
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[-1]


def resource_path(*parts: str) -> Path:
    """A file inside the bundled resources folder."""
    return resources_dir().joinpath(*parts)
