"""Burned-in captions: a subtitle cue drawn into a video frame, readable on any picture.

White text with a dark outline, bottom-centre, in DejaVu Sans Condensed Bold shipped in `resources/fonts/`
(Latin with accents, Greek, Cyrillic), so the packaged app needs no system font for those; text in
scripts DejaVu lacks (Korean, Japanese, Chinese) is drawn with an installed font that has them
(`fonts.font_for`); Pillow's own scalable font is the last resort.

How the text fits the frame has versions (`RenderSettings.caption_layout`, see CAPTION_LAYOUTS there), so a
logged run replays as it was made: layout 2 sizes the font from the frame's shorter side and keeps a vertical
frame's captions out of the margins short-video apps draw over.

How the caption looks (font, size, colours, outline, place, word highlighting) is a `CaptionStyle`
(core/caption_style.py); its default is the look described above.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from hear2see_desktop.core.caption_style import DEFAULT_CAPTION_STYLE, CaptionStyle
from hear2see_desktop.core.choices import CaptionHighlight, CaptionPosition
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.fonts import BUNDLED_FONT
from hear2see_desktop.core.subtitles import Cue, word_at

__all__ = ["BUNDLED_FONT", "CAPTION_LAYOUT", "MIN_FONT_PX", "burn_caption", "burn_cue"]

MIN_FONT_PX = 8
TEXT_WIDTH_FRACTION = 0.9  # lines are re-wrapped to fit this share of the frame width
BOTTOM_MARGIN_FRACTION = 0.06  # gap between the last line and the bottom edge, as a share of the height
MAX_BLOCK_FRACTION = 0.5  # the font shrinks (down to MIN_FONT_PX) before the caption covers more than this
LINE_GAP_FRACTION = 0.15  # extra space between lines, as a share of the font size
VERTICAL_MIN_HEIGHT_RATIO = 1.5  # layout 2: a frame at least this much taller than wide is vertical video
VERTICAL_TEXT_WIDTH_FRACTION = 0.8  # ...whose lines keep clear of the side tenths (the apps' buttons on the right)
VERTICAL_BOTTOM_MARGIN_FRACTION = 0.2  # ...and of the bottom fifth (the apps' title, description and bar)
VERTICAL_TOP_MARGIN_FRACTION = 0.12  # ...and, placed at the top, of the apps' tabs and status bar
CAPTION_LAYOUT = 2  # the layout new renders use
TEXT_RGB = (255, 255, 255)
OUTLINE_RGB = (0, 0, 0)


@lru_cache(maxsize=16)
def _font(size_px: int, font_path: str | None = None) -> ImageFont.FreeTypeFont:
    """The TrueType font at `font_path`, else Pillow's bundled one (scalable since Pillow 10.1), at `size_px`."""
    if font_path is not None:
        try:
            return ImageFont.truetype(font_path, size_px)
        except OSError as error:
            raise BadInputError(f"The caption font {font_path} could not be read: give a .ttf or .otf file.") from error
    return ImageFont.load_default(size=size_px)  # type: ignore[return-value]  # FreeType when `size` is given


def outline_px(size_px: int, outline_width: float = 1.0) -> int:
    """The outline: a twelfth of the letters' size times `outline_width` (0: none), at least a pixel."""
    return max(1, round(size_px * outline_width / 12)) if outline_width > 0 else 0


def _width_px(font: ImageFont.FreeTypeFont, text: str, stroke_px: int) -> float:
    left, _, right, _ = font.getbbox(text, stroke_width=stroke_px)
    return right - left


def _wrap(text: str, font: ImageFont.FreeTypeFont, stroke_px: int, max_width_px: float) -> list[str]:
    """Re-wrap each line of `text` at spaces to fit `max_width_px`; a word too wide on its own is cut."""
    lines: list[str] = []
    for paragraph in text.splitlines():
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if _width_px(font, candidate, stroke_px) <= max_width_px:
                line = candidate
                continue
            if line:
                lines.append(line)
            while len(word) > 1 and _width_px(font, word, stroke_px) > max_width_px:
                fits, too_wide = 1, len(word)  # binary search for the longest piece that fits
                while too_wide - fits > 1:
                    middle = (fits + too_wide) // 2
                    if _width_px(font, word[:middle], stroke_px) <= max_width_px:
                        fits = middle
                    else:
                        too_wide = middle
                lines.append(word[:fits])
                word = word[fits:]
            line = word
        if line:
            lines.append(line)
    return lines


@dataclass(frozen=True)
class _Overlay:
    """The drawn caption, cropped to its box: premultiplied colour and the share of the frame it leaves."""

    top_px: int
    left_px: int
    premultiplied_rgb: np.ndarray  # h x w x 3 float32, 0..255
    keep: np.ndarray  # h x w x 1 float32: 1 - alpha


@dataclass(frozen=True)
class _Lines:
    """The caption's lines with the font, outline and spacing they were fitted with."""

    font: ImageFont.FreeTypeFont
    stroke_px: int
    lines: list[str]
    ref_top_px: float  # top of the tallest letters, relative to the drawing origin
    line_px: float  # baseline to baseline
    gap_px: float  # space between one line's box and the next


def _is_vertical(width_px: int, height_px: int, layout: int) -> bool:
    return layout >= 2 and height_px >= VERTICAL_MIN_HEIGHT_RATIO * width_px


def _fit_lines(text: str, width_px: int, height_px: int, font_scale: float, font_path: str | None,
               layout: int, outline_width: float = 1.0) -> _Lines:
    """The font size, outline and lines that fit the frame (see `burn_caption` for the rules)."""
    font_base_px = min(width_px, height_px) if layout >= 2 else height_px
    size_px = max(MIN_FONT_PX, round(font_scale * font_base_px))
    vertical = _is_vertical(width_px, height_px, layout)
    max_width_px = (VERTICAL_TEXT_WIDTH_FRACTION if vertical else TEXT_WIDTH_FRACTION) * width_px
    if vertical:  # a cue's lines were broken for a wide frame: filled afresh, they leave no stubs
        text = " ".join(text.split())
    while True:
        font = _font(size_px, font_path)
        stroke_px = outline_px(size_px, outline_width)
        lines = _wrap(text, font, stroke_px, max_width_px)
        # One reference box for every line, so the baselines sit evenly whatever the letters.
        _, ref_top, _, ref_bottom = font.getbbox("ÁÅgjy", stroke_width=stroke_px)
        gap_px = LINE_GAP_FRACTION * size_px
        line_px = (ref_bottom - ref_top) + gap_px
        if len(lines) * line_px <= MAX_BLOCK_FRACTION * height_px or size_px == MIN_FONT_PX:
            return _Lines(font, stroke_px, lines, ref_top, line_px, gap_px)
        size_px = max(MIN_FONT_PX, int(size_px * 0.9))


@dataclass(frozen=True)
class _Look:
    """What the overlay is drawn with besides the text and the frame (hashable: it keys the overlay cache)."""

    font_scale: float
    font_path: str | None
    layout: int
    text_rgb: tuple[int, int, int] = TEXT_RGB
    outline_rgb: tuple[int, int, int] = OUTLINE_RGB
    outline_width: float = 1.0
    position: str = CaptionPosition.BOTTOM.value
    highlight_rgb: tuple[int, int, int] = TEXT_RGB
    highlighted: frozenset[int] = frozenset()  # indices of the text's words (split at whitespace)


def _block_top_px(look: _Look, width_px: int, height_px: int, block_px: float) -> tuple[float, float, float]:
    """Where the caption's block of lines starts for its position, and the top and bottom margins it keeps."""
    vertical = _is_vertical(width_px, height_px, look.layout)
    bottom_px = (VERTICAL_BOTTOM_MARGIN_FRACTION if vertical else BOTTOM_MARGIN_FRACTION) * height_px
    if look.position == CaptionPosition.TOP:
        top_px = (VERTICAL_TOP_MARGIN_FRACTION if vertical else BOTTOM_MARGIN_FRACTION) * height_px
        return top_px, top_px, bottom_px
    top_px = BOTTOM_MARGIN_FRACTION * height_px
    if look.position == CaptionPosition.MIDDLE:
        return (height_px - block_px) / 2, top_px, bottom_px
    return height_px - bottom_px - block_px, top_px, bottom_px


def _word_spans(text: str, lines: list[str]) -> list[list[tuple[int, int, int]]]:
    """For each line, where the text's words lie in it: (index in `text.split()`, first character, end
    character). Lines join words with single spaces; a word too wide for a line was cut over several."""
    words = text.split()
    spans: list[list[tuple[int, int, int]]] = []
    word_index, used = 0, 0  # the word the next piece belongs to, and how much of it earlier pieces took
    for line in lines:
        line_spans: list[tuple[int, int, int]] = []
        offset = 0
        for piece in line.split(" "):
            if piece and word_index < len(words):
                line_spans.append((word_index, offset, offset + len(piece)))
                used += len(piece)
                if used >= len(words[word_index]):
                    word_index, used = word_index + 1, 0
            offset += len(piece) + 1
        spans.append(line_spans)
    return spans


def _draw_line(draw: ImageDraw.ImageDraw, xy: tuple[float, float], line: str, fitted: _Lines, look: _Look,
               highlighted: list[tuple[int, int]]) -> None:
    """One line: the outline, then the letters, the highlighted character spans in the highlight colour."""
    font, stroke_px = fitted.font, fitted.stroke_px
    if not highlighted:
        draw.text(xy, line, font=font, fill=(*look.text_rgb, 255), stroke_width=stroke_px,
                  stroke_fill=(*look.outline_rgb, 255))
        return
    if stroke_px:
        draw.text(xy, line, font=font, fill=(*look.outline_rgb, 255), stroke_width=stroke_px,
                  stroke_fill=(*look.outline_rgb, 255))
    bounds = sorted({0, len(line), *(edge for span in highlighted for edge in span)})
    for start, end in itertools.pairwise(bounds):
        colour = look.highlight_rgb if any(a <= start and end <= b for a, b in highlighted) else look.text_rgb
        piece = line[start:end]
        if piece.strip():
            draw.text((xy[0] + font.getlength(line[:start]), xy[1]), piece, font=font, fill=(*colour, 255))


@lru_cache(maxsize=8)
def _overlay(text: str, width_px: int, height_px: int, look: _Look) -> _Overlay | None:
    """Draw the caption once on a transparent layer; cached because a cue stays on screen for many frames."""
    fitted = _fit_lines(text, width_px, height_px, look.font_scale, look.font_path, look.layout, look.outline_width)
    line_px, gap_px = fitted.line_px, fitted.gap_px
    if not fitted.lines:
        return None
    spans = _word_spans(text, fitted.lines)
    _, top_margin_px, margin_px = _block_top_px(look, width_px, height_px, 0.0)
    # Still too tall at the smallest font: keep the last lines that fit inside the frame.
    fitting = max(1, int((height_px - margin_px - top_margin_px + gap_px) // line_px))
    lines, spans = fitted.lines[-fitting:], spans[-fitting:]
    block_top_px = _block_top_px(look, width_px, height_px, len(lines) * line_px - gap_px)[0]
    layer = Image.new("RGBA", (width_px, height_px), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for index, (line, line_spans) in enumerate(zip(lines, spans, strict=True)):
        left, _, right, _ = fitted.font.getbbox(line, stroke_width=fitted.stroke_px)
        x_px = (width_px - (right - left)) / 2 - left
        y_px = block_top_px + index * line_px - fitted.ref_top_px
        highlighted = [(start, end) for word, start, end in line_spans if word in look.highlighted]
        _draw_line(draw, (x_px, y_px), line, fitted, look, highlighted)
    box = layer.getbbox()
    if box is None:
        return None
    left_px, top_px = box[:2]
    # Drawing onto transparent black leaves colour already multiplied by coverage, so
    # "over" is just colour + frame * (1 - alpha).
    rgba = np.asarray(layer.crop(box), dtype=np.float32)
    premultiplied_rgb = np.ascontiguousarray(rgba[..., :3])
    keep = 1.0 - rgba[..., 3:] / 255.0
    premultiplied_rgb.flags.writeable = False  # shared through the cache
    keep.flags.writeable = False
    return _Overlay(top_px, left_px, premultiplied_rgb, keep)


def burn_caption(rgb: np.ndarray, text: str, font_scale: float | None = None, font_path: Path | None = None,
                 layout: int = CAPTION_LAYOUT, style: CaptionStyle = DEFAULT_CAPTION_STYLE,
                 highlighted: Collection[int] = ()) -> np.ndarray:
    """A copy of the RGB uint8 HxWx3 frame with `text` drawn as `style` says (by default bottom-centre, white
    with a dark outline); the words at the indices in `highlighted` (of `text.split()`) in its highlight colour.

    The font is `font_scale` (default: the style's size) x the frame's shorter side (layout 1: its height; at
    least MIN_FONT_PX); lines ("\\n" allowed) are re-wrapped to 90% of the width and sit ~6% of the height
    above the bottom (layout 2 on a vertical frame: 80% of the width, a fifth of the height above the bottom),
    below the top or centred, as the style places them; if they would cover more than half the frame the font
    shrinks, and at the smallest size only the last lines that fit are kept. Empty text returns an unchanged
    copy. `font_path` overrides the style's font.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"burn_caption needs an HxWx3 uint8 RGB frame, got shape {rgb.shape} {rgb.dtype}.")
    frame = np.array(rgb, copy=True)
    if not text.strip():
        return frame
    height_px, width_px = frame.shape[:2]
    font_name = str(font_path) if font_path is not None else style.font_path(text)
    look = _Look(float(style.font_scale if font_scale is None else font_scale), font_name, int(layout),
                 style.rgb(style.colour), style.rgb(style.outline_colour), float(style.outline_width),
                 str(style.position), style.rgb(style.highlight_colour), frozenset(highlighted))
    overlay = _overlay(text.strip(), width_px, height_px, look)
    if overlay is None:
        return frame
    height, width = overlay.keep.shape[:2]
    region = frame[overlay.top_px : overlay.top_px + height, overlay.left_px : overlay.left_px + width]
    blended = overlay.premultiplied_rgb + region.astype(np.float32) * overlay.keep
    region[...] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return frame


def burn_cue(rgb: np.ndarray, cue: Cue, time_s: float, style: CaptionStyle = DEFAULT_CAPTION_STYLE,
             layout: int = CAPTION_LAYOUT) -> np.ndarray:
    """The frame at `time_s` with the cue on screen then drawn in `style`: with word highlighting, the word
    being spoken (the last one begun) in the highlight colour."""
    highlighted: range = range(0)
    if style.highlight == CaptionHighlight.WORD:
        index = word_at(cue, time_s)
        if index is not None:
            first = sum(len(word.text.split()) for word in cue.words[:index])
            highlighted = range(first, first + len(cue.words[index].text.split()))
    return burn_caption(rgb, cue.text, layout=layout, style=style, highlighted=highlighted)
