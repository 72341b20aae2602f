"""Motion between keyframes: slerped noise, the frame plan, audio-reactive pacing and flow in-betweens."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.ndimage import gaussian_filter

from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.frame_timing import frame_count
from hear2see_desktop.core.motion import flow_interp
from hear2see_desktop.core.motion.flow_interp import interpolate_pair, zoom_pulse
from hear2see_desktop.core.motion.plan import FramePlan, plan_frames
from hear2see_desktop.core.motion.reactive import audio_envelope, pulses, reactive_positions
from hear2see_desktop.core.motion.slerp import lerp, slerp

SR_HZ = 16000


def _noise(seed: int, shape: tuple[int, ...] = (4, 64, 64)) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# --- slerp / lerp -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("interp", [slerp, lerp])
def test_endpoints_are_exact_for_numpy(interp) -> None:
    a, b = _noise(0), _noise(1)
    start, end = interp(a, b, 0.0), interp(a, b, 1.0)
    assert np.array_equal(start, a) and np.array_equal(end, b)
    assert start is not a and end is not b, "endpoints must be copies, so editing them cannot change the keyframe"
    assert interp(a, b, 0.37).dtype == np.float32


@pytest.mark.parametrize("interp", [slerp, lerp])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_endpoints_are_exact_for_torch(interp, dtype: torch.dtype) -> None:
    a, b = torch.from_numpy(_noise(0)).to(dtype), torch.from_numpy(_noise(1)).to(dtype)
    assert torch.equal(interp(a, b, 0.0), a) and torch.equal(interp(a, b, 1.0), b)
    middle = interp(a, b, 0.5)
    assert isinstance(middle, torch.Tensor) and middle.dtype == dtype and middle.shape == a.shape


def test_slerp_keeps_unit_variance_where_lerp_halves_it() -> None:
    a, b = _noise(10), _noise(11)
    assert 0.9 < float(slerp(a, b, 0.5).var()) < 1.1
    assert 0.4 < float(lerp(a, b, 0.5).var()) < 0.6
    for t in (0.1, 0.25, 0.75, 0.9):
        assert 0.9 < float(slerp(a, b, t).var()) < 1.1


def test_slerp_torch_matches_numpy() -> None:
    a, b = _noise(2), _noise(3)
    expected = slerp(a, b, 0.3)
    got = slerp(torch.from_numpy(a), torch.from_numpy(b), 0.3).numpy()
    assert np.allclose(got, expected, atol=1e-5)


def test_slerp_interpolates_the_norm_linearly() -> None:
    a = np.array([1.0, 0.0, 0.0])
    b = np.array([0.0, 3.0, 0.0])
    for t in (0.25, 0.5, 0.75):
        out = slerp(a, b, t)
        assert np.linalg.norm(out) == pytest.approx(1.0 + 2.0 * t)
        angle = math.atan2(out[1], out[0])
        assert angle == pytest.approx(t * math.pi / 2)


def test_slerp_of_parallel_vectors_falls_back_to_lerp() -> None:
    a = _noise(4)
    for b in (2.0 * a, a.copy(), -a, np.zeros_like(a)):
        out = slerp(a, b, 0.4)
        assert np.all(np.isfinite(out))
        assert np.allclose(out, lerp(a, b, 0.4), atol=1e-6)


def test_slerp_rejects_mismatched_inputs() -> None:
    with pytest.raises(ValueError):
        slerp(_noise(0), _noise(1, (4, 32, 32)), 0.5)
    with pytest.raises(TypeError):
        slerp(_noise(0), torch.from_numpy(_noise(1)), 0.5)
    with pytest.raises(ValueError):
        slerp(_noise(0), _noise(1), 1.5)


# --- reactive pacing --------------------------------------------------------------------------------------


def test_reactivity_zero_is_exactly_linear() -> None:
    weights = np.random.default_rng(0).random(17)
    assert np.array_equal(reactive_positions(weights, 0.0), np.arange(17) / 17)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=80),
    st.floats(0.0, 1.0),
)
def test_reactive_positions_start_at_zero_and_never_go_back(weights: list[float], reactivity: float) -> None:
    t = reactive_positions(np.array(weights), reactivity)
    assert t.shape == (len(weights),)
    assert t[0] == 0.0
    assert np.all(np.diff(t) >= 0.0)
    assert np.all(t < 1.0)


def test_reactive_positions_move_faster_on_an_onset() -> None:
    weights = np.full(12, 0.1)
    weights[5] = 1.0
    steps = np.diff(np.append(reactive_positions(weights, 0.8), 1.0))
    assert steps[5] > 3 * max(np.delete(steps, 5))


def test_silent_segment_still_advances_linearly() -> None:
    t = reactive_positions(np.zeros(8), 1.0)
    assert np.allclose(t, np.arange(8) / 8)


def test_reactivity_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(BadInputError, match="between 0 and 1"):
        reactive_positions(np.ones(3), 1.5)


def _click_track(click_times_s: list[float], seconds: float) -> np.ndarray:
    """Silence with short decaying noise bursts (5 ms) at the given times."""
    rng = np.random.default_rng(0)
    samples = np.zeros(int(seconds * SR_HZ), dtype=np.float32)
    burst = (rng.standard_normal(80) * np.exp(-np.arange(80) / 20.0) * 0.5).astype(np.float32)
    for t in click_times_s:
        start = int(round(t * SR_HZ))
        samples[start : start + burst.size] += burst
    return samples


def test_audio_envelope_peaks_at_clicks_and_is_zero_in_silence() -> None:
    fps, seconds = 24.0, 4.0
    clicks = [0.5, 1.5, 2.25, 3.4]
    n = frame_count(seconds, fps)
    env = audio_envelope(_click_track(clicks, seconds), SR_HZ, fps, n)
    assert env.shape == (n,) and env.min() >= 0.0 and env.max() <= 1.0
    click_frames = [int(t * fps) for t in clicks]
    for frame in click_frames:
        assert env[frame] == pytest.approx(env[max(0, frame - 2) : frame + 3].max()), "each click is a local peak"
        assert env[frame] > 0.7
    far = [i for i in range(n) if min(abs(i - f) for f in click_frames) > 3]
    assert np.all(env[far] < 0.05), "silence between the clicks must read as a pause"


def test_audio_envelope_of_silence_is_zeros() -> None:
    env = audio_envelope(np.zeros(2 * SR_HZ, dtype=np.float32), SR_HZ, 12.0, 24)
    assert np.array_equal(env, np.zeros(24))


def test_audio_envelope_has_one_value_per_frame_even_past_the_audio() -> None:
    env = audio_envelope(_click_track([0.2], 1.0), SR_HZ, 30.0, 45)
    assert env.shape == (45,)
    assert np.all(env[35:] == 0.0)


def test_pulses_fire_on_strong_onsets_only() -> None:
    env = np.array([0.0, 0.2, 0.9, 0.3, 0.1, 0.5, 0.2, 0.0, 0.7, 0.7, 0.1])
    out = pulses(env, threshold=0.6, decay_frames=3)
    assert out[2] == 1.0 and out[3] == pytest.approx(2 / 3) and out[4] == pytest.approx(1 / 3)
    assert out[5] == 0.0, "a peak below the threshold does not pulse"
    assert out[8] == 1.0 and out[9] == pytest.approx(2 / 3), "a plateau pulses once, on its first frame"
    assert np.array_equal(pulses(np.full(10, 0.3)), np.zeros(10))
    assert np.array_equal(pulses(np.zeros(5)), np.zeros(5))


# --- frame plan -------------------------------------------------------------------------------------------


def _check_plan(plan: FramePlan, duration_s: float, fps: float) -> None:
    """What any plan must satisfy: every frame once, at i / fps, between the right keyframes."""
    n = frame_count(duration_s, fps)
    assert len(plan.frames) == n
    assert [f.frame for f in plan.frames] == list(range(n))
    assert plan.frames[-1].time_s == pytest.approx((n - 1) / fps)
    frames = [k.frame for k in plan.keyframes]
    assert frames[0] == 0
    assert all(x < y for x, y in zip(frames, frames[1:], strict=False)), "keyframes strictly increasing"
    assert [k.index for k in plan.keyframes] == list(range(len(plan.keyframes)))
    for k in plan.keyframes:
        f = plan.frames[k.frame]
        assert f.a == k.index and f.t == 0.0
        assert k.time_s == pytest.approx(k.frame / fps)
    for a in range(len(plan.keyframes) - 1):
        segment = plan.segment(a)
        assert [f.frame for f in segment] == list(range(frames[a], frames[a + 1]))
        ts = [f.t for f in segment]
        assert all(f.a == a and f.b == a + 1 for f in segment)
        assert all(x <= y for x, y in zip(ts, ts[1:], strict=False)) and all(0.0 <= t < 1.0 for t in ts)
    tail = plan.segment(len(plan.keyframes) - 1)
    assert [f.frame for f in tail] == list(range(frames[-1], n)), "frames after the last keyframe hold it"
    assert all(f.a == f.b == len(plan.keyframes) - 1 and f.t == 0.0 for f in tail)
    assert all(f.a < f.b for f in plan.frames[: frames[-1]])
    assert all(0.0 <= f.pulse <= 1.0 for f in plan.frames)


def test_plan_covers_the_narration_exactly() -> None:
    plan = plan_frames([(0.0, 4.0), (4.0, 10.0)], duration_s=10.0, fps=24.0)
    assert plan.keyframes[-1].frame == 239, "without a transition length the last frame is a keyframe"
    assert len(plan.frames) == 240
    assert plan.frames[-1].time_s == pytest.approx(239 / 24)
    _check_plan(plan, 10.0, 24.0)


def test_keyframes_at_scene_starts_and_inside_long_scenes() -> None:
    plan = plan_frames([(0.0, 2.0), (2.0, 9.5), (9.5, 10.0)], duration_s=10.0, fps=12.0, keyframe_interval_s=3.0)
    frames = [k.frame for k in plan.keyframes]
    scenes = [k.scene for k in plan.keyframes]
    # scene 1 runs frames 24..114 (90 frames = 7.5 s): three parts of 30 frames
    assert frames == [0, 24, 54, 84, 114, 119]
    assert scenes == [0, 1, 1, 1, 2, 2]
    assert all(f.t == 0.0 for f in plan.frames if f.frame in frames)


def test_pictures_hold_then_dissolve_centred_on_each_cut() -> None:
    # 12 fps: scene 1 starts at frame 24, scene 2 at 60; 0.5 s transitions are 6 frames, centred on the cut
    plan = plan_frames([(0.0, 2.0), (2.0, 5.0), (5.0, 8.0)], duration_s=8.0, fps=12.0, keyframe_interval_s=3.0,
                       transition_s=0.5)
    _check_plan(plan, 8.0, 12.0)
    assert [(k.frame, k.scene) for k in plan.keyframes] == [(0, 0), (27, 1), (63, 2)], "3 frames after the cut"
    ts = [f.t for f in plan.frames]
    assert ts[:22] == [0.0] * 22, "scene 0 holds its keyframe"
    assert ts[21:27] == pytest.approx([i / 6 for i in range(6)]), "then dissolves over the 6 frames around the cut"
    assert all(t < 0.5 for t in ts[21:24]) and all(t >= 0.5 for t in ts[24:27]), "mostly the scene narrated"
    assert all(f.a == 0 and f.b == 1 for f in plan.frames[:27])
    assert ts[27:58] == [0.0] * 31 and ts[58:63] == pytest.approx([i / 6 for i in range(1, 6)])
    assert ts[63:] == [0.0] * 33 and all(f.a == f.b == 2 for f in plan.frames[63:]), "the last scene holds"


def test_scenes_cut_on_their_first_frame_and_dissolve_only_inside_a_scene() -> None:
    # 12 fps: scene 1 starts at frame 24 and lasts 6 s, so a keyframe splits it at frame 60
    plan = plan_frames([(0.0, 2.0), (2.0, 8.0)], duration_s=8.0, fps=12.0, keyframe_interval_s=3.0,
                       transition_s=0.5, cut_scenes=True)
    _check_plan(plan, 8.0, 12.0)
    assert [(k.frame, k.scene) for k in plan.keyframes] == [(0, 0), (24, 1), (60, 1)], "on the cut itself"
    ts = [f.t for f in plan.frames]
    assert ts[:24] == [0.0] * 24 and all(f.a == 0 for f in plan.frames[:24]), "scene 0 holds up to the cut"
    assert ts[24:54] == [0.0] * 30
    assert ts[54:60] == pytest.approx([i / 6 for i in range(6)]), "the dissolve inside scene 1"
    assert ts[60:] == [0.0] * 36
    whole = plan_frames([(0.0, 2.0), (2.0, 8.0)], duration_s=8.0, fps=12.0, transition_s=None, cut_scenes=True)
    assert whole == plan_frames([(0.0, 2.0), (2.0, 8.0)], duration_s=8.0, fps=12.0, transition_s=None), \
        "a whole-segment morph has no cut to keep"


def test_a_scene_shorter_than_half_a_transition_keeps_its_keyframe_inside_it() -> None:
    plan = plan_frames([(0.0, 1.0), (1.0, 1.1), (1.1, 3.0)], duration_s=3.0, fps=12.0, transition_s=1.0)
    # scene 1 has frames 12 and 13 (1.1 s is frame 13.2): its keyframe is half a transition in, at most its last
    assert [(k.frame, k.scene) for k in plan.keyframes] == [(0, 0), (13, 1), (20, 2)]


def test_a_cut_has_no_in_betweens_and_short_segments_dissolve_throughout() -> None:
    cut = plan_frames([(0.0, 1.0), (1.0, 2.0)], duration_s=2.0, fps=12.0, transition_s=0.0)
    assert all(f.t == 0.0 for f in cut.frames)
    assert [f.a for f in cut.frames] == [0] * 12 + [1] * 12
    short = plan_frames([(0.0, 0.25), (0.25, 2.0)], duration_s=2.0, fps=12.0, transition_s=1.0)
    assert short.keyframes[1].frame == 9, "6 frames after the cut"
    assert [f.t for f in short.segment(0)] == pytest.approx([i / 9 for i in range(9)]), "a 9-frame segment"


def test_a_transition_moves_on_its_own_frames_audio() -> None:
    env = np.full(36, 0.05)
    env[24] = 1.0
    plan = plan_frames([(0.0, 2.0), (2.0, 3.0)], 3.0, 12.0, envelope=env, reactivity=0.8, transition_s=0.5)
    ts = np.array([f.t for f in plan.segment(0)])  # frames 0..26: frame 21 is the last held, 22..26 move
    assert np.all(ts[:22] == 0.0) and np.all(ts[22:] > 0.0)
    assert int(np.argmax(np.diff(ts))) == 23, "the dissolve jumps into frame 24, where the onset is heard"


def test_a_negative_transition_is_refused() -> None:
    with pytest.raises(BadInputError, match="transition"):
        plan_frames([(0.0, 2.0)], 2.0, 12.0, transition_s=-0.5)


def test_each_scene_starts_on_the_frame_classic_shows_it_from() -> None:
    from hear2see_desktop.core.metrics.scene_following import frame_scenes

    spans = [(0.0, 1.04), (1.04, 2.3), (2.3, 4.0)]  # at 12 fps: frames 12.48 and 27.6
    shown = frame_scenes([start for start, _ in spans], frame_count(4.0, 12.0), 12.0)
    plan = plan_frames(spans, 4.0, 12.0, transition_s=0.5, cut_scenes=True)
    assert [(k.frame, k.scene) for k in plan.keyframes] == [(0, 0), (13, 1), (28, 2)]
    assert [plan.keyframes[f.a].scene for f in plan.frames] == shown, "every frame shows the scene being narrated"
    old = plan_frames(spans, 4.0, 12.0, transition_s=0.5, cut_scenes=True, nearest_scene_starts=True)
    assert [(k.frame, k.scene) for k in old.keyframes] == [(0, 0), (12, 1), (28, 2)], \
        "plan version 1 rounded 12.48 down: scene 1 half a frame early"


def test_a_run_logged_before_plan_version_2_replays_its_plan() -> None:
    from hear2see_desktop.core.render_work import sequence_plan
    from hear2see_desktop.core.settings import RenderSettings, from_logged_run

    spans = [(0.0, 1.04), (1.04, 4.0)]
    logged = RenderSettings(mode="smooth", fps=12, reactivity=0.0).to_dict()
    del logged["plan_version"]
    replayed = sequence_plan(from_logged_run(logged), 4.0, spans, None)
    assert replayed.keyframes[1].frame == 12
    today = sequence_plan(RenderSettings(mode="smooth", fps=12, reactivity=0.0), 4.0, spans, None)
    assert today.keyframes[1].frame == 13


def test_scenes_on_one_frame_keep_the_later_one() -> None:
    plan = plan_frames([(0.0, 0.95), (0.95, 1.0), (1.0, 2.0)], duration_s=2.0, fps=12.0)  # both start on frame 12
    assert [(k.frame, k.scene) for k in plan.keyframes] == [(0, 0), (12, 2), (23, 2)]


def test_linear_plan_without_envelope_has_no_pulse() -> None:
    plan = plan_frames([(0.0, 2.0)], duration_s=2.0, fps=10.0, keyframe_interval_s=5.0)
    assert [f.t for f in plan.segment(0)] == [i / 19 for i in range(19)]
    assert all(f.pulse == 0.0 for f in plan.frames)


def test_plan_with_envelope_moves_on_the_onset_frame_and_pulses() -> None:
    fps, duration_s = 12.0, 2.0
    env = np.full(24, 0.05)
    env[9] = 1.0
    plan = plan_frames([(0.0, 2.0)], duration_s, fps, keyframe_interval_s=5.0, envelope=env, reactivity=0.5)
    _check_plan(plan, duration_s, fps)
    ts = np.array([f.t for f in plan.segment(0)])
    steps = np.diff(ts)  # steps[i] is the change from frame i to frame i + 1
    assert int(np.argmax(steps)) == 8, "the picture must jump into frame 9, where the onset is heard"
    assert plan.frames[9].pulse == pytest.approx(0.5)
    assert plan.frames[5].pulse == 0.0
    calm = plan_frames([(0.0, 2.0)], duration_s, fps, keyframe_interval_s=5.0, envelope=env, reactivity=0.0)
    assert [f.t for f in calm.segment(0)] == [i / 23 for i in range(23)]
    assert all(f.pulse == 0.0 for f in calm.frames)


def test_single_frame_plan() -> None:
    plan = plan_frames([(0.0, 0.01)], duration_s=0.01, fps=12.0)
    assert len(plan.frames) == 1 and len(plan.keyframes) == 1
    assert plan.frames[0].a == plan.frames[0].b == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fps": 0.0}, "frame rate"),
        ({"fps": 121.0}, "frame rate"),
        ({"duration_s": 0.0}, "longer than 0"),
        ({"scene_spans": []}, "no scenes"),
        ({"scene_spans": [(1.0, 2.0), (0.5, 3.0)]}, "time order"),
        ({"scene_spans": [(2.0, 1.0)]}, "invalid time span"),
        ({"keyframe_interval_s": 0.0}, "keyframe interval"),
        ({"reactivity": -0.1, "envelope": np.zeros(30)}, "between 0 and 1"),
        ({"envelope": np.zeros(29), "reactivity": 0.5}, "envelope has 29"),
    ],
)
def test_plan_refuses_bad_input(kwargs: dict, message: str) -> None:
    args = {"scene_spans": [(0.0, 2.5)], "duration_s": 2.5, "fps": 12.0} | kwargs
    with pytest.raises(BadInputError, match=message):
        plan_frames(**args)


@st.composite
def _plan_inputs(draw: st.DrawFn) -> tuple[list[tuple[float, float]], float, float, float, np.ndarray | None, float,
                                            float | None]:
    duration_s = draw(st.floats(0.02, 40.0))
    fps = draw(st.sampled_from([12.0, 23.976, 24.0, 25.0, 29.97, 30.0, 60.0, 120.0]) | st.floats(0.5, 120.0))
    cuts = sorted(draw(st.lists(st.floats(0.0, duration_s * 1.1), max_size=8)))
    starts = [0.0, *cuts]
    spans = [(s, max(s, e)) for s, e in zip(starts, [*starts[1:], duration_s], strict=True)]
    interval_s = draw(st.floats(0.05, 10.0))
    n = frame_count(duration_s, fps)
    envelope = draw(st.none() | st.just(np.random.default_rng(n).random(n)))
    reactivity = draw(st.floats(0.0, 1.0))
    transition_s = draw(st.none() | st.floats(0.0, 12.0))
    return spans, duration_s, fps, interval_s, envelope, reactivity, transition_s


@settings(max_examples=80, deadline=None)
@given(_plan_inputs())
def test_any_plan_covers_the_narration_with_ordered_keyframes(inputs: tuple) -> None:
    spans, duration_s, fps, interval_s, envelope, reactivity, transition_s = inputs
    plan = plan_frames(spans, duration_s, fps, keyframe_interval_s=interval_s, envelope=envelope, reactivity=reactivity,
                       transition_s=transition_s)
    _check_plan(plan, duration_s, fps)
    if transition_s is None:
        assert plan.keyframes[-1].frame == len(plan.frames) - 1
    else:
        longest = math.floor(transition_s * fps + 0.5)
        for a in range(len(plan.keyframes) - 1):
            moving = [f for f in plan.segment(a) if f.t > 0.0]
            assert len(moving) < max(1, longest), "only the transition before the next keyframe moves"
            assert not moving or moving[-1].frame == plan.keyframes[a + 1].frame - 1
    n = len(plan.frames)
    keyframe_frames = {k.frame for k in plan.keyframes}
    starts: dict[int, int] = {}  # start frame -> the scene shown from it (a later scene on one frame wins)
    for scene, (start_s, _) in enumerate(spans):  # its first frame at or after its start, as classic shows it
        first = next((i for i in range(n) if i / fps + 1e-9 >= start_s), n - 1)
        starts[0 if scene == 0 else first] = scene
    lead = 0 if not transition_s else math.floor(transition_s * fps + 0.5) // 2
    for frame, scene in starts.items():
        own = [k.frame for k in plan.keyframes if k.scene == scene]
        assert own and frame <= own[0] <= frame + (lead if frame else 0), (
            "each scene's keyframe is on its start, or half a transition after it (a dissolve centred on the cut)")
    assert plan.keyframes[-1].scene == len(spans) - 1
    gaps = np.diff(sorted(keyframe_frames))
    if gaps.size:
        assert gaps.max() <= interval_s * fps + 1, "long scenes get keyframes at least every interval"


# --- flow in-betweens -------------------------------------------------------------------------------------


def _texture_rgb(height_px: int, width_px: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    channels = [gaussian_filter(rng.random((height_px, width_px)), 3.0) for _ in range(3)]
    rgb = np.stack([(c - c.min()) / (c.max() - c.min()) for c in channels], axis=2)
    return (rgb * 255).astype(np.uint8)


def test_interpolate_pair_endpoints_are_exact() -> None:
    first, second = _texture_rgb(64, 80, 1), _texture_rgb(64, 80, 2)
    start, end = interpolate_pair(first, second, [0.0, 1.0])
    assert np.array_equal(start, first) and np.array_equal(end, second)
    assert start is not first


def test_flow_in_between_of_a_shift_lands_halfway(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = flow_interp.farneback

    def counting(prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        calls.append(1)
        return real(prev, nxt)

    monkeypatch.setattr(flow_interp, "farneback", counting)
    base = _texture_rgb(288, 320)  # larger than the flow size, so the downscaled flow is scaled back up
    shift_px = 8
    first, second = base, np.roll(base, shift_px, axis=1)
    halfway = np.roll(base, shift_px // 2, axis=1)
    frames = interpolate_pair(first, second, [0.25, 0.5, 0.75])
    assert len(calls) == 2, "flow is measured once per direction for the whole pair"
    middle = frames[1]
    assert middle.shape == base.shape and middle.dtype == np.uint8
    inner = np.s_[16:-16, 24:-24]  # away from the wrapped edge
    flow_error = np.abs(middle[inner].astype(float) - halfway[inner]).mean()
    fade = ((first.astype(float) + second) / 2).round()
    fade_error = np.abs(fade[inner] - halfway[inner]).mean()
    assert flow_error < 2.0
    assert flow_error < fade_error / 4, f"flow ({flow_error:.2f}) should beat a cross-fade ({fade_error:.2f})"


def test_interpolate_pair_refuses_mismatched_frames() -> None:
    with pytest.raises(BadInputError, match="one size"):
        interpolate_pair(_texture_rgb(32, 32), _texture_rgb(32, 40), [0.5])


def test_zoom_pulse_zero_is_identity_and_one_punches_in() -> None:
    frame = _texture_rgb(64, 96)
    same = zoom_pulse(frame, 0.0)
    assert np.array_equal(same, frame) and same is not frame
    zoomed = zoom_pulse(frame, 1.0, max_zoom=0.1)
    assert zoomed.shape == frame.shape and zoomed.dtype == np.uint8
    assert not np.array_equal(zoomed, frame)
    # the centre stays put while the edges move outward
    assert np.abs(zoomed[28:36, 44:52].astype(float) - frame[28:36, 44:52]).mean() < 3.0
