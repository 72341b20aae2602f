"""Animate mode's prompt travel: scenes become FreeNoise's frame-indexed prompt schedule, changing at the cuts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.motion.prompt_schedule import (
    ScheduledScene,
    paced_travel,
    prompt_schedule,
    scene_start_frame,
)

FOX = ScheduledScene(0.0, "a red fox in the snow", "blurry")
RIVER = ScheduledScene(1.25, "a frozen river at night", "blurry")


def first_frame_showing(keys: dict[int, str], text: str) -> int:
    return min(frame for frame, value in keys.items() if value == text)


def test_a_cut_changes_the_prompt_on_the_scene_start() -> None:
    schedule = prompt_schedule([FOX, RIVER], fps=8, frames=24, transition_s=0.0)
    start = scene_start_frame(1.25, 8, 24)
    assert start == 10 and schedule.scene_frames == [0, 10]
    assert schedule.prompts == {0: FOX.prompt, 9: FOX.prompt, 10: RIVER.prompt}
    assert first_frame_showing(schedule.prompts, RIVER.prompt) == start
    assert schedule.negatives == {0: "blurry"}, "an unchanged negative prompt has one key"


def test_a_transition_is_centred_on_the_scene_start() -> None:
    schedule = prompt_schedule([FOX, RIVER], fps=8, frames=24, transition_s=0.5)  # 4 frames
    assert schedule.prompts == {0: FOX.prompt, 8: FOX.prompt, 12: RIVER.prompt}
    hold, arrive = 8, 12
    assert (hold + arrive) / 2 == schedule.scene_frames[1]


def test_whole_travels_over_the_whole_previous_scene() -> None:
    schedule = prompt_schedule([FOX, RIVER], fps=8, frames=24, transition_s=None)
    assert schedule.prompts == {0: FOX.prompt, 10: RIVER.prompt}


def test_scenes_with_the_same_prompt_add_no_change() -> None:
    same = ScheduledScene(1.25, FOX.prompt, "blurry, dark")
    schedule = prompt_schedule([FOX, same], fps=8, frames=24, transition_s=0.0)
    assert schedule.prompts == {0: FOX.prompt}
    assert schedule.negatives == {0: "blurry", 9: "blurry", 10: "blurry, dark"}


def test_no_scene_is_refused() -> None:
    with pytest.raises(BadInputError):
        prompt_schedule([], fps=8, frames=24, transition_s=0.0)


@given(st.lists(st.floats(0.0, 30.0), min_size=1, max_size=8), st.integers(1, 200),
       st.one_of(st.none(), st.floats(0.0, 10.0)))
def test_every_schedule_is_one_freenoise_accepts(starts: list[float], frames: int,
                                                  transition_s: float | None) -> None:
    scenes = [ScheduledScene(start, f"scene {i}", "") for i, start in enumerate(sorted(starts))]
    schedule = prompt_schedule(scenes, fps=8, frames=frames, transition_s=transition_s)
    keys = schedule.prompts
    assert 0 in keys and all(0 <= frame < frames for frame in keys), "FreeNoise needs frame 0 and no frame past the end"
    assert keys[max(keys)] == scenes[-1].prompt, "the clip ends on the last scene"
    assert schedule.negatives == {0: ""}


def test_paced_travel_at_reactivity_0_is_freenoises_even_blend() -> None:
    import torch
    from diffusers.pipelines.free_noise_utils import AnimateDiffFreeNoiseMixin

    start, end = torch.randn(1, 77, 32), torch.randn(1, 77, 32)
    even = AnimateDiffFreeNoiseMixin._lerp(None, 3, 9, start, end)  # type: ignore[arg-type]
    paced = paced_travel(np.random.default_rng(0).random(24), 0.0)(3, 9, start, end)
    assert paced.shape == even.shape == (7, 77, 32)
    assert torch.allclose(paced, even, atol=1e-6)


def test_paced_travel_waits_through_a_pause_and_arrives_on_the_emphasis() -> None:
    import torch

    start, end = torch.zeros(1, 4, 2), torch.ones(1, 4, 2)
    envelope = np.zeros(20)
    envelope[14:] = 1.0  # silence over frames 0..13, then emphasis
    blend = paced_travel(envelope, 1.0)(4, 18, start, end)[:, 0, 0].numpy()
    assert blend[0] == 0.0 and blend[-1] == 1.0, "each key keeps its own prompt"
    assert np.all(np.diff(blend) >= 0), "the travel never goes back"
    assert blend[10] < 0.01 and blend[13] > 0.7, "still through the pause (frames 4-13), then on the loud ones"
    even = paced_travel(envelope, 0.0)(4, 18, start, end)[:, 0, 0].numpy()
    assert np.allclose(even, np.arange(15) / 14)
    with pytest.raises(BadInputError, match="past the 20 frames"):
        paced_travel(envelope, 1.0)(4, 21, start, end)


def test_paced_travel_holds_a_prompt_exactly() -> None:
    import torch

    held = torch.randn(1, 77, 32)
    blend = paced_travel(np.full(30, 0.3), 0.7)(0, 29, held, held.clone())
    assert blend.shape == (30, 77, 32) and bool((blend == held).all()), "no rounding where nothing travels"
