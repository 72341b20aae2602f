"""Scene-following measures on hand-made embeddings whose right answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from hear2see_desktop.core.metrics.scene_following import (
    frame_scenes,
    keyframe_indices,
    keyframe_scenes,
    scene_following,
)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


PROMPTS = np.eye(3, 8)  # three scene prompts, orthogonal


def test_frames_belong_to_the_scene_started_by_their_time() -> None:
    assert frame_scenes([0.0, 1.0, 2.5], 8, fps=2) == [0, 0, 1, 1, 1, 2, 2, 2]
    assert frame_scenes([0.0], 3, fps=12) == [0, 0, 0]
    assert keyframe_indices([0.0, 0.5, 1.0, 9.0], fps=4, frame_count=6) == [0, 2, 4, 5]


def test_a_clip_that_shows_each_scene_follows_the_narration_fully() -> None:
    own = [0, 0, 0, 1, 1, 2]
    frames = _unit(PROMPTS[own] + 0.1)
    result = scene_following(frames, PROMPTS, own)
    assert result.accuracy == 1.0 and result.per_scene_accuracy == [1.0, 1.0, 1.0]
    assert result.prompt_fidelity == pytest.approx(float(frames[0] @ PROMPTS[0]))
    assert result.transition_keep is None and result.worst_transition is None  # no keyframes: no in-betweens


def test_frames_showing_the_previous_scene_count_against_following() -> None:
    own = [0, 0, 1, 1, 1, 1]
    shown = [0, 0, 0, 0, 1, 1]  # the cut comes two frames late
    result = scene_following(_unit(PROMPTS[shown] + 0.05), PROMPTS, own)
    assert result.accuracy == pytest.approx(4 / 6)
    assert result.per_scene_accuracy == [1.0, 0.5]


def test_a_double_exposure_between_keyframes_keeps_little_and_a_clean_cut_keeps_all() -> None:
    own = [0, 0, 0, 1, 1, 1]
    keyframes = [0, 5]
    cut = scene_following(PROMPTS[own], PROMPTS, own, keyframes)
    assert cut.transition_keep == pytest.approx(1.0) and cut.worst_transition == pytest.approx(1.0)
    blend = _unit(PROMPTS[0] + PROMPTS[1])
    double = np.stack([PROMPTS[0], blend, blend, blend, blend, PROMPTS[1]])
    exposed = scene_following(double, PROMPTS, own, keyframes)
    assert exposed.transition_keep == pytest.approx(1 / np.sqrt(2))
    assert exposed.worst_transition == pytest.approx(1 / np.sqrt(2))
    opposite = np.stack([PROMPTS[0], -PROMPTS[0], PROMPTS[0], PROMPTS[1], PROMPTS[1], PROMPTS[1]])
    lost = scene_following(opposite, PROMPTS, own, keyframes)
    assert lost.worst_transition == 0.0, "a frame unlike its prompt keeps nothing, not less"


def test_a_keyframe_on_the_frame_before_its_scene_starts_is_judged_as_that_scene() -> None:
    # scene 1 starts at 1.1 s; at 4 fps plan version 1 put its keyframe on frame 4 (4.4 rounds down), shown
    # from 1.0 s: before the scene starts, yet rendered for it. Judged as scene 0's picture, it would make
    # scene 0's in-betweens look better than the keyframes around them.
    assert keyframe_scenes([0.0, 1.1], [0, 4], fps=4, nearest_starts=True) == {0: 0, 4: 1}
    assert keyframe_scenes([0.0, 1.1], [0, 4], fps=4) == {0: 0, 4: 0}, "version 2 renders frame 4 for scene 0"
    assert frame_scenes([0.0, 1.1], 6, fps=4)[4] == 0
    own = [0, 0, 0, 0, 0, 1, 1]
    shown = [0, 0, 0, 0, 1, 1, 1]  # frame 4 is scene 1's keyframe
    frames = PROMPTS[shown]
    judged = scene_following(frames, PROMPTS, own, [0, 4, 6],
                             keyframe_scenes([0.0, 1.1], [0, 4, 6], fps=4, nearest_starts=True))
    assert judged.transition_keep == pytest.approx(1.0), "the in-betweens match the keyframes they sit between"


def test_inside_one_scene_the_reference_is_the_keyframes_blended_by_position() -> None:
    weak, strong = _unit(np.array([0.5, 1, 0, 0, 0, 0, 0, 0.0])), PROMPTS[0]
    between = _unit(0.5 * weak + 0.5 * strong)
    frames = np.stack([weak, between, strong])
    result = scene_following(frames, PROMPTS, [0, 0, 0], [0, 2])
    reference = 0.5 * float(weak @ PROMPTS[0]) + 0.5
    assert result.transition_keep == pytest.approx(float(between @ PROMPTS[0]) / reference)


def test_consecutive_similarity_is_one_for_a_still_and_lower_for_a_changing_clip() -> None:
    still = scene_following(np.stack([PROMPTS[0]] * 4), PROMPTS, [0] * 4)
    moving = scene_following(PROMPTS[[0, 1, 0, 1]], PROMPTS, [0, 1, 0, 1])
    assert still.consecutive_similarity == pytest.approx(1.0)
    assert moving.consecutive_similarity == pytest.approx(0.0)


@pytest.mark.parametrize(("own", "frames"), [([0, 1], np.eye(3, 8)), ([0, 3, 1], np.eye(3, 8)), ([], np.zeros((0, 8)))])
def test_mismatched_inputs_are_refused_with_a_sentence(own: list[int], frames: np.ndarray) -> None:
    with pytest.raises(ValueError, match="scene"):
        scene_following(frames, PROMPTS, own)
