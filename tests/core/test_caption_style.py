"""Caption styles: the caption drawn where, how big and in which colours the style says (pixel checks on
frames), the spoken word highlighted, lines cut by the style, and the style kept by settings and replay."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hear2see_desktop.core.caption_style import CaptionStyle, colour_hex
from hear2see_desktop.core.captions import burn_caption, burn_cue
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.fonts import bundled_font
from hear2see_desktop.core.settings import RenderSettings, from_logged_run
from hear2see_desktop.core.subtitles import Cue, CueWord, styled_cues, word_at
from hear2see_desktop.core.transcript import Word

GREEN = (0, 255, 0)


def grey(height_px: int, width_px: int, level: int = 128) -> np.ndarray:
    return np.full((height_px, width_px, 3), level, dtype=np.uint8)


def changed_rows(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.any(before != after, axis=(1, 2)))


def near(frame: np.ndarray, rgb: tuple[int, int, int], tolerance: int = 40) -> np.ndarray:
    """A mask of the pixels within `tolerance` of `rgb` on every channel."""
    return np.all(np.abs(frame.astype(int) - np.array(rgb)) <= tolerance, axis=2)


def spoken(text: str, word_s: float = 0.5) -> list[Word]:
    return [Word(token, index * word_s, (index + 0.8) * word_s, 1.0) for index, token in enumerate(text.split())]


@pytest.mark.parametrize("height_px,width_px", [(256, 256), (360, 640), (640, 360)])
@pytest.mark.parametrize("position,band", [("top", (0.0, 1 / 3)), ("middle", (1 / 3, 2 / 3)),
                                           ("bottom", (2 / 3, 1.0))])
def test_the_caption_sits_in_the_band_its_position_names(height_px: int, width_px: int, position: str,
                                                         band: tuple[float, float]) -> None:
    frame = grey(height_px, width_px)
    rows = changed_rows(frame, burn_caption(frame, "A red fox\nruns home", style=CaptionStyle(position=position)))
    assert rows.size > 0, "no caption was drawn"
    low, high = band
    assert low * height_px <= rows.min() and rows.max() < high * height_px, (
        f"the {position} caption covers rows {rows.min()}..{rows.max()} of {height_px}")
    if position == "middle":
        centre = (rows.min() + rows.max()) / 2
        assert abs(centre - height_px / 2) <= 0.03 * height_px, "the middle caption is not centred"


def test_a_top_caption_on_vertical_video_keeps_clear_of_the_apps_tabs() -> None:
    frame = grey(1024, 576)
    rows = changed_rows(frame, burn_caption(frame, "Top of the clip", style=CaptionStyle(position="top")))
    assert 0.11 * 1024 <= rows.min() < 0.2 * 1024


def test_the_text_and_outline_are_drawn_in_the_styles_colours() -> None:
    frame = grey(256, 256)
    burned = burn_caption(frame, "Hello world", style=CaptionStyle(colour="#FF2000", outline_colour="blue"))
    assert near(burned, (255, 32, 0)).sum() > 50, "no letter pixels in the text colour"
    assert near(burned, (0, 0, 255)).sum() > 50, "no outline pixels in the outline colour"
    assert near(burned, (255, 255, 255)).sum() == 0 and near(burned, (0, 0, 0)).sum() == 0, "the default colours"


def test_the_outline_width_thickens_or_removes_the_outline() -> None:
    frame = grey(256, 256)

    def outline_pixels(width: float) -> int:
        style = CaptionStyle(outline_colour="#0000FF", outline_width=width)
        return int(near(burn_caption(frame, "Hello world", style=style), (0, 0, 255)).sum())

    assert outline_pixels(0) == 0
    assert outline_pixels(3) > 1.5 * outline_pixels(1) > 0


def test_the_size_is_a_share_of_the_frames_shorter_side() -> None:
    frame = grey(360, 640)
    small = changed_rows(frame, burn_caption(frame, "Size", style=CaptionStyle(size_pct=4))).size
    large = changed_rows(frame, burn_caption(frame, "Size", style=CaptionStyle(size_pct=10))).size
    assert 2.0 < large / small < 3.0, (small, large)


def test_a_named_font_draws_other_letters_than_the_default() -> None:
    frame = grey(256, 256)
    default = burn_caption(frame, "Hello world")
    bundled = bundled_font()
    assert bundled is not None
    same = burn_caption(frame, "Hello world", style=CaptionStyle(font=str(bundled)))
    assert np.array_equal(default, same), "naming the bundled font draws what the default draws"
    named = burn_caption(frame, "Hello world", style=CaptionStyle(font="DejaVu Sans Condensed Bold"))
    assert np.array_equal(default, named), "the bundled font by its full name"
    import importlib.util

    # NanumGothic, from the koreanize-matplotlib test dependency: found, not imported (that loads matplotlib).
    spec = importlib.util.find_spec("koreanize_matplotlib")
    assert spec is not None and spec.submodule_search_locations, "pip install koreanize-matplotlib (test extra)"
    other = next((Path(next(iter(spec.submodule_search_locations))) / "fonts").glob("*.ttf"))
    assert not np.array_equal(default, burn_caption(frame, "Hello world", style=CaptionStyle(font=str(other))))


def word_columns(frame: np.ndarray, rgb: tuple[int, int, int]) -> np.ndarray:
    return np.flatnonzero(near(frame, rgb, tolerance=60).any(axis=0))


def test_the_word_being_spoken_is_drawn_in_the_highlight_colour() -> None:
    style = CaptionStyle(highlight="word", highlight_colour="#00FF00")
    words = spoken("one two three")
    [cue] = styled_cues(words, style)
    frame = grey(256, 512)
    centres = []
    for index, word in enumerate(words):
        burned = burn_cue(frame, cue, (word.start + word.end) / 2, style)
        columns = word_columns(burned, GREEN)
        assert columns.size > 0, f"'{word.word}' is not highlighted while it is spoken"
        text_columns = np.flatnonzero(np.any(burned != frame, axis=(0, 2)))
        # The highlighted word is the index-th third of the line, roughly.
        share = (columns.mean() - text_columns.min()) / (text_columns.max() - text_columns.min())
        assert index / 3 - 0.05 < share < (index + 1) / 3 + 0.05, (word.word, share)
        centres.append(columns.mean())
    assert centres == sorted(centres)
    # In the pause after a word it stays lit; only one word is lit at a time.
    after_first = burn_cue(frame, cue, words[0].end + 0.05, style)
    assert np.array_equal(word_columns(after_first, GREEN), word_columns(burn_cue(frame, cue, 0.2, style), GREEN))


def test_without_highlighting_no_word_takes_the_highlight_colour() -> None:
    style = CaptionStyle(highlight="none", highlight_colour="#00FF00")
    [cue] = styled_cues(spoken("one two three"), style)
    assert word_columns(burn_cue(grey(256, 512), cue, 0.6, style), GREEN).size == 0


def test_a_highlighted_word_cut_over_two_lines_is_lit_on_both() -> None:
    style = CaptionStyle(highlight="word", highlight_colour="#00FF00", size_pct=12)
    long_word = "Supercalifragilisticexpialidocious"
    cue = Cue(0.0, 2.0, f"a {long_word}", (CueWord("a", 0.0, 0.5), CueWord(long_word, 0.5, 2.0)))
    burned = burn_cue(grey(256, 256), cue, 1.0, style)
    lit_rows = np.flatnonzero(near(burned, GREEN, 60).any(axis=1))
    assert lit_rows.size and lit_rows.max() - lit_rows.min() > 0.12 * 256 * 1.2, "only one line of it is lit"


def test_word_at_is_the_last_word_begun() -> None:
    cue = Cue(0.0, 3.0, "a b c", (CueWord("a", 0.0, 0.5), CueWord("b", 1.0, 1.5), CueWord("c", 2.0, 2.5)))
    assert [word_at(cue, t) for t in (0.0, 0.7, 1.0, 1.9, 2.9)] == [0, 0, 1, 1, 2]
    assert word_at(Cue(1.0, 2.0, "x", (CueWord("x", 1.2, 1.5),)), 1.1) is None


def test_cues_follow_the_styles_characters_per_line_and_lines_per_cue() -> None:
    words = spoken("the quick brown fox jumps over the lazy dog and runs away into the woods")
    for max_chars, max_lines in ((12, 2), (20, 1), (42, 3)):
        cues = styled_cues(words, CaptionStyle(max_chars=max_chars, max_lines=max_lines))
        lines = [line for cue in cues for line in cue.text.split("\n")]
        assert all(len(line) <= max_chars for line in lines), (max_chars, lines)
        assert all(len(cue.text.split("\n")) <= max_lines for cue in cues)
        assert " ".join(" ".join(cue.text.split()) for cue in cues) == " ".join(w.word for w in words)
        assert [w.text for cue in cues for w in cue.words] == [w.word for w in words]


def test_fewer_characters_per_line_wrap_the_burned_caption_onto_more_lines() -> None:
    words = spoken("the quick brown fox jumps")
    frame = grey(256, 512)

    def drawn_rows(max_chars: int) -> int:
        style = CaptionStyle(max_chars=max_chars, max_lines=3)
        cue = styled_cues(words, style)[0]
        return changed_rows(frame, burn_cue(frame, cue, 0.1, style)).size

    one_line, three_lines = drawn_rows(42), drawn_rows(10)
    assert three_lines > 2.5 * one_line, (one_line, three_lines)


@pytest.mark.parametrize("changes,expected", [
    ({"colour": "blurple"}, "The caption colour 'blurple' is not a colour"),
    ({"outline_colour": "#12345"}, "The caption outline colour '#12345' is not a colour"),
    ({"highlight_colour": ""}, "The caption highlight colour '' is not a colour"),
    ({"position": "left"}, "Unknown caption position 'left': use one of bottom, middle, top."),
    ({"highlight": "line"}, "Unknown caption highlight 'line': use one of none, word."),
    ({"size_pct": 40}, "The caption size must be between 1 and 25 percent"),
    ({"outline_width": -1}, "The caption outline width must be between 0 (none) and 5"),
    ({"max_chars": 3}, "The caption's characters per line must be between 8 and 200"),
    ({"max_lines": 0}, "The caption's lines per cue must be between 1 and 6"),
    ({"font": "No Such Font Regular"}, "The caption font 'No Such Font Regular' is not installed"),
    ({"font": "/nowhere/font.ttf"}, "The caption font file /nowhere/font.ttf does not exist"),
])
def test_a_style_out_of_range_is_one_sentence(changes: dict[str, object], expected: str) -> None:
    settings = RenderSettings().with_caption_style(CaptionStyle(**changes))  # type: ignore[arg-type]
    with pytest.raises(BadInputError) as raised:
        settings.validate()
    assert str(raised.value).startswith(expected) and str(raised.value).count(". ") == 0


def test_colours_are_kept_as_hex() -> None:
    assert colour_hex("yellow") == "#FFFF00" and colour_hex("#0f0") == "#00FF00" and colour_hex("nope") == "nope"


def test_the_default_style_is_todays_captions() -> None:
    settings = RenderSettings()
    assert settings.caption_style() == CaptionStyle()
    frame = grey(256, 256)
    assert np.array_equal(burn_caption(frame, "Hello world"),
                          burn_caption(frame, "Hello world", font_scale=0.055, style=settings.caption_style()))


def test_the_style_survives_the_settings_file_and_a_logged_run() -> None:
    style = CaptionStyle(font="DejaVu Sans Condensed Bold", size_pct=8, colour="#FFEE00", outline_colour="#101010",
                         outline_width=2, position="top", max_chars=20, max_lines=1, highlight="word",
                         highlight_colour="#00FF00")
    settings = RenderSettings(captions=True).with_caption_style(style)
    data = settings.to_dict()
    assert data["caption_position"] == "top" and data["caption_highlight"] == "word"
    assert RenderSettings.from_dict(data).caption_style() == style
    assert from_logged_run(data).caption_style() == style
    old = {key: value for key, value in data.items() if not key.startswith("caption_") or key == "caption_layout"}
    assert from_logged_run(old).caption_style() == CaptionStyle(), "a run logged before styles replays unstyled"
