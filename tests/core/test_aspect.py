"""Aspect presets: sizes SD 1.5 renders well in each shape, named back from any size, kept when a size changes."""

from __future__ import annotations

import math

import pytest

from hear2see_desktop.core.aspect import (
    CUSTOM,
    DRAFT_SIZES,
    FULL_SIZES,
    Aspect,
    aspect_of,
    other_side,
    ratio_of,
    reshaped,
    size_for,
)
from hear2see_desktop.core.settings import RenderSettings


def test_the_preset_sizes_are_the_ones_the_readme_promises() -> None:
    assert FULL_SIZES == {"16:9": (704, 384), "9:16": (384, 704), "1:1": (512, 512), "4:5": (448, 576)}
    assert DRAFT_SIZES == {"16:9": (320, 192), "9:16": (192, 320), "1:1": (256, 256), "4:5": (256, 320)}


@pytest.mark.parametrize("aspect", Aspect.values())
@pytest.mark.parametrize(("sizes", "side_px"), [(FULL_SIZES, 512), (DRAFT_SIZES, 256)])
def test_each_preset_has_its_shape_on_the_64_px_grid_at_about_the_squares_pixel_count(
        aspect: str, sizes: dict[str, tuple[int, int]], side_px: int) -> None:
    width, height = sizes[aspect]
    assert width % 64 == 0 and height % 64 == 0, "the UNet's halvings of the latent would not divide evenly"
    assert aspect_of(width, height) == aspect
    assert abs(math.log(width / height / ratio_of(aspect))) <= 0.07
    assert abs(width * height / side_px**2 - 1) <= 0.25, f"{width}x{height} strays from {side_px}² pixels"
    RenderSettings(width=width, height=height).validate()


def test_vertical_and_portrait_presets_are_taller_than_wide() -> None:
    for aspect in ("9:16", "4:5"):
        width, height = FULL_SIZES[aspect]
        assert height > width


@pytest.mark.parametrize(("width", "height", "aspect"), [
    (768, 432, "16:9"), (1080, 1920, "9:16"), (1024, 1024, "1:1"), (1080, 1350, "4:5"), (640, 384, "16:9"),
    (600, 400, CUSTOM), (512, 768, CUSTOM), (64, 2048, CUSTOM), (0, 512, CUSTOM)])
def test_a_size_is_named_by_its_shape_or_custom(width: int, height: int, aspect: str) -> None:
    assert aspect_of(width, height) == aspect


@pytest.mark.parametrize("aspect", Aspect.values())
@pytest.mark.parametrize("side_px", [256, 384, 512, 768])
def test_changing_the_aspect_keeps_the_size_class_and_comes_back_to_the_same_size(aspect: str, side_px: int) -> None:
    size = size_for(aspect, side_px)
    for other in Aspect.values():
        assert reshaped(*reshaped(*size, other), aspect) == size
    assert reshaped(*DRAFT_SIZES["1:1"], aspect) == DRAFT_SIZES[aspect], "a draft stays a draft"
    assert reshaped(*FULL_SIZES["1:1"], aspect) == FULL_SIZES[aspect]


def test_one_side_given_the_other_follows_the_shape() -> None:
    assert other_side("9:16") == (384, 704)
    assert other_side("9:16", width_px=448) == (448, 768)
    assert other_side("9:16", width_px=192) == (192, 320)
    assert other_side("16:9", height_px=64) == (112, 64), "where 64 px steps lose the shape, 8 px steps keep it"
    for aspect in Aspect.values():
        for side in (120, 200, 512, 1000):
            assert aspect_of(*other_side(aspect, width_px=side)) == aspect
            assert aspect_of(*other_side(aspect, height_px=side)) == aspect
