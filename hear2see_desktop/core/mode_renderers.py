"""The render modes inside a render job: which pictures each renders, and where they go in the video.

Classic (the paper's): independent images with seed + i, each held for its share of the frames. Smooth
and fast: keyframes on the storyboard's scenes, paced by the narration's sound, with in-betweens
(render/sequence.py). Animate: one clip of a motion model whose prompt travels with the scenes
(render/animate.py). Each hands its output frames to the context's `write` in order and each finished
distinct image or keyframe to `finished`, and returns what the run record counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hear2see_desktop.core.frame_timing import frame_count, frame_schedule
from hear2see_desktop.core.motion.prompt_schedule import ScheduledScene, prompt_schedule
from hear2see_desktop.core.render.frame_cache import cache_key
from hear2see_desktop.core.render.frames import ScenePrompt, render_images
from hear2see_desktop.core.render_context import RenderContext
from hear2see_desktop.core.render_work import sequence_plan
from hear2see_desktop.core.settings import RenderSettings, frame_seeds

if TYPE_CHECKING:
    from hear2see_desktop.core.audio import Audio
    from hear2see_desktop.core.render.animate import AnimateWork
    from hear2see_desktop.core.render.frames import ScenePrompt, UNetCounter
    from hear2see_desktop.core.storyboard.board import Storyboard


@dataclass
class Made:
    """What a mode made: the record's counts, seeds and keyframes, and its UNet work."""

    frames: int
    output_frames: int
    seeds: list[int]
    counter: UNetCounter
    keyframes: int | None = None
    keyframe_times_s: list[float] | None = None


@dataclass(frozen=True)
class ClassicPlan:
    """Classic mode's images: which output frames show image i (`schedule`), its seed, time, prompt and cache key."""

    schedule: list[int]
    seeds: list[int]
    times: list[float]
    prompts: list[ScenePrompt]
    keys: list[str]


def classic_plan(settings: RenderSettings, duration_s: float, board: Storyboard | None,
                 identity: dict[str, Any]) -> ClassicPlan:
    """The distinct images of a classic render (a cluster's client splits the same plan into units)."""
    n_out = frame_count(duration_s, settings.fps)
    # More distinct images than output frames could never be seen: render at most one per frame.
    schedule = frame_schedule(duration_s, settings.fps, min(settings.frames or n_out, n_out))
    n_images = max(schedule) + 1
    seeds = frame_seeds(settings, n_images)
    times = [schedule.index(i) / settings.fps for i in range(n_images)]
    prompts = [_scene_prompt(settings, board, time_s) for time_s in times]
    keys = [cache_key("classic", identity, settings.scheduler, settings.steps, settings.cfg,
                      [settings.width, settings.height], p.prompt, p.negative, seed)
            for p, seed in zip(prompts, seeds, strict=True)]
    return ClassicPlan(schedule, seeds, times, prompts, keys)


def scene_prompts(settings: RenderSettings, board: Storyboard) -> list[ScenePrompt]:
    """Each scene's prompt as smooth and fast render it."""
    return [ScenePrompt(scene.prompt, scene.negative_prompt or settings.negative_prompt) for scene in board.scenes]


def render_classic(ctx: RenderContext, board: Storyboard | None) -> Made:
    """The paper's mode: independent images with seed + i, each held for its share of the frames."""

    settings = ctx.settings
    plan = classic_plan(settings, ctx.audio.duration_s, board, ctx.identity)
    schedule, seeds, times, prompts, keys = plan.schedule, plan.seeds, plan.times, plan.prompts, plan.keys
    n_images = len(seeds)
    ctx.events.plan(times)
    out_index = 0

    def on_image(index: int, rgb: Any) -> None:
        nonlocal out_index
        while out_index < len(schedule) and schedule[out_index] == index:
            ctx.write(out_index, rgb)
            out_index += 1
        ctx.finished(index, times[index], rgb)

    counter = render_images(ctx.loaded, settings, seeds, ctx.progress, ctx.cancelled, on_image,
                            decoders=ctx.decoders, prompts=prompts, cache=ctx.cache, keys=keys, ladder=ctx.ladder,
                            on_step=ctx.events.step)
    return Made(n_images, len(schedule), seeds, counter)


def render_sequence(ctx: RenderContext, board: Storyboard) -> Made:
    """Smooth and fast: keyframes on the storyboard's scenes, paced by the narration's sound."""
    from hear2see_desktop.core.render.sequence import SequenceRenderer

    settings, audio = ctx.settings, ctx.audio
    plan = sequence_plan(settings, audio.duration_s, [(scene.start_s, scene.end_s) for scene in board.scenes], audio)
    prompts = scene_prompts(settings, board)
    ctx.events.plan([keyframe.time_s for keyframe in plan.keyframes])
    renderer = SequenceRenderer(ctx.loaded, settings, plan, prompts, ctx.cache, ctx.identity, ctx.decoders,
                                ladder=ctx.ladder)
    renderer.run(ctx.progress, ctx.cancelled, ctx.write, ctx.finished, ctx.events.step)
    return Made(len(plan.frames), len(plan.frames), [settings.seed], renderer.counter, len(plan.keyframes),
                [round(k.time_s, 4) for k in plan.keyframes])


def animate_work(settings: RenderSettings, audio: Audio, board: Storyboard, identity: dict[str, Any]) -> AnimateWork:
    """Animate's clip as data: its timing, prompt schedule, pacing and cache key (a cluster's client sends the
    same to a worker)."""
    from hear2see_desktop.core.render.animate import CONTEXT_FRAMES, CONTEXT_STRIDE, AnimateWork, clip_timing

    timing = clip_timing(audio.duration_s, settings.fps)
    scenes = [ScheduledScene(scene.start_s, scene.prompt, scene.negative_prompt or settings.negative_prompt)
              for scene in board.scenes]
    schedule = prompt_schedule(scenes, timing.native_fps, timing.native_frames, settings.transition_s)
    envelope, pulse, pacing = None, None, None
    if settings.animate_version >= 2 and settings.reactivity > 0:
        from hear2see_desktop.core.motion.reactive import audio_envelope, check_reactivity, pulses

        check_reactivity(settings.reactivity)  # before anything renders (the renderer paces the travel with it)
        envelope = audio_envelope(audio.samples, audio.sample_rate_hz, timing.native_fps, timing.native_frames)
        output = audio_envelope(audio.samples, audio.sample_rate_hz, settings.fps, timing.output_frames)
        pulse = pulses(output) * settings.reactivity
        pacing = [settings.reactivity, [round(float(value), 6) for value in envelope]]
    # The clip's key: everything its latents depend on (the pulses touch only the output frames).
    clip_key = cache_key("animate", identity, settings.scheduler, settings.steps, settings.cfg,
                         [settings.width, settings.height], settings.seed, timing.native_frames, CONTEXT_FRAMES,
                         CONTEXT_STRIDE, schedule.prompts, schedule.negatives, pacing)
    return AnimateWork(timing, schedule, envelope, settings.reactivity, pulse, clip_key)


def render_animate(ctx: RenderContext, board: Storyboard, pipe: Any) -> Made:
    """Animate: the narration as one clip of a motion model on `pipe`, its prompt travelling with the scenes."""
    settings = ctx.settings
    work = animate_work(settings, ctx.audio, board, ctx.identity)
    timing = work.timing
    ctx.events.plan([index / timing.native_fps for index in range(timing.native_frames)])
    renderer = work.renderer(pipe, ctx.loaded, settings, ctx.decoders, ctx.ladder, ctx.cache)
    renderer.run(ctx.progress, ctx.cancelled, ctx.write, ctx.finished, ctx.events.step)
    return Made(timing.native_frames, timing.output_frames, [settings.seed], renderer.counter)


def _scene_prompt(settings: RenderSettings, board: Storyboard | None, time_s: float) -> ScenePrompt:

    if board is None:
        return ScenePrompt(settings.prompt, settings.negative_prompt)
    scene = board.scenes[board.scene_at(time_s)]
    return ScenePrompt(scene.prompt, scene.negative_prompt or settings.negative_prompt)
