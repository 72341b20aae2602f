"""The smooth and fast modes: keyframes through diffusion, in-betweens that move between them.

Keyframes (plan.keyframes, one at each scene start and every few seconds) are full txt2img
renders of their scene's prompt. Their initial noise is a base noise slerped a fixed `NOISE_DRIFT`
towards a per-keyframe variation, so the composition stays continuous while long scenes still move.
Where scenes cut (`scene_change` cut, the default) each scene has its own base, its first keyframe's
noise: nothing carries across a cut, and each scene's picture is as likely to show its prompt as a
classic image (on the toy world, keyframes leaning on one noise for the whole clip lost prompt fidelity,
bench/results/quality.md). Where scenes dissolve into each other the whole clip shares the base noise of
`settings.seed`, for continuity across the dissolve.

In-betweens, at output frame `i` between keyframes a and b at position t (from the audio-reactive
plan):
- smooth: the clean latents of a and b blended at t, re-noised with the slerp of their initial
  noises and denoised with the blend of their text embeddings for `strength(t)` of the schedule.
  The strength rises towards the middle of a transition and with its size (a new scene's prompt
  changes more than a drift inside a scene), and is near zero next to a keyframe, where the blend
  is already the picture: fewer steps where the picture barely changes (but at least one). The refine runs on a
  schedule of at most `INBETWEEN_SCHEDULE` steps whatever the keyframes' step count, and without
  classifier-free guidance after `GUIDANCE_END` of it (the blend already carries the guided
  composition), so an in-between costs one or two UNet samples where a classic frame costs 2 x steps.
- fast: optical-flow interpolation of the two keyframe pictures; no diffusion.
Onset pulses briefly raise the strength (smooth) and punch the picture in (both modes).

Every keyframe and smooth in-between is kept in the frame cache under a key of its inputs, so a
re-run or a one-scene edit renders only what changed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from hear2see_desktop.core.choices import SceneChange
from hear2see_desktop.core.jobs import CancelledFn, ProgressFn, raise_if_cancelled
from hear2see_desktop.core.motion.flow_interp import interpolate_pair, zoom_pulse
from hear2see_desktop.core.motion.plan import FramePlan, Keyframe
from hear2see_desktop.core.motion.slerp import lerp, slerp
from hear2see_desktop.core.render.denoise import (
    TextCondition,
    denoise,
    guided,
    latent_shape,
    seeded_noise,
    steps_for_strength,
)
from hear2see_desktop.core.render.events import DenoiseStep, StepFn
from hear2see_desktop.core.render.frame_cache import FrameCache, cache_key
from hear2see_desktop.core.render.frames import ScenePrompt, UNetCounter
from hear2see_desktop.core.render.memory_ladder import DECODE, DENOISE, MemoryLadder
from hear2see_desktop.core.render.pipeline_cache import LoadedPipeline, text_condition
from hear2see_desktop.core.render.taesd import Decoders
from hear2see_desktop.core.settings import RenderSettings

NOISE_DRIFT = 0.35
"""How far each keyframe's initial noise leans from the clip's base noise towards its own (slerp t)."""
STRENGTH_MIN = 0.05
"""Re-denoising strength of an in-between right next to a keyframe."""
STRENGTH_MAX = 0.3
"""Strength in the middle of a transition between two different prompts."""
SAME_PROMPT_CHANGE = 0.5
"""A transition inside one scene (same prompt, drifting noise) changes half as much as a scene cut."""
PULSE_STRENGTH = 0.15
"""Extra strength at a full onset pulse: a brief burst of new detail on the beat."""
MAX_STRENGTH = 0.6
INBETWEEN_SCHEDULE = 8
"""Longest schedule an in-between's partial denoise runs on: a short refine of a blend of two finished
keyframes gains nothing from the 25+ steps a picture from pure noise needs."""
GUIDANCE_END = 0.6
"""In-betweens use CFG only on the first 60% of their schedule, so every in-between below strength 0.4 runs
unguided: one UNet sample per step instead of two (see `denoise.guided`)."""

FrameFn = Callable[[int, np.ndarray], None]  # (output frame index, RGB) in frame order
KeyframeFn = Callable[[int, float, np.ndarray], None]  # (keyframe index, time s, RGB)


@dataclass(frozen=True)
class _Inbetween:
    """One smooth in-between to denoise: where it is, how much of which schedule it runs, its cache key."""

    frame: int
    t: float
    pulse: float
    schedule: int
    strength: float
    run: int
    key: str


@dataclass
class _Key:
    """A rendered keyframe: its cache key, clean latents, initial noise, picture and scene."""

    key: str
    latents: Any
    noise: Any
    image: np.ndarray
    scene: int


def keyframe_seed(seed: int, frame: int) -> int:
    """The variation seed of the keyframe shown at output `frame` (by frame, so moving one scene
    boundary leaves the other keyframes' noise, and so their cached pictures, unchanged)."""
    return (seed * 1_000_003 + 7919 * (frame + 1)) % 2**32


def inbetween_strength(t: float, scene_change: bool, pulse: float) -> float:
    """How much of the schedule an in-between at position t re-denoises (see the module docstring)."""
    change = 1.0 if scene_change else SAME_PROMPT_CHANGE
    base = STRENGTH_MIN + (STRENGTH_MAX - STRENGTH_MIN) * change * math.sin(math.pi * t)
    return min(MAX_STRENGTH, base + PULSE_STRENGTH * pulse)


CPU_BATCH = 1
"""In-betweens per UNet batch on the CPU: one sample already keeps every core busy in its matmuls, so a
batch saves only per-call overhead; 1 until `bench/cpu_options.py` measures a gain on a quiet machine."""
GPU_BATCH_MAX = 8
GPU_BYTES_PER_SAMPLE_512 = 1.5 * 2**30
"""Rough fp16 UNet + VAE working memory of one 512 px sample on a GPU (with CFG off, as in-betweens run)."""


def inbetween_batch_size(device: str, width: int, height: int) -> int:
    """How many in-betweens to denoise at once: on a GPU as many as half its free memory holds (up to 8),
    so it stays busy; on the CPU `CPU_BATCH`."""
    if device != "cuda":
        return CPU_BATCH
    import torch

    free, _ = torch.cuda.mem_get_info()
    per_sample = GPU_BYTES_PER_SAMPLE_512 * (width * height) / (512 * 512)
    return int(max(1, min(GPU_BATCH_MAX, (free * 0.5) // per_sample)))


def refine_schedule(steps: int, strength: float) -> tuple[int, float]:
    """(schedule length, strength) an in-between's refine runs with: at least one step, so every
    in-between is denoised (a raw blend of two keyframes is a double exposure, not a picture)."""
    schedule = min(steps, INBETWEEN_SCHEDULE)
    return schedule, max(strength, 1.0 / schedule)


def inbetween_cost(steps: int, strength: float, use_cfg: bool) -> tuple[int, int]:
    """(UNet steps, UNet samples) of one in-between at `strength` in a render of `steps` steps."""
    schedule, strength = refine_schedule(steps, strength)
    run = steps_for_strength(schedule, strength)
    with_cfg = sum(guided(i, schedule, GUIDANCE_END) for i in range(schedule - run, schedule)) if use_cfg else 0
    return run, run + with_cfg


def planned_unet_work(plan: FramePlan, settings: RenderSettings,
                      scene_prompts: Sequence[ScenePrompt]) -> tuple[int, int]:
    """(UNet steps, UNet samples) the plan will run with nothing cached: the progress total and the cost."""
    use_cfg = settings.cfg > 1.0
    steps = len(plan.keyframes) * settings.steps
    samples = steps * (2 if use_cfg else 1)
    if settings.mode != "smooth":
        return steps, samples
    for frame in plan.frames:
        if frame.a != frame.b and frame.t > 0.0:
            change = scene_prompts[plan.keyframes[frame.a].scene] != scene_prompts[plan.keyframes[frame.b].scene]
            run, cost = inbetween_cost(settings.steps, inbetween_strength(frame.t, change, frame.pulse), use_cfg)
            steps += run
            samples += cost
    return steps, samples


class SequenceRenderer:
    """Renders one plan in smooth or fast mode, handing frames out in order as they are made."""

    def __init__(
        self,
        loaded: LoadedPipeline,
        settings: RenderSettings,
        plan: FramePlan,
        scene_prompts: Sequence[ScenePrompt],
        cache: FrameCache,
        identity: dict[str, Any],
        decoders: Decoders | None = None,
        batch_size: int | None = None,
        ladder: MemoryLadder | None = None,
    ) -> None:
        """`identity`: what else decides the pixels (model weights hash, LoRAs) for the cache keys;
        `decoders`: step previews and finished pictures (default `Decoders(pipe)`); `batch_size`: most
        in-betweens denoised at once (default `inbetween_batch_size` for the device and size); `ladder`: runs
        every denoise and decode, leaner after running out of memory (default: a fresh one)."""
        self.loaded = loaded
        self.settings = settings
        self.plan = plan
        self.scene_prompts = list(scene_prompts)
        self.cache = cache
        self.identity = identity
        self.decoders = decoders if decoders is not None else Decoders(loaded.pipe)
        self.batch_size = max(1, batch_size or inbetween_batch_size(loaded.device.device, settings.width,
                                                                    settings.height))
        self.ladder = ladder if ladder is not None else MemoryLadder(loaded.pipe, loaded.device, settings.width,
                                                                     settings.height)
        self.counter = UNetCounter()
        self._conditions: dict[ScenePrompt, TextCondition] = {}
        self._base_noise = seeded_noise(settings.seed, latent_shape(loaded.pipe, settings.width, settings.height))
        self._done = 0
        self._on_step: StepFn | None = None
        self._total = max(1, planned_unet_work(plan, settings, self.scene_prompts)[0])

    # --- public --------------------------------------------------------------------------------
    def run(self, progress: ProgressFn, cancelled: CancelledFn, on_frame: FrameFn, on_keyframe: KeyframeFn,
            on_step: StepFn | None = None) -> None:
        """Render every planned frame in order; keyframes go to `on_keyframe` as soon as they exist, each
        denoising step to `on_step` (a keyframe's with its index and preview, in-betweens' with neither)."""
        self._on_step = on_step
        hook = self.loaded.pipe.unet.register_forward_pre_hook(self.counter, with_kwargs=True)
        try:
            keys = self.plan.keyframes
            current = self._keyframe(keys[0], progress, cancelled, on_keyframe)
            for a in range(len(keys)):
                raise_if_cancelled(cancelled)
                following = (self._keyframe(keys[a + 1], progress, cancelled, on_keyframe)
                             if a + 1 < len(keys) else None)
                self._segment(a, current, following, progress, cancelled, on_frame)
                if following is not None:
                    current = following
        finally:
            hook.remove()

    def run_keyframe(self, index: int, progress: ProgressFn, cancelled: CancelledFn,
                     on_step: StepFn | None = None) -> None:
        """Render keyframe `index` alone into the cache (a cluster worker's unit; the client reads it there), each
        denoising step to `on_step` as in `run`."""
        self._on_step = on_step
        with self._counting():
            self._keyframe(self.plan.keyframes[index], progress, cancelled, _ignore_keyframe)

    def run_segment(self, a: int, progress: ProgressFn, cancelled: CancelledFn,
                    on_step: StepFn | None = None) -> None:
        """Render the smooth in-betweens after keyframe `a` alone into the cache (a cluster worker's unit): both
        keyframes must already be in the cache, so only their in-betweens are denoised (steps to `on_step`)."""
        self._on_step = on_step
        keys = self.plan.keyframes
        with self._counting():
            first = self._keyframe(keys[a], progress, cancelled, _ignore_keyframe)
            second = self._keyframe(keys[a + 1], progress, cancelled, _ignore_keyframe) if a + 1 < len(keys) else None
            self._segment(a, first, second, progress, cancelled, _ignore_frame)

    @contextmanager
    def _counting(self) -> Iterator[None]:
        hook = self.loaded.pipe.unet.register_forward_pre_hook(self.counter, with_kwargs=True)
        try:
            yield
        finally:
            hook.remove()

    # --- keyframes -----------------------------------------------------------------------------
    def _condition(self, scene: int) -> TextCondition:
        prompt = self.scene_prompts[scene]
        if prompt not in self._conditions:
            self._conditions[prompt] = text_condition(self.loaded, prompt.prompt, prompt.negative,
                                                      self.settings.cfg > 1.0)
        return self._conditions[prompt]

    def _keyframe(self, keyframe: Keyframe, progress: ProgressFn, cancelled: CancelledFn,
                  on_keyframe: KeyframeFn) -> _Key:
        s = self.settings
        variation = keyframe_seed(s.seed, keyframe.frame)
        noise = slerp(self._keyframe_base(keyframe), seeded_noise(variation, self._base_noise.shape), NOISE_DRIFT)
        key = keyframe_cache_key(s, self.plan, self.scene_prompts, self.identity, keyframe.index)
        latents_array = self.cache.get_array(key)
        image = self.cache.get_image(key) if latents_array is not None else None
        label = f"Keyframe {keyframe.index + 1}/{len(self.plan.keyframes)}"
        if latents_array is not None and image is not None:
            import torch

            latents = torch.from_numpy(latents_array)
            self._advance(s.steps, progress, f"{label} (cached)", None)
        else:
            def on_step(step: int, count: int, current: Any) -> None:
                preview = self.decoders.preview(current)
                if self._on_step is not None:
                    self._on_step(DenoiseStep(keyframe.index, step, count, preview))
                self._report(step, progress, f"{label}, step {step}/{count}", preview)

            def denoise_keyframe() -> Any:
                return denoise(self.loaded.pipe, s.scheduler, s.steps, s.cfg, self._condition(keyframe.scene),
                               noise, seed=variation, cancelled=cancelled, on_step=on_step).float().cpu()

            latents = self.ladder.run(DENOISE, label, denoise_keyframe)
            self._done += s.steps
            image = self.ladder.run(DECODE, label, partial(self.decoders.final, self.loaded.pipe, latents))
            if self.ladder.pictures_cacheable:
                self.cache.put_array(key, latents.numpy())
                self.cache.put_image(key, image)
        on_keyframe(keyframe.index, keyframe.time_s, image)
        return _Key(key, latents, noise, image, keyframe.scene)

    def _keyframe_base(self, keyframe: Keyframe) -> Any:
        """The noise a keyframe leans on: the clip's base noise where scenes dissolve, else its scene's first
        keyframe's (`_base_key` says the same in the cache key)."""
        first = _scene_base_frame(self.settings, self.plan, keyframe)
        if first is None:
            return self._base_noise
        return seeded_noise(keyframe_seed(self.settings.seed, first), self._base_noise.shape)

    # --- in-betweens ---------------------------------------------------------------------------
    def _segment(self, a: int, first: _Key, second: _Key | None, progress: ProgressFn, cancelled: CancelledFn,
                 on_frame: FrameFn) -> None:
        frames = self.plan.segment(a)
        if second is None or self.settings.mode == "fast":
            pictures = (interpolate_pair(first.image, second.image, [f.t for f in frames]) if second is not None
                        else [first.image for _ in frames])
            for frame, picture in zip(frames, pictures, strict=True):
                on_frame(frame.frame, zoom_pulse(picture, frame.pulse))
            return
        scene_change = self.scene_prompts[first.scene] != self.scene_prompts[second.scene]
        batch: list[_Inbetween] = []

        def flush() -> None:
            for item, picture in zip(batch, self._denoise_batch(first, second, batch, progress, cancelled),
                                     strict=True):
                on_frame(item.frame, zoom_pulse(picture, item.pulse))
            batch.clear()

        for frame in frames:
            raise_if_cancelled(cancelled)
            if frame.t <= 0.0:
                flush()
                on_frame(frame.frame, zoom_pulse(first.image, frame.pulse))
                continue
            item = self._inbetween(first, second, frame.frame, frame.t, scene_change, frame.pulse)
            cached = self.cache.get_image(item.key)
            if cached is not None:
                flush()
                self._advance(item.run, progress, f"In-between at {frame.t:.2f} (cached)", None)
                on_frame(frame.frame, zoom_pulse(cached, frame.pulse))
                continue
            if batch and (batch[0].run != item.run or len(batch) >= self.ladder.batch_size(self.batch_size)):
                flush()
            batch.append(item)  # consecutive in-betweens with the same timesteps denoise as one batch
        flush()

    def _inbetween(self, first: _Key, second: _Key, frame: int, t: float, scene_change: bool,
                   pulse: float) -> _Inbetween:
        return _inbetween(self.settings.steps, first.key, second.key, frame, t, scene_change, pulse)

    def _denoise_batch(self, first: _Key, second: _Key, batch: list[_Inbetween], progress: ProgressFn,
                       cancelled: CancelledFn) -> list[np.ndarray]:
        """Denoise in-betweens that share their timesteps in UNet batches (split further when one runs out of
        memory), then decode them together; each keeps its own noise, blended embeddings and sampler seed, so it
        comes out as it would alone."""
        if not batch:
            return []
        import torch

        label = (f"In-between at {batch[0].t:.2f}" if len(batch) == 1
                 else f"In-betweens {batch[0].t:.2f}-{batch[-1].t:.2f}")
        latents = self.ladder.run_batched(
            DENOISE, label, batch,
            lambda chunk: list(self._denoise_chunk(first, second, chunk, progress, cancelled).split(1)))
        pictures = self.ladder.run(DECODE, label,
                                   partial(self.decoders.final_batch, self.loaded.pipe, torch.cat(latents)))
        if self.ladder.pictures_cacheable:
            for item, picture in zip(batch, pictures, strict=True):
                self.cache.put_image(item.key, picture)
        return pictures

    def _denoise_chunk(self, first: _Key, second: _Key, chunk: list[_Inbetween], progress: ProgressFn,
                       cancelled: CancelledFn) -> Any:
        """The clean latents (n, 4, h/8, w/8) of in-betweens that share their timesteps, in one UNet batch."""
        import torch

        s = self.settings
        first_condition, second_condition = self._condition(first.scene), self._condition(second.scene)
        ts = [item.t for item in chunk]
        condition = TextCondition(
            torch.cat([lerp(first_condition.prompt_embeds, second_condition.prompt_embeds, t) for t in ts]),
            None if first_condition.negative_embeds is None
            else torch.cat([lerp(first_condition.negative_embeds, second_condition.negative_embeds, t) for t in ts]),
        )
        start = torch.cat([lerp(first.latents, second.latents, t) for t in ts])
        noise = torch.cat([slerp(first.noise, second.noise, t) for t in ts])
        label = (f"In-between at {ts[0]:.2f}" if len(chunk) == 1
                 else f"In-betweens {ts[0]:.2f}-{ts[-1]:.2f} ({len(chunk)} at once)")

        def on_step(step: int, count: int, current: Any) -> None:
            if self._on_step is not None:
                self._on_step(DenoiseStep(None, step, count, None))
            self._report(step * len(chunk), progress, f"{label}, step {step}/{count}", None)

        latents = denoise(self.loaded.pipe, s.scheduler, chunk[0].schedule, s.cfg, condition, noise, start=start,
                          strength=chunk[0].strength, seed=[int(item.key[:8], 16) for item in chunk],
                          cancelled=cancelled, on_step=on_step, guidance_end=GUIDANCE_END)
        self._done += chunk[0].run * len(chunk)
        return latents

    # --- progress ------------------------------------------------------------------------------
    def _report(self, step: int, progress: ProgressFn, message: str, preview: np.ndarray | None) -> None:
        progress(min(self._done + step, self._total), self._total, message, preview)

    def _advance(self, steps: int, progress: ProgressFn, message: str, preview: np.ndarray | None) -> None:
        self._done += steps
        progress(min(self._done, self._total), self._total, message, preview)


# --- cache keys, without a pipeline (a cluster's client plans its units with them) -------------------------
def _common_key(settings: RenderSettings, identity: dict[str, Any]) -> dict[str, Any]:
    return {**identity, "scheduler": settings.scheduler, "steps": settings.steps, "cfg": settings.cfg,
            "size": [settings.width, settings.height], "seed": settings.seed}


def _scene_base_frame(settings: RenderSettings, plan: FramePlan, keyframe: Keyframe) -> int | None:
    """The frame of the keyframe whose noise `keyframe` leans on: its scene's first where scenes cut, None (the
    clip's base noise) where they dissolve."""
    if settings.scene_change != SceneChange.CUT:
        return None
    return min(k.frame for k in plan.keyframes if k.scene == keyframe.scene)


def keyframe_cache_key(settings: RenderSettings, plan: FramePlan, scene_prompts: Sequence[ScenePrompt],
                       identity: dict[str, Any], index: int) -> str:
    """The frame cache key of keyframe `index` (its latents and its picture)."""
    keyframe = plan.keyframes[index]
    prompt = scene_prompts[keyframe.scene]
    first = _scene_base_frame(settings, plan, keyframe)
    base_key = [] if first is None else ["scene base", first]  # (dissolves: the key of every run before cuts)
    return cache_key("keyframe", _common_key(settings, identity), prompt.prompt, prompt.negative,
                     keyframe_seed(settings.seed, keyframe.frame), NOISE_DRIFT, *base_key)


def _inbetween(steps: int, first_key: str, second_key: str, frame: int, t: float, scene_change: bool,
               pulse: float) -> _Inbetween:
    schedule, strength = refine_schedule(steps, inbetween_strength(t, scene_change, pulse))
    key = cache_key("smooth", first_key, second_key, t, strength, schedule, GUIDANCE_END)
    return _Inbetween(frame, t, pulse, schedule, strength, steps_for_strength(schedule, strength), key)


def segment_inbetween_keys(settings: RenderSettings, plan: FramePlan, scene_prompts: Sequence[ScenePrompt],
                           identity: dict[str, Any], a: int) -> list[str]:
    """The cache keys of the smooth in-betweens after keyframe `a` (none in fast mode or after the last)."""
    if settings.mode != "smooth" or a + 1 >= len(plan.keyframes):
        return []
    first, second = plan.keyframes[a], plan.keyframes[a + 1]
    first_key = keyframe_cache_key(settings, plan, scene_prompts, identity, a)
    second_key = keyframe_cache_key(settings, plan, scene_prompts, identity, a + 1)
    scene_change = scene_prompts[first.scene] != scene_prompts[second.scene]
    return [_inbetween(settings.steps, first_key, second_key, f.frame, f.t, scene_change, f.pulse).key
            for f in plan.segment(a) if f.t > 0.0]


def _ignore_keyframe(_index: int, _time_s: float, _rgb: np.ndarray) -> None:
    """A worker's unit hands its pictures to the cache, not to listeners."""


def _ignore_frame(_frame: int, _rgb: np.ndarray) -> None:
    """A worker's unit hands its frames to the cache, not to a video."""
