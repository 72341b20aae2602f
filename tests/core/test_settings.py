"""RenderSettings: range checks with one sentence, and a lossless round trip through JSON."""

from __future__ import annotations

import json

import pytest

from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.settings import LoraSpec, RenderSettings, frame_seeds, from_logged_run


def test_defaults_are_valid() -> None:
    RenderSettings().validate()


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"steps": 0}, "Steps"),
        ({"fps": 0}, "FPS"),
        ({"width": 500}, "Width must be a multiple of 8"),
        ({"height": 30}, "Height"),
        ({"cfg": -1.0}, "CFG"),
        ({"frames": 0}, "Frames"),
        ({"seed": -5}, "Seed"),
        ({"scheduler": "plms"}, "Unknown scheduler"),
        ({"device": "tpu"}, "Unknown device"),
        ({"loras": [LoraSpec("a.safetensors", 9.0)]}, "LoRA weight"),
        ({"transition_s": -0.5}, "transition"),
        ({"transition_s": 11.0}, "transition"),
    ],
)
def test_out_of_range_settings_are_refused_with_one_sentence(change: dict, words: str) -> None:
    settings = RenderSettings(**change)
    with pytest.raises(BadInputError) as caught:
        settings.validate()
    message = str(caught.value)
    assert words in message
    assert message.endswith(".") and "\n" not in message


def test_round_trip_through_json_keeps_every_field() -> None:
    settings = RenderSettings(prompt="a red fox", loras=[LoraSpec("/x/style.safetensors", 0.7)], frames=4, seed=9)
    again = RenderSettings.from_dict(json.loads(json.dumps(settings.to_dict())))
    assert again == settings


def test_runs_logged_before_transitions_had_a_length_replay_as_they_were_rendered() -> None:
    old = RenderSettings(mode="smooth").to_dict()
    del old["transition_s"]
    assert from_logged_run(old).transition_s is None, "None: transitions over the whole time between keyframes"
    assert from_logged_run(old) == RenderSettings(mode="smooth", transition_s=None)
    assert RenderSettings.from_dict(old).transition_s == 0.5, "saved preferences and projects take today's default"
    new = RenderSettings(mode="smooth", transition_s=0.0).to_dict()
    assert from_logged_run(new).transition_s == 0.0
    RenderSettings(transition_s=None).validate()


def test_scenes_cut_by_default_and_runs_logged_before_cuts_replay_their_dissolves() -> None:
    assert RenderSettings().scene_change == "cut"
    old = RenderSettings(mode="smooth").to_dict()
    del old["scene_change"]
    assert from_logged_run(old).scene_change == "dissolve"
    assert RenderSettings.from_dict(old).scene_change == "cut", "saved preferences and projects take today's default"
    with pytest.raises(BadInputError, match="scene change 'fade'"):
        RenderSettings(scene_change="fade").validate()


def test_runs_logged_before_scenes_started_on_their_first_frame_replay_the_nearest_frame() -> None:
    assert RenderSettings().plan_version == 2
    old = RenderSettings(mode="smooth").to_dict()
    del old["plan_version"]
    assert from_logged_run(old).plan_version == 1, "the replay puts scene starts where they were rendered"
    assert RenderSettings.from_dict(old).plan_version == 2, "saved preferences and projects take today's plan"
    with pytest.raises(BadInputError, match="Unknown plan version 3"):
        RenderSettings(plan_version=3).validate()


def test_unknown_keys_from_newer_versions_are_ignored() -> None:
    data = RenderSettings().to_dict() | {"future_option": 3}
    assert RenderSettings.from_dict(data) == RenderSettings()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("style.safetensors", LoraSpec("style.safetensors", 1.0)),
        ("style.safetensors:0.6", LoraSpec("style.safetensors", 0.6)),
        ("C:\\loras\\style.safetensors", LoraSpec("C:\\loras\\style.safetensors", 1.0)),
        ("C:\\loras\\style.safetensors:0.5", LoraSpec("C:\\loras\\style.safetensors", 0.5)),
    ],
)
def test_lora_flag_parsing(text: str, expected: LoraSpec) -> None:
    assert LoraSpec.parse(text) == expected


def test_classic_seed_schedule_is_seed_plus_i() -> None:
    assert frame_seeds(RenderSettings(seed=41), 3) == [41, 42, 43]
    assert frame_seeds(RenderSettings(seed=2**32 - 1), 2) == [2**32 - 1, 0]


def test_fixed_choices_are_str_enums_that_serialise_and_key_as_their_text() -> None:
    from hear2see_desktop.core.choices import Decoder, Device, Mode, Scheduler
    from hear2see_desktop.core.render.frame_cache import cache_key

    settings = RenderSettings(mode="smooth", decoder="taesd", scheduler="ddim", device="cpu")
    assert (settings.mode, settings.decoder, settings.scheduler, settings.device) == (
        Mode.SMOOTH, Decoder.TAESD, Scheduler.DDIM, Device.CPU)
    assert settings.mode is Mode.SMOOTH and settings.mode == "smooth" and f"{settings.mode}" == "smooth"
    data = settings.to_dict()
    assert type(data["mode"]) is str and json.dumps(data) == json.dumps({**data, "mode": "smooth"})
    assert cache_key(Mode.SMOOTH, {"decoder": Decoder.TAESD}) == cache_key("smooth", {"decoder": "taesd"})
    assert RenderSettings.from_dict(data) == settings
    assert {"smooth": 1}[settings.mode] == 1  # hashes as its text


def test_an_unknown_choice_is_kept_for_validate_to_name() -> None:
    settings = RenderSettings(mode="dreamy")
    assert settings.mode == "dreamy"
    with pytest.raises(BadInputError, match="Unknown mode 'dreamy': use one of classic, smooth, fast."):
        settings.validate()


def test_runs_logged_before_vertical_video_keep_their_caption_layout() -> None:
    assert RenderSettings().caption_layout == 2
    old = RenderSettings(width=384, height=704, captions=True).to_dict()
    del old["caption_layout"]
    assert from_logged_run(old).caption_layout == 1, "the replay draws the captions as they were drawn"
    assert RenderSettings.from_dict(old).caption_layout == 2, "a project or preference takes today's layout"
    with pytest.raises(BadInputError, match="Unknown caption layout 3"):
        RenderSettings(caption_layout=3).validate()
