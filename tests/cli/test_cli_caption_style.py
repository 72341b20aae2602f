"""`hear2see render --caption-*`: the caption style from the command line, and a bad value as one sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from hear2see_desktop.cli import build_parser
from hear2see_desktop.cli.render_flags import settings_from_args
from hear2see_desktop.core.caption_style import CaptionStyle
from tests.cli_helpers import one_sentence, run_cli


def parse(*flags: str) -> CaptionStyle:
    return settings_from_args(build_parser().parse_args(["render", "in.wav", "-o", "out.mp4", *flags])).caption_style()


def test_the_caption_flags_land_in_the_style(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert parse() == CaptionStyle(), "no flags: today's captions"
    monkeypatch.chdir(tmp_path)
    style = parse("--caption-font", "my.ttf", "--caption-size", "8", "--caption-colour", "yellow",
                  "--caption-outline", "#222", "--caption-outline-width", "2", "--caption-position", "top",
                  "--caption-max-chars", "20", "--caption-max-lines", "1", "--caption-highlight", "word",
                  "--caption-highlight-colour", "lime")
    assert style == CaptionStyle(font=str(tmp_path / "my.ttf"), size_pct=8.0, colour="#FFFF00",
                                 outline_colour="#222222", outline_width=2.0, position="top", max_chars=20,
                                 max_lines=1, highlight="word", highlight_colour="#00FF00")
    assert parse("--caption-font", " DejaVu Sans Bold ").font == "DejaVu Sans Bold"


def test_bad_caption_values_are_one_sentence_and_render_nothing(narration_wav: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.mp4"
    cases = [
        (["--caption-colour", "blurple"], "The caption colour 'blurple' is not a colour"),
        (["--caption-size", "60"], "The caption size must be between 1 and 25 percent"),
        (["--caption-max-lines", "9"], "lines per cue must be between 1 and 6"),
        (["--caption-font", "Nonexistent Sans Heavy"], "The caption font 'Nonexistent Sans Heavy' is not installed"),
        (["--caption-position", "left"], "invalid choice: 'left'"),
        (["--ass", str(tmp_path / "x.ssa")], "must end in .ass"),
    ]
    for flags, expected in cases:
        code, _, err = run_cli(["render", str(narration_wav), "-o", str(out), *flags], capsys)
        assert code == 2 and expected in one_sentence(err), (flags, err)
    assert not out.exists()
