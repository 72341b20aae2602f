"""The renders the user made, as the History lists them: read from the run log, nothing kept beside it.

Every entry comes from a run record with its events folded in (runlog.py): the rating, the metrics and
whether its files were deleted live in the log itself, so the History can never disagree with it. A
render belongs to "this project" when its narration is the same file content (the SHA-256 the record
keeps): that survives saving a take into a project folder, moving the project, and renders made from the
command line with the same narration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hear2see_desktop.core import paths
from hear2see_desktop.core.runlog import read_log

METRIC_NAMES = {"av_align": "AV-Align", "av_align_one_to_one": "AV-Align (one-to-one)", "clipsim": "CLIPSIM",
                "scene_following": "Scenes followed", "flicker": "Flicker"}
"""The metrics the window logs with a run (core/run_metrics.py), by key, as people read them."""


@dataclass(frozen=True)
class HistoryEntry:
    """One render: what it was asked (prompts, mode, size, settings), what it made and what it was judged."""

    run_id: str
    time: str  # ISO 8601, UTC
    audio_path: str
    audio_sha256: str
    prompt: str
    negative_prompt: str
    scene_prompts: tuple[str, ...]
    mode: str
    width_px: int
    height_px: int
    fps: int
    steps: int
    seeds: tuple[int, ...]
    video_path: Path | None
    video_exists: bool
    frames_dir: Path | None  # the render's own PNGs (window renders keep them), when the folder is there
    rating: int | None
    metrics: dict[str, float | None]  # as the window measured the video (core/run_metrics.py); {} when not
    timings_s: dict[str, float]
    replay_of: str | None
    record: dict[str, Any] = field(repr=False, compare=False)  # the whole record, for replay and re-render

    def searchable_text(self) -> str:
        """What a search looks in: the prompt and every scene's prompt, lower-cased."""
        return "\n".join((self.prompt, *self.scene_prompts)).casefold()

    def matches(self, search: str) -> bool:
        """Whether `search` (any case, spaces around it ignored) is in the prompt or a scene's prompt."""
        wanted = search.strip().casefold()
        return not wanted or wanted in self.searchable_text()

    def settings_line(self) -> str:
        """The settings in a few words, for the list and its tooltip."""
        settings = self.record.get("settings") if isinstance(self.record.get("settings"), dict) else {}
        scheduler = self.record.get("scheduler", settings.get("scheduler", "?"))
        cfg = self.record.get("cfg", settings.get("cfg", "?"))
        seed = self.seeds[0] if self.seeds else "?"
        return (f"{self.mode}, {self.width_px}×{self.height_px}, {self.fps} fps, {self.steps} steps, "
                f"{scheduler}, CFG {cfg}, seed {seed}")


@dataclass
class History:
    """The entries of one run log, newest first, and how many of its lines could not be read."""

    entries: list[HistoryEntry] = field(default_factory=list)
    skipped_lines: int = 0

    def filtered(self, narration_sha256: str | None = None, search: str = "") -> list[HistoryEntry]:
        """The entries of one narration (None: of all projects) whose prompts contain `search` (any case)."""
        return [entry for entry in self.entries
                if (narration_sha256 is None or entry.audio_sha256 == narration_sha256) and entry.matches(search)]

    def find(self, run_id: str) -> HistoryEntry | None:
        return next((entry for entry in self.entries if entry.run_id == run_id), None)


def read_history(log_path: Path | None = None) -> History:
    """Every render in the run log whose files were not deleted, newest first (a log of other shapes,
    hand-edited or from older versions, gives what it can: a record without an id or output is left out)."""
    log_path = log_path or paths.runs_log_path()
    run_log = read_log(log_path)
    entries = [entry for record in run_log.records
               if not record.get("deleted") and (entry := entry_of(record)) is not None]
    # Newest first; renders logged in the same second (times have whole seconds) by their place in the log.
    order = {id(entry): place for place, entry in enumerate(entries)}
    entries.sort(key=lambda entry: (entry.time, order[id(entry)]), reverse=True)
    return History(entries, len(run_log.skipped_lines))


def record_matches(record: dict[str, Any], search: str) -> bool:
    """Whether a run log record's prompts hold `search`, as the History searches (`hear2see runs list --search`)."""
    entry = entry_of(record, need_output=False)
    return entry is not None and entry.matches(search)


def entry_of(record: dict[str, Any], need_output: bool = True) -> HistoryEntry | None:
    """The History's view of one record, or None when it holds no render output to show (`need_output`)."""
    output = _dict(record.get("output"))
    video_text = output.get("path")
    if need_output and (not isinstance(video_text, str) or not video_text):
        return None
    settings, audio = _dict(record.get("settings")), _dict(record.get("audio"))
    video = Path(video_text) if isinstance(video_text, str) and video_text else None
    size = record.get("size")
    width, height = (size if isinstance(size, list) and len(size) == 2 else
                     [settings.get("width", 0), settings.get("height", 0)])
    board = _dict(record.get("storyboard"))
    scenes = tuple(str(scene.get("prompt", "")) for scene in _list(board.get("scenes")) if isinstance(scene, dict))
    rating = record.get("rating")
    frames = video.parent / paths.RENDER_FRAMES_FOLDER if video is not None else None
    return HistoryEntry(
        run_id=str(record.get("id")), time=str(record.get("time", "")),
        audio_path=str(audio.get("path", "")), audio_sha256=str(audio.get("sha256", "")),
        prompt=str(record.get("prompt", settings.get("prompt", ""))),
        negative_prompt=str(record.get("negative_prompt", settings.get("negative_prompt", ""))),
        scene_prompts=scenes, mode=str(record.get("mode", settings.get("mode", "classic"))),
        width_px=_int(width), height_px=_int(height), fps=_int(record.get("fps", settings.get("fps", 0))),
        steps=_int(record.get("steps", settings.get("steps", 0))),
        seeds=tuple(_int(seed) for seed in _list(record.get("seeds")) if isinstance(seed, (int, float))),
        video_path=video, video_exists=video is not None and video.is_file(),
        frames_dir=(frames if video is not None and frames is not None and is_render_folder(video.parent)
                    and frames.is_dir() else None),
        rating=rating if isinstance(rating, int) and not isinstance(rating, bool) and 1 <= rating <= 5 else None,
        metrics={str(k): (float(v) if isinstance(v, (int, float)) else None)
                 for k, v in _dict(record.get("metrics")).items()},
        timings_s={str(k): float(v) for k, v in _dict(record.get("timings_s")).items() if isinstance(v, (int, float))},
        replay_of=record.get("replay_of") if isinstance(record.get("replay_of"), str) else None,
        record=record,
    )


def is_render_folder(folder: Path) -> bool:
    """Whether `folder` is one the window made for a render (paths.render_folder), which is the render's alone."""
    try:
        return folder.resolve().parent == paths.renders_dir().resolve()
    except OSError:
        return False


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return 0


__all__ = ["METRIC_NAMES", "History", "HistoryEntry", "entry_of", "is_render_folder", "read_history", "record_matches"]
