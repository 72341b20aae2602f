"""Aspect ratio presets: the frame sizes SD 1.5 renders well in the shapes short videos are published in.

SD 1.5 was trained on 512x512 crops: it composes best near that many pixels, and with sides that are multiples
of 64 the UNet's three halvings of the 1/8 latent divide evenly (no padded rows at the edges). So an aspect's
size is the pair of multiples of 64 closest to its ratio at about the pixel count of the square it stands in
for (`size_for`): the full size near 512 x 512, the draft near 256 x 256. On a grid of 64 px a size cannot hit
every ratio exactly (16:9 at full size is 704 x 384, 1.83 rather than 1.78); the platforms fit such a video
with thin bars, and getting closer would cost pixels SD 1.5 draws worse at.

The aspect is not a setting of its own: width and height are, and `aspect_of` names their shape, so the two
can never disagree in a settings file, a project or a run record.
"""

from __future__ import annotations

import math

from hear2see_desktop.core.choices import Choice

GRID_PX = 64
"""Preset sides are multiples of this (see the module docstring)."""
FULL_SIDE_PX = 512
"""The square whose pixel count the full sizes keep: SD 1.5's training size."""
DRAFT_SIDE_PX = 256
"""The square whose pixel count the draft sizes keep: a quarter of the work of the full size."""
RATIO_TOLERANCE = 0.07
"""How far (as a share, on a log scale) a size's ratio may be from an aspect and still be called that aspect:
enough for the 64 px grid's rounding at draft size (320 x 192 is 1.67 for 16:9's 1.78), far from the next aspect."""
AREA_WEIGHT = 0.5
"""How much a size's pixel count straying from the target counts against it, next to its ratio straying: the
aspect is what the user asked for, the pixel count only what renders well."""
MIN_SIDE_PX, MAX_SIDE_PX = 64, 2048  # the sizes RenderSettings accepts


class Aspect(Choice):
    """The shapes creators publish in: landscape video, vertical short video, square, and the portrait feed post."""

    LANDSCAPE = "16:9"
    VERTICAL = "9:16"
    SQUARE = "1:1"
    PORTRAIT = "4:5"


CUSTOM = "custom"
"""What `aspect_of` calls a size of none of the aspects' shapes."""

ASPECT_LABELS: dict[str, str] = {
    "16:9": "16:9 landscape (YouTube)",
    "9:16": "9:16 vertical (Shorts, Reels, TikTok)",
    "1:1": "1:1 square",
    "4:5": "4:5 portrait (Instagram feed)",
}
"""How the app names each aspect, in the order of `Aspect`."""


def ratio_of(aspect: str) -> float:
    """Width over height of `aspect` ('9:16' -> 0.5625)."""
    across, down = Aspect(aspect).value.split(":")
    return int(across) / int(down)


def size_for(aspect: str, side_px: int = FULL_SIDE_PX) -> tuple[int, int]:
    """(width, height) in pixels of `aspect` at about the pixel count of a `side_px` square, both multiples of 64:
    of the pairs `aspect_of` calls that aspect, the one that strays least from the ratio and, at AREA_WEIGHT, from
    the pixel count."""
    aspect = Aspect(aspect).value
    ratio = ratio_of(aspect)
    target_area = float(side_px) ** 2

    def cost(size: tuple[int, int]) -> float:
        width, height = size
        return (abs(math.log(width / height / ratio))
                + AREA_WEIGHT * abs(math.log(width * height / target_area)))

    sides = range(GRID_PX, MAX_SIDE_PX + 1, GRID_PX)
    shaped = [(width, height) for width in sides for height in sides if aspect_of(width, height) == aspect]
    return min(shaped, key=cost)


def aspect_of(width_px: int, height_px: int) -> str:
    """The aspect whose shape `width_px` x `height_px` has (within RATIO_TOLERANCE), else CUSTOM."""
    if width_px <= 0 or height_px <= 0:
        return CUSTOM
    for aspect in Aspect.values():
        if abs(math.log(width_px / height_px / ratio_of(aspect))) <= RATIO_TOLERANCE:
            return aspect
    return CUSTOM


SIDE_STEP_PX = 128
"""`side_of` rounds to this, so that going from one aspect to another and back lands on the size it left."""


def side_of(width_px: int, height_px: int) -> int:
    """The side of the square with about as many pixels (a multiple of SIDE_STEP_PX): what a size keeps when
    its aspect changes."""
    side = math.sqrt(max(width_px, 1) * max(height_px, 1))
    return max(SIDE_STEP_PX, SIDE_STEP_PX * round(side / SIDE_STEP_PX))


def reshaped(width_px: int, height_px: int, aspect: str) -> tuple[int, int]:
    """The size of `aspect` with about as many pixels as `width_px` x `height_px` (a draft stays a draft)."""
    return size_for(aspect, side_of(width_px, height_px))


def other_side(aspect: str, width_px: int | None = None, height_px: int | None = None) -> tuple[int, int]:
    """The full size of `aspect` with the one side given kept: the other is the nearest multiple of 64 that keeps
    the shape (the nearest multiple of 8 where 64 px steps are too coarse for it)."""
    ratio = ratio_of(aspect)
    if width_px is not None:
        wanted = width_px / ratio
    elif height_px is not None:
        wanted = height_px * ratio
    else:
        return FULL_SIZES[Aspect(aspect).value]
    side = _snapped(wanted, GRID_PX)
    size = (width_px, side) if width_px is not None else (side, height_px)
    if aspect_of(*size) != Aspect(aspect).value:  # type: ignore[arg-type]
        side = _snapped(wanted, 8)
        size = (width_px, side) if width_px is not None else (side, height_px)
    return size  # type: ignore[return-value]


def _snapped(value_px: float, step_px: int) -> int:
    return int(min(MAX_SIDE_PX, max(MIN_SIDE_PX, step_px * round(value_px / step_px))))


FULL_SIZES: dict[str, tuple[int, int]] = {aspect: size_for(aspect, FULL_SIDE_PX) for aspect in Aspect.values()}
"""Each aspect's full size: 16:9 704x384, 9:16 384x704, 1:1 512x512, 4:5 448x576."""
DRAFT_SIZES: dict[str, tuple[int, int]] = {aspect: size_for(aspect, DRAFT_SIDE_PX) for aspect in Aspect.values()}
"""Each aspect's draft size: 16:9 320x192, 9:16 192x320, 1:1 256x256, 4:5 256x320."""


__all__ = ["ASPECT_LABELS", "CUSTOM", "DRAFT_SIZES", "FULL_SIZES", "Aspect", "aspect_of", "other_side", "ratio_of",
           "reshaped", "side_of", "size_for"]
