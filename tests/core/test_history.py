"""The History reads the run log: entries, search, this project or all, ratings, metrics, thumbnails, delete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from hear2see_desktop.core import paths
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.hashing import sha256_file
from hear2see_desktop.core.history import read_history
from hear2see_desktop.core.history_files import delete_render, thumbnail_cache_path, thumbnail_for
from hear2see_desktop.core.runlog import append_event, append_record, find_record, rate_run, read_log
from hear2see_desktop.core.video import VideoWriter


def _video(path: Path, colour: tuple[int, int, int], width: int = 32, height: int = 16) -> Path:
    with VideoWriter(path, width, height, 4, preset="ultrafast") as writer:
        for _ in range(2):
            writer.write_frame(np.full((height, width, 3), colour, dtype=np.uint8))
    return path


def _record(run_id: str, time: str, video: Path, prompt: str, narration: str = "a" * 64,
            scenes: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    return {
        "id": run_id, "time": time, "prompt": prompt, "negative_prompt": "blurry", "mode": "smooth",
        "audio": {"path": "/narrations/fox.wav", "sha256": narration, "duration_s": 3.0},
        "size": [32, 16], "fps": 4, "steps": 2, "seeds": [7], "scheduler": "ddim", "cfg": 7.5,
        "settings": {"mode": "smooth", "width": 32, "height": 16},
        "storyboard": {"scenes": [{"prompt": text, "start_s": 0.0, "end_s": 1.0} for text in scenes]} if scenes
        else None,
        "output": {"path": str(video), "sha256": sha256_file(video) if video.is_file() else ""},
        "timings_s": {"total_s": 1.5},
        **extra,
    }


@pytest.fixture
def three_runs(tmp_path: Path) -> tuple[Path, list[Path]]:
    """A run log with two renders of one narration and one of another, their videos on disk."""
    log = tmp_path / "runs.jsonl"
    videos = [_video(tmp_path / f"{name}.mp4", colour) for name, colour in
              (("fox", (200, 40, 40)), ("owl", (40, 200, 40)), ("sea", (40, 40, 200)))]
    append_record(log, _record("r1", "2026-01-01T10:00:00", videos[0], "A red Fox in snow"))
    append_record(log, _record("r2", "2026-01-02T10:00:00", videos[1], "an owl at night",
                               scenes=("an owl at night", "a FOX in the dark")))
    append_record(log, _record("r3", "2026-01-03T10:00:00", videos[2], "waves on a beach", narration="b" * 64))
    return log, videos


def test_every_render_is_an_entry_newest_first_with_its_settings(three_runs: tuple[Path, list[Path]]) -> None:
    log, videos = three_runs
    history = read_history(log)
    assert [entry.run_id for entry in history.entries] == ["r3", "r2", "r1"]
    fox = history.find("r1")
    assert fox is not None and fox.video_path == videos[0] and fox.video_exists
    assert (fox.mode, fox.width_px, fox.height_px, fox.seeds) == ("smooth", 32, 16, (7,))
    assert fox.settings_line() == "smooth, 32×16, 4 fps, 2 steps, ddim, CFG 7.5, seed 7"
    videos[0].unlink()
    assert read_history(log).find("r1").video_exists is False  # type: ignore[union-attr]


def test_search_finds_prompts_and_scene_prompts_in_any_case(three_runs: tuple[Path, list[Path]]) -> None:
    history = read_history(three_runs[0])
    assert [e.run_id for e in history.filtered(search="fox")] == ["r2", "r1"]  # r2: a scene's prompt
    assert [e.run_id for e in history.filtered(search="  OWL ")] == ["r2"]
    assert history.filtered(search="giraffe") == []


def test_this_project_means_the_same_narration(three_runs: tuple[Path, list[Path]]) -> None:
    history = read_history(three_runs[0])
    assert [e.run_id for e in history.filtered("a" * 64)] == ["r2", "r1"]
    assert [e.run_id for e in history.filtered("b" * 64, search="waves")] == ["r3"]
    assert len(history.filtered(None)) == 3


def test_a_rating_is_an_appended_event_and_the_last_one_counts(three_runs: tuple[Path, list[Path]]) -> None:
    log, _ = three_runs
    before = log.read_bytes()
    rate_run(log, "r1", 2)
    rate_run(log, "r1", 5)
    assert log.read_bytes().startswith(before)  # nothing written is ever rewritten
    assert read_history(log).find("r1").rating == 5  # type: ignore[union-attr]
    assert find_record(log, "r1")["rating"] == 5 and "rating" not in find_record(log, "r2")
    assert [r["id"] for r in read_log(log).records] == ["r1", "r2", "r3"]  # events are not runs
    assert read_log(log).skipped_lines == []


def test_a_rating_written_into_the_record_by_an_older_version_still_reads(tmp_path: Path) -> None:
    log = tmp_path / "runs.jsonl"
    append_record(log, _record("old", "2025-01-01T00:00:00", tmp_path / "gone.mp4", "fox", rating=3))
    assert read_history(log).find("old").rating == 3  # type: ignore[union-attr]
    rate_run(log, "old", 4)
    assert read_history(log).find("old").rating == 4  # type: ignore[union-attr]


def test_events_about_unknown_runs_and_unknown_kinds(three_runs: tuple[Path, list[Path]]) -> None:
    log, _ = three_runs
    append_event(log, "rating", "no-such-run", rating=5)  # its record was lost: the event has nothing to rate
    with open(log, "a", encoding="utf-8") as handle:
        handle.write('{"event": "renamed", "run": "r1"}\n')  # a later version's event: reported, not fatal
    result = read_log(log)
    assert len(result.records) == 3 and result.skipped_lines == [5]
    with pytest.raises(ValueError):
        append_event(log, "renamed", "r1")


def test_logged_metrics_show_with_their_run(three_runs: tuple[Path, list[Path]]) -> None:
    log, _ = three_runs
    append_event(log, "metrics", "r2", metrics={"av_align": 0.5, "clipsim": None, "flicker": 3.25})
    entry = read_history(log).find("r2")
    assert entry is not None and entry.metrics == {"av_align": 0.5, "clipsim": None, "flicker": 3.25}
    assert read_history(log).find("r1").metrics == {}  # type: ignore[union-attr]


def test_a_thumbnail_comes_from_the_video_and_is_kept_in_the_cache(three_runs: tuple[Path, list[Path]]) -> None:
    log, _ = three_runs
    entry = read_history(log).find("r3")
    assert entry is not None
    picture = thumbnail_for(entry)
    assert picture is not None and picture.shape[1] > picture.shape[0]  # a wide video gives a wide thumbnail
    assert picture[..., 2].mean() > 150 > picture[..., 0].mean()  # blue, as the video
    assert thumbnail_cache_path(entry).is_file()
    entry.video_path.unlink()  # type: ignore[union-attr]
    gone = read_history(log).find("r3")
    assert gone is not None and thumbnail_for(gone) is not None  # from the cache, no video needed
    thumbnail_cache_path(gone).unlink()
    assert thumbnail_for(gone) is None


def test_a_window_render_shows_its_own_first_frame(tmp_path: Path) -> None:
    folder = paths.render_folder(__import__("datetime").datetime(2026, 1, 1, 9, 0, 0))
    frames = folder / paths.RENDER_FRAMES_FOLDER
    frames.mkdir(parents=True)
    Image.fromarray(np.full((16, 16, 3), (250, 250, 0), dtype=np.uint8)).save(frames / paths.frame_file_name(0))
    video = _video(folder / "video.mp4", (0, 0, 0), 16, 16)  # black: the thumbnail is not from here
    log = tmp_path / "runs.jsonl"
    append_record(log, _record("w1", "2026-01-01T09:00:00", video, "sun"))
    entry = read_history(log).find("w1")
    assert entry is not None and entry.frames_dir == frames
    picture = thumbnail_for(entry)
    assert picture is not None and picture[..., 0].mean() > 200  # the yellow PNG


def test_delete_removes_the_files_then_logs_it(tmp_path: Path) -> None:
    folder = paths.render_folder(__import__("datetime").datetime(2026, 1, 2, 9, 0, 0))
    frames = folder / paths.RENDER_FRAMES_FOLDER
    frames.mkdir(parents=True)
    Image.fromarray(np.zeros((16, 16, 3), dtype=np.uint8)).save(frames / paths.frame_file_name(0))
    video = _video(folder / "video.mp4", (9, 9, 9), 16, 16)
    subtitles = folder / "video.srt"
    subtitles.write_text("1\n00:00:00,000 --> 00:00:01,000\nfox\n")
    log = tmp_path / "runs.jsonl"
    append_record(log, _record("d1", "2026-01-02T09:00:00", video, "fox", subtitles=[str(subtitles)]))
    append_record(log, _record("k1", "2026-01-02T09:00:01", tmp_path / "kept.mp4", "owl"))
    entry = read_history(log).find("d1")
    assert entry is not None
    removed = delete_render(log, entry)
    assert video in removed and subtitles in removed and frames in removed
    assert not folder.exists()  # the render's own folder, now empty, goes too
    history = read_history(log)
    assert [e.run_id for e in history.entries] == ["k1"]
    assert find_record(log, "d1")["deleted"]["removed"]  # the record stays in the log, marked deleted


def test_delete_leaves_a_video_another_render_wrote_under_the_same_name(tmp_path: Path) -> None:
    log = tmp_path / "runs.jsonl"
    video = _video(tmp_path / "out.mp4", (1, 2, 3))
    append_record(log, _record("first", "2026-01-01T00:00:00", video, "fox"))
    _video(video, (200, 200, 200))  # a later render with the same -o path
    entry = read_history(log).find("first")
    assert entry is not None
    assert delete_render(log, entry) == [] and video.is_file()
    assert read_history(log).entries == []


def test_a_file_that_cannot_be_deleted_is_named_and_nothing_is_logged(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "runs.jsonl"
    video = _video(tmp_path / "busy.mp4", (1, 2, 3))
    append_record(log, _record("busy", "2026-01-01T00:00:00", video, "fox"))
    entry = read_history(log).find("busy")
    assert entry is not None

    def refuse(self: Path, missing_ok: bool = False) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "unlink", refuse)
    with pytest.raises(BadInputError, match=r"Could not delete .*busy\.mp4 \(Permission denied\)"):
        delete_render(log, entry)
    monkeypatch.undo()
    assert read_history(log).find("busy") is not None


def test_renders_logged_in_the_same_second_are_newest_first_too(tmp_path: Path) -> None:
    log = tmp_path / "runs.jsonl"
    for index in range(3):  # times have whole seconds: quick renders share one
        append_record(log, _record(f"s{index}", "2026-01-01T10:00:00", _video(tmp_path / f"{index}.mp4", (9, 9, 9)),
                                   f"render {index}"))
    assert [entry.run_id for entry in read_history(log).entries] == ["s2", "s1", "s0"]
