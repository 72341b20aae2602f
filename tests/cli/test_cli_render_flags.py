"""`hear2see render`'s settings flags come from one table: every setting has its flag, and each flag lands."""

from __future__ import annotations

from dataclasses import fields

import pytest

from hear2see_desktop.cli import build_parser
from hear2see_desktop.cli.render_flags import flag_of, render_flags, settings_from_args
from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.settings import DEFAULT_FPS, LoraSpec, RenderSettings


def parse(*flags: str) -> RenderSettings:
    return settings_from_args(build_parser().parse_args(["render", "in.wav", "-o", "out.mp4", *flags]))


def test_every_render_setting_has_exactly_one_flag() -> None:
    table = [flag.field for flag in render_flags()]
    assert sorted(table) == sorted(f.name for f in fields(RenderSettings)), "a setting without a flag, or a stray row"
    assert len(set(table)) == len(table)
    assert flag_of("keyframe_interval_s") == "--keyframe-interval" and flag_of("negative_prompt") == "--negative"


def test_no_flags_give_the_settings_defaults_at_the_modes_frame_rate() -> None:
    assert parse() == RenderSettings(fps=DEFAULT_FPS["classic"])
    assert parse("--mode", "smooth") == RenderSettings(mode="smooth", fps=DEFAULT_FPS["smooth"])


def test_each_flag_lands_in_its_setting() -> None:
    settings = parse("--prompt", "  a red boat ", "--style", "none", "--negative", " blurry ", "--model", "m",
                     "--model-config", "cfg", "--lora", "a.safetensors:0.5", "--lora", "b.safetensors",
                     "--scheduler", "ddim", "--steps", "9", "--cfg", "3.5", "--frames", "4", "--fps", "10",
                     "--seed", "11", "--width", "256", "--height", "128", "--device", "cpu", "--mode", "fast",
                     "--reactivity", "0.25", "--keyframe-interval", "2", "--transition", "whole", "--min-scene", "1",
                     "--max-scene", "4", "--captions", "--decoder", "taesd")
    assert settings == RenderSettings(
        prompt="a red boat", negative_prompt="blurry", style="none", model="m", model_config="cfg",
        loras=[LoraSpec("a.safetensors", 0.5), LoraSpec("b.safetensors", 1.0)], scheduler="ddim", steps=9, cfg=3.5,
        frames=4, fps=10, seed=11, width=256, height=128, device="cpu", mode="fast", reactivity=0.25,
        keyframe_interval_s=2.0, transition_s=None, min_scene_s=1.0, max_scene_s=4.0, captions=True, decoder="taesd")


def test_an_unknown_style_is_one_sentence_naming_the_known_ones() -> None:
    with pytest.raises(BadInputError, match="Unknown style 'noir': use one of .*cinematic"):
        parse("--style", "noir")
