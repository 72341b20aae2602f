"""CaptionStyle: how captions look (font, size, colours, outline, place, line lengths, word highlighting).

One style shapes the burned-in captions (core/captions.py), the cues every subtitle file is cut into
(core/subtitles.py) and the ASS file's style (core/subtitles_ass.py). `RenderSettings` holds its fields flat
(`caption_font`, `caption_size_pct`...), so the CLI's flag table, the project file, the run record and replay
carry it like any other setting. The default style draws exactly what captions drew before styles existed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from functools import lru_cache

from hear2see_desktop.core.choices import CaptionHighlight, CaptionPosition
from hear2see_desktop.core.fonts import FONT_SUFFIXES, characters_of, font_for, font_named

log = logging.getLogger(__name__)

SIZE_RANGE_PCT = (1.0, 25.0)
"""The letters' size, in percent of the frame's shorter side (caption layout 1: of its height)."""
OUTLINE_WIDTH_RANGE = (0.0, 5.0)
"""The outline's width as a multiple of the usual one (a twelfth of the letters' size); 0: no outline."""
MAX_CHARS_RANGE = (8, 200)
MAX_LINES_RANGE = (1, 6)
POSITIONS = CaptionPosition.values()
HIGHLIGHTS = CaptionHighlight.values()


@lru_cache(maxsize=256)
def colour_rgb(text: str) -> tuple[int, int, int] | None:
    """`#RRGGBB`, `#RGB` or a colour name (white, yellow, ...) as an RGB triple; None if it is none of those."""
    from PIL import ImageColor

    value = text.strip()
    if not value or value.lower().startswith(("rgb", "hsl", "hsv")):  # one plain spelling: hex or a name
        return None
    try:
        rgb = ImageColor.getrgb(value)
    except ValueError:
        return None
    return (rgb[0], rgb[1], rgb[2]) if len(rgb) == 3 else None


def colour_hex(text: str) -> str:
    """A colour as the style stores it (`#RRGGBB`, upper case); text that is no colour is returned as given,
    for `CaptionStyle.problem` to name."""
    rgb = colour_rgb(text)
    return "#{:02X}{:02X}{:02X}".format(*rgb) if rgb is not None else text


@dataclass(frozen=True)
class CaptionStyle:
    """How captions look. The defaults are the captions drawn before styles existed: the bundled bold font
    (or an installed one that has the caption's letters), 5.5% of the frame's shorter side, white with a black
    outline a twelfth of the letters' size, along the bottom, cues of at most two lines of 42 characters."""

    font: str = ""  # "" automatic; else an installed font's full name or a .ttf/.otf file
    size_pct: float = 5.5
    colour: str = "#FFFFFF"
    outline_colour: str = "#000000"
    outline_width: float = 1.0
    position: CaptionPosition = CaptionPosition.BOTTOM
    max_chars: int = 42  # per line, when the words are cut into cues
    max_lines: int = 2  # per cue
    highlight: CaptionHighlight = CaptionHighlight.NONE
    highlight_colour: str = "#FFD400"

    def __post_init__(self) -> None:
        """Known choices become their enum members (an unknown one stays, for `problem` to name)."""
        for name, kind in (("position", CaptionPosition), ("highlight", CaptionHighlight)):
            value = getattr(self, name)
            if value in kind.values():
                object.__setattr__(self, name, kind(value))

    def problem(self) -> str | None:
        """One sentence for the first field out of range, or None when the style can be drawn."""
        low_size, high_size = SIZE_RANGE_PCT
        low_outline, high_outline = OUTLINE_WIDTH_RANGE
        colours = (("caption colour", self.colour), ("caption outline colour", self.outline_colour),
                   ("caption highlight colour", self.highlight_colour))
        checks: list[tuple[bool, str]] = [
            *((colour_rgb(value) is not None,
               f"The {what} '{value}' is not a colour: give #RRGGBB or a name such as white, black or yellow.")
              for what, value in colours),
            (self.position in POSITIONS,
             f"Unknown caption position '{self.position}': use one of {', '.join(POSITIONS)}."),
            (self.highlight in HIGHLIGHTS,
             f"Unknown caption highlight '{self.highlight}': use one of {', '.join(HIGHLIGHTS)}."),
            (low_size <= self.size_pct <= high_size,
             f"The caption size must be between {low_size:g} and {high_size:g} percent of the frame's shorter "
             f"side (got {self.size_pct:g})."),
            (low_outline <= self.outline_width <= high_outline,
             f"The caption outline width must be between {low_outline:g} (none) and {high_outline:g} times the "
             f"usual width (got {self.outline_width:g})."),
            (MAX_CHARS_RANGE[0] <= self.max_chars <= MAX_CHARS_RANGE[1],
             f"The caption's characters per line must be between {MAX_CHARS_RANGE[0]} and {MAX_CHARS_RANGE[1]} "
             f"(got {self.max_chars})."),
            (MAX_LINES_RANGE[0] <= self.max_lines <= MAX_LINES_RANGE[1],
             f"The caption's lines per cue must be between {MAX_LINES_RANGE[0]} and {MAX_LINES_RANGE[1]} "
             f"(got {self.max_lines})."),
        ]
        for ok, message in checks:
            if not ok:
                return message
        if self.font.strip() and font_named(self.font) is None:
            if any(self.font.lower().endswith(suffix) for suffix in FONT_SUFFIXES):
                return f"The caption font file {self.font} does not exist or is not a font: give a .ttf or .otf file."
            return (f"The caption font '{self.font}' is not installed: give the full name of an installed font "
                    "(such as DejaVu Sans Condensed Bold) or a .ttf or .otf file.")
        return None

    @property
    def font_scale(self) -> float:
        """The letters' size as a share of the frame's shorter side (what `burn_caption` takes)."""
        return self.size_pct / 100

    def rgb(self, colour: str) -> tuple[int, int, int]:
        """One of the style's colours as RGB (a style that passed `problem` has only real colours)."""
        rgb = colour_rgb(colour)
        if rgb is None:
            raise ValueError(f"{colour!r} is not a colour")
        return rgb

    def font_path(self, text: str) -> str | None:
        """The font file `text` is drawn with: the style's font when it has every letter of it, else the one
        `fonts.font_for` picks (so a Korean caption never shows as boxes in a Latin-only font)."""
        if not self.font.strip():
            return font_for(text)
        face = font_named(self.font)
        if face is None:
            return font_for(text)
        needed = {ord(ch) for ch in text if not ch.isspace()}
        if needed <= characters_of(face.path):
            return face.path
        log.warning("The caption font %s lacks some letters of %r; drawing it with another font.", face.name, text[:40])
        return font_for(text)


DEFAULT_CAPTION_STYLE = CaptionStyle()
STYLE_FIELDS = tuple(f.name for f in fields(CaptionStyle))
"""The style's fields, each held in `RenderSettings` as `caption_<field>`."""
