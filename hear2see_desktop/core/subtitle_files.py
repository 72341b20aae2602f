"""Subtitle files: cues written as SRT, WebVTT or ASS (by the file's suffix), atomically.

Kept apart from core/subtitles.py (which makes the cues) because ASS text follows the burned-in captions'
layout (core/subtitles_ass.py reads core/captions.py, which draws cues): one way, no import cycle.
"""

from __future__ import annotations

from pathlib import Path

from hear2see_desktop.core.atomic import write_bytes_atomically
from hear2see_desktop.core.caption_style import DEFAULT_CAPTION_STYLE, CaptionStyle
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.subtitles import SUBTITLE_SUFFIXES, Cue, to_srt, to_vtt
from hear2see_desktop.core.subtitles_ass import to_ass


def subtitle_text(cues: list[Cue], suffix: str, style: CaptionStyle | None = None,
                  size_px: tuple[int, int] = (512, 512)) -> str:
    """The cues as the file of `suffix` holds them (.srt, .vtt, .ass); ASS also carries `style`, its sizes for
    a `size_px` (width, height) video."""
    if suffix == ".srt":
        return to_srt(cues)
    if suffix == ".vtt":
        return to_vtt(cues)
    return to_ass(cues, style or DEFAULT_CAPTION_STYLE, *size_px)


def write_subtitles(cues: list[Cue], path: Path, style: CaptionStyle | None = None,
                    size_px: tuple[int, int] = (512, 512)) -> Path:
    """Write the cues as SRT, WebVTT or ASS (by the suffix of `path`; see `subtitle_text`), UTF-8, through a
    temp file.

    The temp file sits in the same folder and is renamed over `path` when complete, so a crash never
    leaves a half-written subtitle file under the final name. Returns `path`.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUBTITLE_SUFFIXES:
        raise BadInputError(f"The subtitle file {path.name} must end in .srt, .vtt or .ass.")
    if path.is_dir():
        raise BadInputError(f"The subtitle output {path} is a folder: give a file name ending in {suffix}.")
    if not path.parent.is_dir():
        raise BadInputError(f"The folder {path.parent} does not exist: create it or choose another subtitle file.")
    text = subtitle_text(cues, suffix, style, size_px)
    try:
        write_bytes_atomically(path, text.encode("utf-8"))
    except OSError as error:
        reason = error.strerror or str(error)
        raise BadInputError(f"Could not write the subtitles to {path}: {reason}.") from error
    return path
