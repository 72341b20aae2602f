"""A render with styled captions: the tiny SD pipeline's video decoded back shows the caption where the style
says, the spoken word in the highlight colour, the ASS file beside it, and a replay draws it again."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from hear2see_desktop.core.caption_style import CaptionStyle
from hear2see_desktop.core.jobs import never_cancelled, no_progress
from hear2see_desktop.core.render_job import RenderJob, RenderRequest, replay_request
from hear2see_desktop.core.run_record import RunRecord
from hear2see_desktop.core.settings import RenderSettings
from hear2see_desktop.core.transcript import Transcript, Word
from hear2see_desktop.core.video import read_frames

WORDS = [Word("A", 0.10, 0.20, 1.0), Word("red", 0.20, 0.40, 1.0), Word("fox", 0.40, 0.70, 1.0),
         Word("runs.", 0.70, 1.00, 1.0), Word("It", 1.40, 1.55, 1.0), Word("stops.", 1.55, 1.90, 1.0)]
FOX = Transcript(text=" ".join(w.word for w in WORDS), words=WORDS, engine="given", model="test")

STYLE = CaptionStyle(position="top", size_pct=11, colour="#FFFFFF", outline_colour="#000000", highlight="word",
                     highlight_colour="#00FF00", max_chars=12, max_lines=1)


def render(narration: Path, out: Path, settings: RenderSettings, **request: object) -> RunRecord:
    job = RenderJob(RenderRequest(narration, out, settings, transcript=FOX, runs_log=out.parent / "runs.jsonl",
                                  **request))
    return job.run(no_progress, never_cancelled).record


def frames_of(path: Path) -> list[np.ndarray]:
    return list(read_frames(path))


def bright(region: np.ndarray) -> int:
    return int((region.min(axis=2) > 215).sum())


def green(region: np.ndarray) -> np.ndarray:
    pixels = region.astype(int)
    return (pixels[..., 1] > 170) & (pixels[..., 0] < 110) & (pixels[..., 2] < 110)


def test_a_styled_render_draws_the_caption_where_the_style_says(tiny_models: tuple[Path, Path, Path],
                                                                  narration_wav: Path, tmp_path: Path) -> None:
    settings = RenderSettings(model=str(tiny_models[0]), width=192, height=192, steps=4, fps=12, seed=3,
                              device="cpu", mode="fast", keyframe_interval_s=1.0)
    render(narration_wav, tmp_path / "plain.mp4", settings)
    styled = replace(settings, captions=True).with_caption_style(STYLE)
    record = render(narration_wav, tmp_path / "styled.mp4", styled, ass_path=tmp_path / "styled.ass")
    assert record.settings.caption_style() == STYLE, "the run record keeps the style"
    assert record.subtitles == [str((tmp_path / "styled.ass").resolve())]
    assert "Alignment" in (tmp_path / "styled.ass").read_text(encoding="utf-8")

    plain, styled_frames = frames_of(tmp_path / "plain.mp4"), frames_of(tmp_path / "styled.mp4")
    fps = settings.fps
    red_word = WORDS[1]  # "red", spoken 0.20 to 0.40 s: the cue is "A red fox" (12 characters a line, 1 line)
    index = int(np.ceil(red_word.start * fps + 0.5))
    assert red_word.start <= index / fps < red_word.end
    before, after = plain[index], styled_frames[index]
    third = 192 // 3
    assert bright(after[:third]) > 3 * bright(before[:third]) + 20, "no caption letters in the top third"
    assert bright(after[2 * third:]) <= bright(before[2 * third:]) + 5, "caption letters at the bottom"
    lit = green(after) & ~green(before)
    assert lit[:third].sum() > 10, "the spoken word is not in the highlight colour"
    # "red" is the middle word of "A red fox": its green sits in the middle of the line, not at its ends.
    letters = np.flatnonzero((np.abs(after[:third].astype(int) - before[:third].astype(int)).max(axis=2) > 60)
                             .any(axis=0))
    columns = np.flatnonzero(lit[:third].any(axis=0))
    share = (columns.mean() - letters.min()) / (letters.max() - letters.min())
    assert 0.2 < share < 0.8, share

    again = replay_request(record, tmp_path / "replay.mp4", tmp_path / "runs.jsonl")
    replayed = RenderJob(again).run(no_progress, never_cancelled).record
    assert replayed.settings.caption_style() == STYLE
    assert all(np.array_equal(a, b) for a, b in zip(styled_frames, frames_of(tmp_path / "replay.mp4"), strict=True))
