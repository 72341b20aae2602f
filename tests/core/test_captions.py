"""Burned-in captions: white text with a dark outline at the bottom, inside the frame, on a copy."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from hear2see_desktop.core.captions import burn_caption
from hear2see_desktop.core.errors import BadInputError


def grey_frame(height_px: int, width_px: int, level: int = 128) -> np.ndarray:
    return np.full((height_px, width_px, 3), level, dtype=np.uint8)


def changed_rows(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.any(before != after, axis=(1, 2)))


def changed_columns(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.any(before != after, axis=(0, 2)))


@pytest.mark.parametrize("size_px", [64, 512])
def test_the_caption_changes_only_the_bottom_of_the_frame(size_px: int) -> None:
    frame = grey_frame(size_px, size_px)
    burned = burn_caption(frame, "A red fox\nruns home")
    rows = changed_rows(frame, burned)
    assert rows.size > 0, "no caption was drawn"
    assert rows.min() >= size_px * 0.5, f"caption reaches up to row {rows.min()} of {size_px}"
    assert rows.max() < size_px, "caption touches the bottom edge"
    assert rows.max() <= size_px - 0.03 * size_px, "caption sits on the bottom edge with no margin"


@pytest.mark.parametrize("size_px", [64, 512])
def test_the_caption_is_centred(size_px: int) -> None:
    frame = grey_frame(size_px, size_px)
    columns = changed_columns(frame, burn_caption(frame, "Hi there"))
    left_gap, right_gap = columns.min(), size_px - 1 - columns.max()
    assert abs(int(left_gap) - int(right_gap)) <= max(2, size_px * 0.03)


@pytest.mark.parametrize("size_px", [64, 512])
def test_the_caption_has_white_letters_and_a_dark_outline(size_px: int) -> None:
    frame = grey_frame(size_px, size_px)
    burned = burn_caption(frame, "Hello world")
    area = burned[changed_rows(frame, burned)]
    white = np.all(area >= 230, axis=2)
    dark = np.all(area <= 40, axis=2)
    assert white.sum() > 0, "no near-white letter pixels"
    assert dark.sum() > 0, "no dark outline pixels"


@pytest.mark.parametrize("level", [0, 255])
def test_the_caption_reads_on_black_and_on_white_pictures(level: int) -> None:
    frame = grey_frame(256, 256, level)
    burned = burn_caption(frame, "Readable anywhere")
    contrast = np.all(burned >= 230, axis=2) if level == 0 else np.all(burned <= 40, axis=2)
    assert contrast.sum() > 20


def test_the_input_frame_is_left_untouched() -> None:
    frame = grey_frame(128, 128)
    original = frame.copy()
    burned = burn_caption(frame, "copy please")
    assert np.array_equal(frame, original)
    assert burned is not frame
    assert burned.shape == frame.shape and burned.dtype == np.uint8


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_text_returns_an_unchanged_copy(text: str) -> None:
    frame = np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    burned = burn_caption(frame, text)
    assert np.array_equal(burned, frame)
    assert burned is not frame
    burned[0, 0] = 7
    assert not np.shares_memory(burned, frame)


@pytest.mark.parametrize("height_px,width_px", [(64, 64), (512, 512), (360, 640), (640, 360)])
def test_very_long_text_stays_inside_the_frame(height_px: int, width_px: int) -> None:
    frame = grey_frame(height_px, width_px)
    text = "Supercalifragilisticexpialidocious" * 3 + " and then " + "many more words " * 80
    burned = burn_caption(frame, text)
    rows = changed_rows(frame, burned)
    columns = changed_columns(frame, burned)
    assert rows.size > 0
    # Nothing is drawn against any edge: the text was wrapped, shrunk or trimmed, never cut off by the border.
    assert rows.min() > 0 and rows.max() < height_px - 1
    assert columns.min() > 0 and columns.max() < width_px - 1


def test_a_long_line_is_rewrapped_to_fit_the_width() -> None:
    frame = grey_frame(512, 512)
    burned = burn_caption(frame, "this single line is far too long to fit across the frame at this size")
    columns = changed_columns(frame, burned)
    assert columns.min() >= 512 * 0.04 and columns.max() <= 512 * 0.96
    one_line = changed_rows(frame, burn_caption(frame, "short")).size
    assert changed_rows(frame, burned).size > 1.5 * one_line, "the long line was not broken into several"


def test_a_bigger_font_scale_draws_bigger_text() -> None:
    frame = grey_frame(512, 512)
    small = changed_rows(frame, burn_caption(frame, "Size", font_scale=0.04)).size
    large = changed_rows(frame, burn_caption(frame, "Size", font_scale=0.08)).size
    assert large > 1.5 * small


def test_a_frame_that_is_not_rgb_uint8_is_refused() -> None:
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        burn_caption(np.zeros((32, 32), dtype=np.uint8), "x")
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        burn_caption(np.zeros((32, 32, 3), dtype=np.float32), "x")


def test_an_unreadable_font_file_says_so(tmp_path: Path) -> None:
    bad_font = tmp_path / "broken.ttf"
    bad_font.write_bytes(b"not a font")
    with pytest.raises(BadInputError, match="could not be read"):
        burn_caption(grey_frame(64, 64), "x", font_path=bad_font)


def test_accented_letters_draw_with_the_bundled_font_not_as_boxes() -> None:
    from PIL import ImageFont

    from hear2see_desktop.core.captions import BUNDLED_FONT
    from hear2see_desktop.core.paths import resource_path

    bundled = resource_path("fonts", BUNDLED_FONT)
    frame = grey_frame(256, 256)
    assert np.array_equal(burn_caption(frame, "café"), burn_caption(frame, "café", font_path=bundled))
    font = ImageFont.truetype(str(bundled), 40)
    missing = np.asarray(font.getmask("\ue000"))  # a private-use code point: the font's "no glyph" box
    for letter in "éüñçø":
        assert not np.array_equal(np.asarray(font.getmask(letter)), missing), letter


def hangul_font_dir() -> Path:
    """The folder of a font with Hangul: NanumGothic from the koreanize-matplotlib test dependency."""
    import importlib.util

    spec = importlib.util.find_spec("koreanize_matplotlib")  # found, not imported (that would load matplotlib)
    assert spec is not None and spec.submodule_search_locations, "pip install koreanize-matplotlib (test extra)"
    return Path(next(iter(spec.submodule_search_locations))) / "fonts"


def test_korean_captions_use_an_installed_font_that_has_hangul(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    from PIL import ImageFont

    from hear2see_desktop.core import fonts

    text = "여우가 강을 건넌다"
    # No installed font has Hangul: the bundled font is kept (the letters show as its "no glyph" boxes).
    monkeypatch.setattr(fonts, "system_font_dirs", lambda: [tmp_path / "no-fonts"])
    fonts.forget_installed_fonts()
    assert fonts.font_for(text) == str(fonts.bundled_font())
    assert fonts.font_for("café") == str(fonts.bundled_font())

    monkeypatch.setattr(fonts, "system_font_dirs", lambda: [hangul_font_dir()])
    fonts.forget_installed_fonts()
    chosen = fonts.font_for(text)
    assert chosen is not None and Path(chosen).parent == hangul_font_dir()
    assert "bold" in Path(chosen).name.lower()  # bold faces first: captions are drawn bold
    assert fonts.font_for("café") == str(fonts.bundled_font())  # Latin stays in the bundled font

    frame = grey_frame(256, 256)
    drawn = burn_caption(frame, text)
    assert np.array_equal(drawn, burn_caption(frame, text, font_path=Path(chosen)))
    font = ImageFont.truetype(chosen, 40)
    missing = np.asarray(font.getmask("\ue000"))
    for letter in "여우강":
        assert not np.array_equal(np.asarray(font.getmask(letter)), missing), letter
    bundled = ImageFont.truetype(str(fonts.bundled_font()), 40)
    assert np.array_equal(np.asarray(bundled.getmask("여")), np.asarray(bundled.getmask("\ue000")))
    fonts.forget_installed_fonts()


def test_the_font_folders_env_var_comes_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from hear2see_desktop.core import fonts

    monkeypatch.setenv(fonts.FONT_DIRS_ENV, f"{tmp_path / 'a'}{os.pathsep}{tmp_path / 'b'}")
    assert fonts.system_font_dirs()[:2] == [tmp_path / "a", tmp_path / "b"]
    broken = tmp_path / "a" / "broken-bold.ttf"
    broken.parent.mkdir()
    broken.write_bytes(b"not a font")
    assert fonts.characters_of(str(broken)) == frozenset()


LONG_CUE = "A red fox runs through the\nsnowy forest at dawn, looking for"


@pytest.mark.parametrize(("height_px", "width_px"), [(512, 512), (384, 704), (64, 64), (256, 320)])
def test_landscape_and_square_captions_look_as_they_did_before_vertical_video(height_px: int, width_px: int) -> None:
    frame = grey_frame(height_px, width_px)
    assert np.array_equal(burn_caption(frame, LONG_CUE, layout=1), burn_caption(frame, LONG_CUE, layout=2))


def test_a_vertical_frames_caption_is_wrapped_inside_it_clear_of_the_apps_margins() -> None:
    height_px, width_px = 704, 384  # the 9:16 preset
    frame = grey_frame(height_px, width_px)
    burned = burn_caption(frame, LONG_CUE)
    rows, columns = changed_rows(frame, burned), changed_columns(frame, burned)
    assert rows.size > 0, "no caption was drawn"
    assert columns.min() >= 0.09 * width_px and columns.max() <= 0.91 * width_px, \
        f"caption spans columns {columns.min()}..{columns.max()} of {width_px}: into the side tenths"
    assert rows.max() <= 0.8 * height_px, "caption sits in the bottom fifth, under the apps' titles and buttons"
    assert rows.min() >= 0.3 * height_px, "caption climbs into the middle of the picture"
    lines = np.count_nonzero(np.diff(rows) > 1) + 1
    assert lines >= 2, "the cue was not wrapped onto lines that fit the narrow frame"


def test_a_vertical_frame_gets_letters_as_large_as_a_square_one_of_its_width() -> None:
    square = grey_frame(384, 384)
    vertical = grey_frame(704, 384)
    letters_square = changed_rows(square, burn_caption(square, "Hi"))
    letters_vertical = changed_rows(vertical, burn_caption(vertical, "Hi"))
    letters_before = changed_rows(vertical, burn_caption(vertical, "Hi", layout=1))
    assert letters_vertical.size == letters_square.size, "the font follows the shorter side"
    assert letters_before.size > 1.5 * letters_vertical.size, "layout 1 sized the font from the height"


def test_a_word_wider_than_a_narrow_frame_is_cut_rather_than_run_off() -> None:
    frame = grey_frame(320, 192)  # the 9:16 draft size
    burned = burn_caption(frame, "Supercalifragilisticexpialidocious")
    columns = changed_columns(frame, burned)
    assert columns.min() > 0 and columns.max() < 191
