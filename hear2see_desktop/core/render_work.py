"""The work a render will do, counted before it starts: UNet samples, decodes and flow in-betweens.

A time estimate is only as good as its count of the work, so the count is made the way the render makes
its frames: classic from the same frame schedule, smooth and fast from the same frame plan (`sequence_plan`,
which the render itself uses) and the same in-between strengths (`planned_unet_work`), animate from the same
clip timing. Nothing cached is assumed: a render that finds its frames in the cache does less.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hear2see_desktop.core.choices import SceneChange
from hear2see_desktop.core.frame_timing import frame_count, frame_schedule
from hear2see_desktop.core.settings import RenderSettings

if TYPE_CHECKING:
    from hear2see_desktop.core.audio import Audio
    from hear2see_desktop.core.motion.plan import FramePlan
    from hear2see_desktop.core.storyboard.board import Storyboard


@dataclass(frozen=True)
class RenderWork:
    """What one render costs in units a machine can time.

    unet_samples: UNet samples at `width_px` x `height_px` (CFG counts two; a motion UNet counts each frame of
    its clip, as `UNetCounter` does); motion: whether they are a motion UNet's; decodes: pictures decoded by
    `decoder`; flow_frames: output frames made by optical flow between two pictures; output_frames: frames
    written to the video.
    """

    mode: str
    width_px: int
    height_px: int
    unet_samples: int
    decodes: int
    flow_frames: int
    output_frames: int
    decoder: str = "vae"
    motion: bool = False


def plan_work(settings: RenderSettings, duration_s: float, board: Storyboard | None = None,
              audio: Audio | None = None) -> RenderWork:
    """The work of rendering a narration of `duration_s` with `settings`.

    `board`: the scenes the render will use (smooth and fast place keyframes on them; without one the whole
    narration counts as one scene). `audio`: the narration, whose sound paces smooth's in-betweens when
    reactivity is above 0 (without it they are counted as evenly paced).
    """
    mode = str(settings.mode)
    common = {"mode": mode, "width_px": settings.width, "height_px": settings.height,
              "decoder": str(settings.decoder)}
    guidance = 2 if settings.cfg > 1.0 else 1
    if mode == "classic":
        n_out = frame_count(duration_s, settings.fps)
        schedule = frame_schedule(duration_s, settings.fps, min(settings.frames or n_out, n_out))
        images = max(schedule) + 1
        return RenderWork(unet_samples=images * settings.steps * guidance, decodes=images, flow_frames=0,
                          output_frames=n_out, **common)
    if mode == "animate":
        from hear2see_desktop.core.render.animate import clip_timing

        timing = clip_timing(duration_s, settings.fps)
        between = sum(1 for i in range(timing.output_frames) if timing.position(i) % 1.0 > 1e-9)
        return RenderWork(unet_samples=settings.steps * guidance * timing.native_frames,
                          decodes=timing.native_frames, flow_frames=between, output_frames=timing.output_frames,
                          motion=True, **common)
    from hear2see_desktop.core.render.frames import ScenePrompt
    from hear2see_desktop.core.render.sequence import planned_unet_work

    spans, prompts = _scenes(settings, duration_s, board)
    plan = sequence_plan(settings, duration_s, spans, audio)
    _, samples = planned_unet_work(plan, settings, [ScenePrompt(*p) for p in prompts])
    moving = sum(1 for frame in plan.frames if frame.a != frame.b and frame.t > 0.0)
    keyframes = len(plan.keyframes)
    if mode == "smooth":
        return RenderWork(unet_samples=samples, decodes=keyframes + moving, flow_frames=0,
                          output_frames=len(plan.frames), **common)
    return RenderWork(unet_samples=samples, decodes=keyframes, flow_frames=moving, output_frames=len(plan.frames),
                      **common)


def sequence_plan(settings: RenderSettings, duration_s: float, spans: Sequence[tuple[float, float]],
                  audio: Audio | None) -> FramePlan:
    """The frame plan smooth and fast render: keyframes on the scenes `spans` (the last ending with the
    narration), transitions paced by the narration's sound when reactivity is above 0 and `audio` is given."""
    from hear2see_desktop.core.motion.plan import plan_frames

    n_out = frame_count(duration_s, settings.fps)
    envelope: np.ndarray | None = None
    if settings.reactivity > 0 and audio is not None:
        from hear2see_desktop.core.motion.reactive import audio_envelope

        envelope = audio_envelope(audio.samples, audio.sample_rate_hz, settings.fps, n_out)
    spans = list(spans)
    spans[-1] = (spans[-1][0], duration_s)
    return plan_frames(spans, duration_s, settings.fps, keyframe_interval_s=settings.keyframe_interval_s,
                       envelope=envelope, reactivity=settings.reactivity, transition_s=settings.transition_s,
                       cut_scenes=settings.scene_change == SceneChange.CUT,
                       nearest_scene_starts=settings.plan_version == 1)


def _scenes(settings: RenderSettings, duration_s: float,
            board: Storyboard | None) -> tuple[list[tuple[float, float]], list[tuple[str, str]]]:
    """Each scene's span and (prompt, negative) as the render reads them from the board."""
    if board is None or not board.scenes:
        return [(0.0, duration_s)], [(settings.prompt, settings.negative_prompt)]
    spans = [(scene.start_s, scene.end_s) for scene in board.scenes]
    prompts = [(scene.prompt, scene.negative_prompt or settings.negative_prompt) for scene in board.scenes]
    return spans, prompts
