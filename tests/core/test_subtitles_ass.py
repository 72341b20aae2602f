"""ASS subtitles: the sections and fields a player reads, the style's colours, outline and alignment, \\k
karaoke timings that add up to each cue, and a real reader (ffmpeg, libass) that takes the file."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hear2see_desktop.core.caption_style import CaptionStyle
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.export_job import ExportJob
from hear2see_desktop.core.ffmpeg import ffmpeg_exe
from hear2see_desktop.core.jobs import never_cancelled, no_progress
from hear2see_desktop.core.subtitle_files import write_subtitles
from hear2see_desktop.core.subtitles import styled_cues
from hear2see_desktop.core.subtitles_ass import EVENT_FORMAT, STYLE_FORMAT, to_ass
from hear2see_desktop.core.transcript import Transcript, Word

TEXT = "the quick brown fox jumps over the lazy dog. and then it sleeps by the {warm} fire"
WORDS = [Word(token, 0.1 + index * 0.4, 0.1 + index * 0.4 + 0.3, 1.0) for index, token in enumerate(TEXT.split())]
KARAOKE = CaptionStyle(position="top", highlight="word", highlight_colour="#00FF00", colour="#FFFFFF",
                       outline_colour="#FF0000", outline_width=2, max_chars=16)


def sections(text: str) -> dict[str, list[str]]:
    """The file's [Sections] and their non-empty lines."""
    found: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("[") and line.endswith("]"):
            current = found.setdefault(line[1:-1], [])
        elif line.strip() and current is not None:
            current.append(line)
    return found


def fields_of(lines: list[str], kind: str) -> list[dict[str, str]]:
    """Each `kind:` line of a section as {field: value}, by the section's Format line."""
    [format_line] = [line for line in lines if line.startswith("Format:")]
    names = [name.strip() for name in format_line.split(":", 1)[1].split(",")]
    rows = []
    for line in lines:
        if line.startswith(f"{kind}:"):
            values = line.split(":", 1)[1].lstrip().split(",", len(names) - 1)  # the last field may hold commas
            assert len(values) == len(names), line
            rows.append(dict(zip(names, values, strict=True)))
    return rows


def centis(clock: str) -> int:
    hours, minutes, seconds = clock.split(":")
    return round((int(hours) * 3600 + int(minutes) * 60 + float(seconds)) * 100)


def test_the_file_has_the_sections_and_fields_players_read() -> None:
    text = to_ass(styled_cues(WORDS, KARAOKE), KARAOKE, 576, 1024)
    parts = sections(text)
    assert list(parts) == ["Script Info", "V4+ Styles", "Events"]
    info = dict(line.split(": ", 1) for line in parts["Script Info"] if not line.startswith(";"))
    assert info["ScriptType"] == "v4.00+" and info["PlayResX"] == "576" and info["PlayResY"] == "1024"
    [style] = fields_of(parts["V4+ Styles"], "Style")
    assert tuple(style) == STYLE_FORMAT
    assert style["Fontname"] == "DejaVu Sans Condensed" and style["Bold"] == "-1"
    assert style["PrimaryColour"] == "&H0000FF00", "the highlight (sung) colour, blue-green-red"
    assert style["SecondaryColour"] == "&H00FFFFFF" and style["OutlineColour"] == "&H000000FF"
    assert style["Alignment"] == "8", "top centre"
    size_px = round(0.055 * 576)
    assert size_px * 1.1 < float(style["Fontsize"]) < size_px * 1.3, "the line height of the burned-in letters"
    assert style["Outline"] == str(round(size_px * 2 / 12))
    assert int(style["MarginV"]) == round(0.12 * 1024), "clear of a vertical video's tabs, as burned in"
    events = fields_of(parts["Events"], "Dialogue")
    assert tuple(events[0]) == EVENT_FORMAT
    assert len(events) == len(styled_cues(WORDS, KARAOKE))


def test_karaoke_tags_time_every_word_and_add_up_to_each_cue() -> None:
    cues = styled_cues(WORDS, KARAOKE)
    events = fields_of(sections(to_ass(cues, KARAOKE, 512, 512))["Events"], "Dialogue")
    spoken = []
    for cue, event in zip(cues, events, strict=True):
        durations = [int(k) for k in re.findall(r"\{\\k(\d+)\}", event["Text"])]
        assert len(durations) == len(cue.words)
        assert sum(durations) == centis(event["End"]) - centis(event["Start"])
        # Each word's tag lasts until the next word begins.
        for word, following, duration in zip(cue.words, cue.words[1:], durations, strict=False):
            assert duration == round(following.start_s * 100) - round(word.start_s * 100)
        shown = re.sub(r"\{\\k\d+\}", "", event["Text"])
        assert shown.replace("\\N", " ").split() == [w.text.replace("{", "(").replace("}", ")") for w in cue.words]
        assert all(len(line) <= KARAOKE.max_chars for line in shown.split("\\N"))
        spoken.extend(w.text for w in cue.words)
    assert spoken == TEXT.split()


def test_without_highlighting_there_are_no_karaoke_tags() -> None:
    style = CaptionStyle()
    text = to_ass(styled_cues(WORDS, style), style, 512, 512)
    [ass_style] = fields_of(sections(text)["V4+ Styles"], "Style")
    assert "\\k" not in text and ass_style["PrimaryColour"] == "&H00FFFFFF" and ass_style["Alignment"] == "2"


def test_ffmpeg_reads_the_file_back_as_the_same_cues(tmp_path: Path) -> None:
    path = write_subtitles(styled_cues(WORDS, KARAOKE), tmp_path / "clip.ass", KARAOKE, (512, 512))
    srt_path = tmp_path / "back.srt"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(path), str(srt_path)], check=True, timeout=60)
    import srt

    back = list(srt.parse(srt_path.read_text(encoding="utf-8")))
    cues = styled_cues(WORDS, KARAOKE)
    assert [round(c.start.total_seconds(), 2) for c in back] == [round(c.start_s, 2) for c in cues]
    assert "quick" in back[0].content and "fox" in back[0].content


def has_libass() -> bool:
    result = subprocess.run([ffmpeg_exe(), "-hide_banner", "-filters"], capture_output=True, text=True, timeout=60)
    return " ass " in result.stdout


@pytest.mark.skipif(not has_libass(), reason="this ffmpeg was built without libass")
def test_libass_draws_the_file_at_the_top_with_the_spoken_word_highlighted(tmp_path: Path) -> None:
    path = write_subtitles(styled_cues(WORDS, KARAOKE), tmp_path / "clip.ass", KARAOKE, (256, 256))
    png = tmp_path / "frame.png"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "color=gray:s=256x256:d=1",
                    "-vf", f"ass={path.name}", "-ss", "0.6", "-frames:v", "1", str(png)],
                   check=True, timeout=60, cwd=tmp_path)
    from PIL import Image

    frame = np.asarray(Image.open(png).convert("RGB")).astype(int)
    drawn = np.flatnonzero(np.any(np.abs(frame - frame[-1, -1]) > 30, axis=(1, 2)))
    assert drawn.size and drawn.max() < 256 / 3, "the caption is not in the top third"
    green = np.all(np.abs(frame - [0, 255, 0]) < 60, axis=2)
    assert green.sum() > 20, "no word in the highlight colour at 0.6 s"


def test_the_export_job_writes_ass_in_the_style(tmp_path: Path) -> None:
    transcript = Transcript(TEXT, WORDS, "given", "test")
    target = tmp_path / "clip.ass"
    ExportJob.subtitles(transcript, target, KARAOKE, (640, 360)).run(no_progress, never_cancelled)
    text = target.read_text(encoding="utf-8")
    assert "PlayResX: 640" in text and "{\\k" in text
    srt_target = tmp_path / "clip.srt"
    ExportJob.subtitles(transcript, srt_target, KARAOKE).run(no_progress, never_cancelled)
    import srt

    assert all(len(line) <= 16 for sub in srt.parse(srt_target.read_text(encoding="utf-8"))
               for line in sub.content.splitlines()), "SRT follows the style's line length"
    with pytest.raises(BadInputError, match=r"clip\.ssa must end in \.srt, \.vtt or \.ass"):
        ExportJob.subtitles(transcript, tmp_path / "clip.ssa").run(no_progress, never_cancelled)
