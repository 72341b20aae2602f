"""Subtitle cues as an ASS (Advanced SubStation Alpha) file that carries the caption style.

SRT and WebVTT hold only text and times; ASS also holds how the text looks, so a player or editor (mpv,
VLC, Aegisub, ffmpeg's subtitles filter) shows the captions as the render burned them in: the font, its
size for the video's frame (`PlayResX`/`PlayResY`), colours, outline, and where they sit (numpad alignment
2 bottom, 5 middle, 8 top, with the same margins). With word highlighting each word carries a `\\k` karaoke
tag (its time in centiseconds): a player paints a word in the highlight colour (ASS's primary colour) when
it is spoken, over the text colour (the secondary colour) it waits in. Unlike the burned-in captions,
which highlight only the word being spoken, karaoke leaves the words already spoken highlighted: that is
how ASS players show `\\k`.
"""

from __future__ import annotations

from itertools import pairwise

from hear2see_desktop.core.caption_style import CaptionStyle
from hear2see_desktop.core.captions import (
    BOTTOM_MARGIN_FRACTION,
    CAPTION_LAYOUT,
    MIN_FONT_PX,
    TEXT_WIDTH_FRACTION,
    VERTICAL_BOTTOM_MARGIN_FRACTION,
    VERTICAL_MIN_HEIGHT_RATIO,
    VERTICAL_TEXT_WIDTH_FRACTION,
    VERTICAL_TOP_MARGIN_FRACTION,
    outline_px,
)
from hear2see_desktop.core.choices import CaptionHighlight, CaptionPosition
from hear2see_desktop.core.fonts import FontFace, bundled_font, face_of, font_named
from hear2see_desktop.core.subtitles import Cue, shown_lines

STYLE_FORMAT = ("Name", "Fontname", "Fontsize", "PrimaryColour", "SecondaryColour", "OutlineColour", "BackColour",
                "Bold", "Italic", "Underline", "StrikeOut", "ScaleX", "ScaleY", "Spacing", "Angle", "BorderStyle",
                "Outline", "Shadow", "Alignment", "MarginL", "MarginR", "MarginV", "Encoding")
EVENT_FORMAT = ("Layer", "Start", "End", "Style", "Name", "MarginL", "MarginR", "MarginV", "Effect", "Text")
ALIGNMENT = {CaptionPosition.BOTTOM: 2, CaptionPosition.MIDDLE: 5, CaptionPosition.TOP: 8}
"""ASS's numpad alignment of each caption position (all centred across the frame)."""
FALLBACK_FAMILY = "DejaVu Sans Condensed"


def ass_colour(rgb: tuple[int, int, int]) -> str:
    """`&HAABBGGRR` with alpha 00 (opaque): ASS writes colours blue first."""
    red, green, blue = rgb
    return f"&H00{blue:02X}{green:02X}{red:02X}"


def ass_time(time_s: float) -> str:
    """H:MM:SS.cc, the centisecond clock of ASS events."""
    hours, rest = divmod(_centis(time_s), 360_000)
    minutes, rest = divmod(rest, 6000)
    seconds, centis = divmod(rest, 100)
    return f"{hours}:{minutes:02d}:{seconds:02d}.{centis:02d}"


def _centis(time_s: float) -> int:
    return max(0, round(time_s * 100))


def _face(style: CaptionStyle) -> FontFace | None:
    """The font the style draws Latin text with (the bundled one when it names none)."""
    if style.font.strip():
        named = font_named(style.font)
        if named is not None:
            return named
    bundled = bundled_font()
    return face_of(str(bundled)) if bundled is not None else None


def _font_size(face: FontFace | None, size_px: int) -> float:
    """ASS sizes a font by its line height (ascent + descent, as Windows measures it), Pillow by its em:
    the ASS size that draws letters as tall as the burned-in ones."""
    if face is None:
        return float(size_px)
    from fontTools.ttLib import TTFont

    try:
        font = TTFont(face.path, lazy=True, fontNumber=0)
        try:
            os2, units = font["OS/2"], font["head"].unitsPerEm
            ratio = (os2.usWinAscent + os2.usWinDescent) / units
        finally:
            font.close()
    except Exception:  # noqa: BLE001 - a font without those tables: its em is a fair guess
        ratio = 1.0
    return round(size_px * ratio, 1)


def _escape(line: str) -> str:
    """Braces start override tags and backslashes codes such as \\N: shown as look-alikes instead."""
    return line.replace("\\", "\u29f5").replace("{", "(").replace("}", ")")


def _karaoke_text(cue: Cue) -> str:
    """The cue's lines with a `{\\kNN}` before each word: NN centiseconds until the next word begins (the last
    word: until the cue ends), so the tags add up to the cue's length."""
    lines = [_escape(line) for line in shown_lines(cue.text)]
    start_cs, end_cs = _centis(cue.start_s), _centis(cue.end_s)
    bounds, previous = [], 0
    for word in cue.words[1:]:
        previous = min(max(previous, _centis(word.start_s) - start_cs), end_cs - start_cs)
        bounds.append(previous)
    edges = [0, *bounds, end_cs - start_cs]
    durations = [b - a for a, b in pairwise(edges)]
    # Each word's first token gets its tag; a word shown as several tokens keeps the rest untagged.
    firsts: dict[int, int] = {}
    token = 0
    for index, word in enumerate(cue.words):
        firsts[token] = durations[index]
        token += len(word.text.split())
    out_lines, token = [], 0
    for line in lines:
        parts = []
        for piece in line.split(" "):
            parts.append(f"{{\\k{firsts[token]}}}{piece}" if token in firsts else piece)
            token += 1
        out_lines.append(" ".join(parts))
    return "\\N".join(out_lines)


def to_ass(cues: list[Cue], style: CaptionStyle, width_px: int, height_px: int,
           layout: int = CAPTION_LAYOUT) -> str:
    """The ASS text of `cues` styled as `style` for a `width_px` x `height_px` video."""
    vertical = layout >= 2 and height_px >= VERTICAL_MIN_HEIGHT_RATIO * width_px  # as captions.py lays it out
    base_px = min(width_px, height_px) if layout >= 2 else height_px
    size_px = max(MIN_FONT_PX, round(style.font_scale * base_px))
    face = _face(style)
    karaoke = style.highlight == CaptionHighlight.WORD
    text_colour, highlight_colour = style.rgb(style.colour), style.rgb(style.highlight_colour)
    side_px = round((1 - (VERTICAL_TEXT_WIDTH_FRACTION if vertical else TEXT_WIDTH_FRACTION)) / 2 * width_px)
    if style.position == CaptionPosition.TOP:
        margin_px = (VERTICAL_TOP_MARGIN_FRACTION if vertical else BOTTOM_MARGIN_FRACTION) * height_px
    elif style.position == CaptionPosition.MIDDLE:
        margin_px = 0.0
    else:
        margin_px = (VERTICAL_BOTTOM_MARGIN_FRACTION if vertical else BOTTOM_MARGIN_FRACTION) * height_px
    values = {
        "Name": "Default", "Fontname": face.family if face is not None else FALLBACK_FAMILY,
        "Fontsize": f"{_font_size(face, size_px):g}",
        "PrimaryColour": ass_colour(highlight_colour if karaoke else text_colour),
        "SecondaryColour": ass_colour(text_colour), "OutlineColour": ass_colour(style.rgb(style.outline_colour)),
        "BackColour": ass_colour((0, 0, 0)), "Bold": "-1" if face is None or face.bold else "0", "Italic": "0",
        "Underline": "0", "StrikeOut": "0", "ScaleX": "100", "ScaleY": "100", "Spacing": "0", "Angle": "0",
        "BorderStyle": "1", "Outline": str(outline_px(size_px, style.outline_width)), "Shadow": "0",
        "Alignment": str(ALIGNMENT[CaptionPosition(style.position)]), "MarginL": str(side_px),
        "MarginR": str(side_px), "MarginV": str(round(margin_px)), "Encoding": "1",
    }
    lines = [
        "[Script Info]",
        "; Captions from HEAR2SEE Desktop",
        "ScriptType: v4.00+",
        f"PlayResX: {width_px}",
        f"PlayResY: {height_px}",
        "WrapStyle: 0",
        "ScaledBorderAndShadow: yes",
        "YCbCr Matrix: None",
        "",
        "[V4+ Styles]",
        "Format: " + ", ".join(STYLE_FORMAT),
        "Style: " + ",".join(values[name].replace(",", " ") for name in STYLE_FORMAT),
        "",
        "[Events]",
        "Format: " + ", ".join(EVENT_FORMAT),
    ]
    for cue in cues:
        shown = shown_lines(cue.text)
        if not shown:
            continue
        text = _karaoke_text(cue) if karaoke and cue.words else "\\N".join(_escape(line) for line in shown)
        lines.append(f"Dialogue: 0,{ass_time(cue.start_s)},{ass_time(cue.end_s)},Default,,0,0,0,,{text}")
    return "\n".join(lines) + "\n"
