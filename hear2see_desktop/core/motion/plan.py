"""The frame plan: which output frame is a keyframe, and where every other frame sits between two keyframes.

Keyframes are the frames the renderer denoises from a fresh seed and prompt: one at the start of each
scene and evenly spaced ones inside long scenes (so a long scene still moves). Every frame in between
is described by the keyframes around it and a position t; the renderer turns (a, b, t) into slerped
noise and lerped embeddings, or into an optical-flow in-between.

Each keyframe's picture holds until the transition into the next one, which takes the last
`transition_s` before it. Between scenes the default is a cut on the new scene's first frame
(`cut_scenes`): a new sentence is a new shot, and every frame shows the scene being narrated (measured
on the toy world, bench/results/quality.md: dissolves across the cut gave 6% of the frames to the wrong
scene, cuts 0.7%, classic 0.5%). Scenes that dissolve instead have it centred on the cut, as film editors
centre one on the edit point: the new scene's keyframe lands half a transition after its start, so the
frames before the cut still mostly show the scene being narrated and those after it the new one. So
a scene shows its own picture for all but a moment at each end: measured on the toy world
(`bench/quality.py`), transitions that filled the whole time between keyframes made every scene
morph into the next from its first frame, and a third of the frames matched another scene's prompt
better than their own. Runs logged before transitions had a length replay with `transition_s=None`:
keyframes on the scene starts, transitions over the whole time between keyframes, and a last
keyframe on the last frame for the last segment to move towards.

A scene starts on its first frame at or after its start time, the frame classic shows it from; runs logged
before `RenderSettings.plan_version` 2 rounded the start to the nearest frame, up to half a frame early, and
replay so (`nearest_scene_starts`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hear2see_desktop.core.errors import BadInputError
from hear2see_desktop.core.frame_timing import frame_count
from hear2see_desktop.core.motion.reactive import check_reactivity, pulses, reactive_positions

MAX_FPS = 120.0
"""Highest output frame rate accepted; the app offers 12 to 30."""


@dataclass(frozen=True)
class Keyframe:
    """A frame rendered from its own noise and prompt.

    index: position in `plan.keyframes`; frame: the output frame where it is shown exactly;
    time_s: frame / fps; scene: index of the scene (in the spans given to `plan_frames`) it belongs to.
    """

    index: int
    frame: int
    time_s: float
    scene: int


@dataclass(frozen=True)
class PlannedFrame:
    """One output frame as a position between two keyframes.

    a: keyframe index before or at this frame; b: keyframe index after it (a == b only from the last
    keyframe's frame on); t: position from a to b in [0, 1), exactly 0.0 on keyframe frames and while a holds;
    pulse: strength 0..1 of a short visual punch-in at this frame.
    """

    frame: int
    time_s: float
    a: int
    b: int
    t: float
    pulse: float


@dataclass
class FramePlan:
    """Every output frame of a clip, frame i at i / fps, covering the narration exactly like the classic renderer."""

    fps: float
    duration_s: float
    keyframes: list[Keyframe]
    frames: list[PlannedFrame]

    def segment(self, a: int) -> list[PlannedFrame]:
        """Frames from keyframe `a` up to, not including, keyframe a + 1 (the last keyframe: its frame and after)."""
        if not 0 <= a < len(self.keyframes):
            raise IndexError(f"keyframe {a} is not in a plan of {len(self.keyframes)} keyframes")
        start = self.keyframes[a].frame
        end = self.keyframes[a + 1].frame if a + 1 < len(self.keyframes) else len(self.frames)
        return self.frames[start:end]


def plan_frames(
    scene_spans: list[tuple[float, float]],
    duration_s: float,
    fps: float,
    keyframe_interval_s: float = 3.0,
    envelope: np.ndarray | None = None,
    reactivity: float = 0.0,
    pulse_threshold: float = 0.6,
    transition_s: float | None = None,
    cut_scenes: bool = False,
    nearest_scene_starts: bool = False,
) -> FramePlan:
    """Plan `frame_count(duration_s, fps)` frames with keyframes at scene starts and inside long scenes.

    Scene k starts on the first frame at or after its start time (frame i shows the last scene started by
    i / fps, as in classic); the first scene always starts at frame 0 (frames
    before the first word still show it) and a scene lasts until the next one starts (pauses between
    sentences belong to the scene before), the last one until the last frame. Two scenes on one frame
    keep the later. With n = round(transition_s * fps) transition frames, every scene but the first has
    its keyframe n // 2 frames after its start (at most one frame before the next scene's start). A
    scene longer than `keyframe_interval_s` is split, from its keyframe to the next scene's, into
    ceil(length / interval) equal parts with a keyframe at each inner boundary. With
    `transition_s=None` the keyframes sit on the scene starts and the last frame is a keyframe too.

    Between keyframe a (frame fa) and b (frame fb) the transition takes min(fb - fa, n) frames (all of
    them with `transition_s=None`): frames fa .. fb - n hold
    keyframe a (t = 0), and the positions of frames fb - n .. fb - 1 come from `reactive_positions` with
    the envelope of frames fb - n + 1 .. fb: the step into frame j is paced by frame j's own audio, so
    the picture moves on the frame where the onset is heard, not one frame later. Without an envelope
    or at reactivity 0 the positions are linear; pulses (from `pulses`, scaled by reactivity) likewise
    need both. Frames after the last keyframe hold it.

    Args:
        scene_spans: (start_s, end_s) of each scene in order, starts non-decreasing; times past the
            narration are clamped to its last frame.
        duration_s: narration length in seconds.
        fps: output frame rate, in (0, 120].
        keyframe_interval_s: longest time between keyframes inside one scene.
        envelope: per-frame audio envelope (`audio_envelope`), exactly one value per output frame.
        reactivity: 0 (linear transitions) to 1 (paced by the audio alone).
        pulse_threshold: envelope peak height that earns a pulse.
        transition_s: length of each transition in seconds (0: a hard cut); None: the whole time
            between keyframes, as runs logged before this setting existed were rendered.
        cut_scenes: with a transition length, cut between scenes on the new scene's first frame (its
            keyframe there, no dissolve across the cut); transitions stay inside scenes.
        nearest_scene_starts: round each scene's start half up to the nearest frame instead, as runs logged
            before `RenderSettings.plan_version` 2 were rendered (a scene could show half a frame early).
    """
    _check_inputs(scene_spans, duration_s, fps, keyframe_interval_s, reactivity)
    if transition_s is not None and not (math.isfinite(transition_s) and transition_s >= 0.0):
        raise BadInputError(f"The transition must be 0 seconds (a cut) or longer, got {transition_s}.")
    n_frames = frame_count(duration_s, fps)
    reactive = envelope is not None and reactivity > 0.0
    env = np.zeros(n_frames)
    if envelope is not None:
        env = np.asarray(envelope, dtype=np.float64).reshape(-1)
        if env.size != n_frames:
            raise BadInputError(f"The audio envelope has {env.size} values but the clip has {n_frames} frames.")
    transition_frames = None if transition_s is None else math.floor(transition_s * fps + 0.5)
    cut = cut_scenes and transition_frames is not None
    starts = [(nearest_frame if nearest_scene_starts else first_frame_from)(start_s, fps) for start_s, _ in scene_spans]
    keyframes = _keyframes(starts, len(scene_spans), n_frames, fps, keyframe_interval_s,
                           0 if cut else transition_frames)
    pulse = pulses(env, threshold=pulse_threshold) * reactivity if reactive else np.zeros(n_frames)

    frames: list[PlannedFrame] = []
    for kf, nxt in zip(keyframes[:-1], keyframes[1:], strict=True):
        fa, fb = kf.frame, nxt.frame
        n = fb - fa if transition_frames is None else min(fb - fa, transition_frames)
        if cut and kf.scene != nxt.scene:
            n = 0  # a new sentence, a new shot: keyframe a holds up to the cut
        positions = np.zeros(fb - fa)
        if n > 0:
            positions[fb - fa - n :] = reactive_positions(env[fb - n + 1 : fb + 1], reactivity if reactive else 0.0)
        for offset, t in enumerate(positions):
            frame = fa + offset
            frames.append(PlannedFrame(frame, frame / fps, kf.index, nxt.index, float(t), float(pulse[frame])))
    last = keyframes[-1]
    for frame in range(last.frame, n_frames):
        frames.append(PlannedFrame(frame, frame / fps, last.index, last.index, 0.0, float(pulse[frame])))
    return FramePlan(fps=fps, duration_s=duration_s, keyframes=keyframes, frames=frames)


def _check_inputs(
    scene_spans: list[tuple[float, float]], duration_s: float, fps: float, interval_s: float, reactivity: float
) -> None:
    if not (math.isfinite(fps) and 0.0 < fps <= MAX_FPS):
        raise BadInputError(f"The frame rate must be above 0 and at most {MAX_FPS:g} fps, got {fps}.")
    if not (math.isfinite(duration_s) and duration_s > 0.0):
        raise BadInputError(f"The narration must be longer than 0 seconds to plan frames, got {duration_s}.")
    if not (math.isfinite(interval_s) and interval_s > 0.0):
        raise BadInputError(f"The keyframe interval must be a positive number of seconds, got {interval_s}.")
    check_reactivity(reactivity)
    if not scene_spans:
        raise BadInputError("The storyboard has no scenes; transcribe the narration before planning frames.")
    previous_start_s = -math.inf
    for k, (start_s, end_s) in enumerate(scene_spans):
        if not (math.isfinite(start_s) and math.isfinite(end_s) and 0.0 <= start_s <= end_s):
            raise BadInputError(f"Scene {k + 1} has an invalid time span ({start_s} s to {end_s} s).")
        if start_s < previous_start_s:
            raise BadInputError(f"Scene {k + 1} starts before the scene ahead of it; scenes must be in time order.")
        previous_start_s = start_s


def first_frame_from(time_s: float, fps: float) -> int:
    """The first frame i (at i / fps) at or after `time_s`, with the scene-following metric's 1e-9 s tolerance."""
    frame = max(0, math.ceil(time_s * fps - 1e-6))
    while frame / fps + 1e-9 < time_s:
        frame += 1
    while frame > 0 and (frame - 1) / fps + 1e-9 >= time_s:
        frame -= 1
    return frame


def nearest_frame(time_s: float, fps: float) -> int:
    """`time_s` rounded half up to a frame: where plan version 1 put scene starts."""
    return math.floor(time_s * fps + 0.5 + 1e-9)


def _keyframes(scene_starts: list[int], scenes: int, n_frames: int, fps: float, interval_s: float,
               transition_frames: int | None) -> list[Keyframe]:
    """Keyframe frames (strictly increasing) and their scenes: scene starts (centred dissolves: half a
    transition after), splits of long scenes, and for whole-segment transitions (None) the last frame."""
    last_frame = n_frames - 1
    starts = [min(last_frame, frame) for frame in scene_starts]
    starts[0] = 0
    scene_at: dict[int, int] = {}
    for scene, frame in enumerate(starts):
        scene_at[frame] = scene  # a later scene on the same frame replaces the earlier one
    distinct = sorted(scene_at)
    if transition_frames:  # the dissolve is centred on the cut: the new scene's keyframe comes after it
        bounds = [*distinct[1:], n_frames]
        scene_at = {frame + (min(transition_frames // 2, end - frame - 1) if frame else 0): scene_at[frame]
                    for frame, end in zip(distinct, bounds, strict=True)}
        distinct = sorted(scene_at)
    interval_frames = interval_s * fps
    for i, start in enumerate(distinct):
        end = distinct[i + 1] if i + 1 < len(distinct) else last_frame
        parts = math.ceil((end - start) / interval_frames - 1e-9)
        for j in range(1, parts):
            frame = start + math.floor(j * (end - start) / parts + 0.5)
            if start < frame < end:
                scene_at.setdefault(frame, scene_at[start])
    if transition_frames is None:
        scene_at.setdefault(last_frame, scenes - 1)
    return [Keyframe(index, frame, frame / fps, scene_at[frame]) for index, frame in enumerate(sorted(scene_at))]
