"""Animate mode: one continuous clip from an AnimateDiff motion model, its prompt travelling with the scenes.

The whole narration is denoised as one clip at the motion model's own rate (`MOTION_FPS`: AnimateDiff's
modules learnt motion from videos sampled at about 8 frames a second), with FreeNoise's sliding context
windows (`CONTEXT_FRAMES`, moved by `CONTEXT_STRIDE`) so clips longer than the modules' window stay one
continuous take, and the storyboard's scenes as FreeNoise's frame-indexed prompt schedule
(core/motion/prompt_schedule.py). The clip's latents are one tensor (the motion layers attend across
frames), but its pictures are decoded a few at a time and streamed: each output frame at the output rate
is a native frame or an optical-flow in-between of the two around it (core/motion/flow_interp.py), written
in order as soon as both exist.

Cost: every denoising step runs the UNet once on the whole clip, so a render costs steps x native frames
UNet samples (twice that with CFG), counted frame by frame (`UNetCounter`).

The frame cache keeps the clip's clean latents under one key (everything they depend on) and each decoded
native frame under a key of its own: a render of the same clip runs no UNet, and a render cancelled while
decoding goes on from the frames it had. (A clip is denoised as a whole, so a render cancelled mid-denoise
starts its denoise again.)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from hear2see_desktop.core.errors import CancelledError
from hear2see_desktop.core.frame_timing import frame_count
from hear2see_desktop.core.jobs import CancelledFn, ProgressFn
from hear2see_desktop.core.motion.flow_interp import interpolate_pair, zoom_pulse
from hear2see_desktop.core.motion.prompt_schedule import PromptSchedule, TravelFn
from hear2see_desktop.core.render.events import DenoiseStep, FinishedFn, StepFn
from hear2see_desktop.core.render.frame_cache import FrameCache, cache_key
from hear2see_desktop.core.render.frames import UNetCounter
from hear2see_desktop.core.render.memory_ladder import DECODE, DENOISE, MemoryLadder
from hear2see_desktop.core.render.pipeline_cache import LoadedPipeline
from hear2see_desktop.core.render.schedulers import make_scheduler
from hear2see_desktop.core.render.taesd import Decoders
from hear2see_desktop.core.settings import RenderSettings

FrameFn = Callable[[int, np.ndarray], None]  # (output frame index, RGB) in frame order
ImageFn = FinishedFn  # (native frame index, time s, RGB)

MOTION_FPS = 8
"""The rate the motion model renders at (never more than the output rate: no frame made that is not shown)."""
CONTEXT_FRAMES = 16
"""FreeNoise's window: the clip length SD 1.5 motion modules were trained on."""
CONTEXT_STRIDE = 4
"""How far each window moves along a longer clip: every frame is seen by several windows."""
DECODE_CHUNK = 8
"""Native frames decoded per VAE call: a batch keeps a GPU busy, and the pictures held stay few."""
MOTION_NOISE_SCHEDULE = {"beta_schedule": "linear", "clip_sample": False, "timestep_spacing": "linspace",
                         "steps_offset": 1}
"""The noise schedule AnimateDiff's motion modules were trained with (and AnimateLCM distilled on), over the
model's own: SD 1.5 trains on scaled-linear betas, the motion modules on linear ones, and sampling a motion model
on the schedule it never saw washes out its motion (AnimateDiff's and diffusers' own examples set these)."""


@dataclass(frozen=True)
class ClipTiming:
    """The native clip and the output video: rates, frame counts, and each output frame's native position."""

    native_fps: int
    native_frames: int
    output_frames: int
    output_fps: int

    def position(self, output_frame: int) -> float:
        """Where output frame i falls in the native clip (in native frames)."""
        return output_frame * self.native_fps / self.output_fps


def clip_timing(duration_s: float, fps: int) -> ClipTiming:
    """The native frames a narration of `duration_s` needs for an output at `fps`: enough that the last output
    frame lies on or before the last native frame."""
    native_fps = min(MOTION_FPS, fps)
    output_frames = frame_count(duration_s, fps)
    native_frames = math.ceil((output_frames - 1) * native_fps / fps - 1e-9) + 1
    return ClipTiming(native_fps, native_frames, output_frames, fps)


@dataclass(frozen=True)
class AnimateWork:
    """What an animate clip's pixels depend on besides the settings and the models, as plain data: the clip's
    timing, its prompt schedule, the loudness that paces the prompt's travel (`envelope`, one value per native
    frame; None without reactivity), the output frames' onset pulses, and the clip's cache key. A cluster worker
    renders from it the very clip a local render makes."""

    timing: ClipTiming
    schedule: PromptSchedule
    envelope: np.ndarray | None
    reactivity: float
    pulse: np.ndarray | None
    clip_key: str

    def frame_keys(self) -> list[str]:
        """The cache keys of the clip's decoded native frames."""
        return [cache_key("animate frame", self.clip_key, index) for index in range(self.timing.native_frames)]

    def renderer(self, pipe: Any, loaded: LoadedPipeline, settings: RenderSettings, decoders: Decoders,
                 ladder: MemoryLadder, cache: FrameCache) -> AnimateRenderer:
        from hear2see_desktop.core.motion.prompt_schedule import paced_travel

        travel = paced_travel(self.envelope, self.reactivity) if self.envelope is not None else None
        return AnimateRenderer(pipe, loaded, settings, self.timing, self.schedule, decoders, ladder, travel=travel,
                               pulse=self.pulse, cache=cache, clip_key=self.clip_key)


class AnimateRenderer:
    """Denoises one clip on an `AnimateDiffPipeline` and streams its output frames in order."""

    def __init__(self, pipe: Any, loaded: LoadedPipeline, settings: RenderSettings, timing: ClipTiming,
                 schedule: PromptSchedule, decoders: Decoders, ladder: MemoryLadder, travel: TravelFn | None = None,
                 pulse: np.ndarray | None = None, cache: FrameCache | None = None, clip_key: str = "") -> None:
        """`pipe`: the animate pipeline sharing `loaded`'s modules (render/motion_pipeline.py); `decoders` make the
        step previews and the finished pictures; `ladder` runs the denoise and each decode, leaner after running
        out of memory. With audio reactivity, `travel` paces the prompt's travel across each cut (None: FreeNoise's
        even blend) and `pulse` (one strength in [0, 1] per output frame) punches the picture in on onsets; `cache`
        keeps the clip under `clip_key` (see the module docstring)."""
        self.pipe = pipe
        self.loaded = loaded
        self.settings = settings
        self.timing = timing
        self.schedule = schedule
        self.decoders = decoders
        self.ladder = ladder
        self.travel = travel
        self.pulse = pulse
        self.cache = cache if cache is not None else FrameCache(None)
        self.clip_key = clip_key
        self.counter = UNetCounter()
        self._total = settings.steps + timing.native_frames

    def run(self, progress: ProgressFn, cancelled: CancelledFn, on_frame: FrameFn, on_image: ImageFn,
            on_step: StepFn) -> None:
        """Denoise the clip (a preview and a cancel check after every step), then decode it: each native frame
        goes to `on_image` (index, time s, RGB), each output frame to `on_frame` in order."""
        self._write(self._latents(progress, cancelled, on_step), progress, cancelled, on_frame, on_image)

    def make_pictures(self, progress: ProgressFn, cancelled: CancelledFn, on_step: StepFn) -> None:
        """Only the clip's latents and native pictures, into the cache (a cluster worker's share: the client
        makes the output frames from them)."""
        latents = self._latents(progress, cancelled, on_step)
        for first in range(0, self.timing.native_frames, DECODE_CHUNK):
            if cancelled():
                raise CancelledError()
            self._decoded(first, latents[0, :, first:first + DECODE_CHUNK].permute(1, 0, 2, 3).contiguous())

    def _latents(self, progress: ProgressFn, cancelled: CancelledFn, on_step: StepFn) -> Any:
        """The clip's clean latents: from the cache, or denoised (and kept there)."""
        cached = self.cache.get_array(self.clip_key)
        if cached is not None:
            import torch

            latents = torch.from_numpy(cached)
            progress(self.settings.steps, self._total, f"Animation of {self.timing.native_frames} frames (cached)",
                     None)
        else:
            hook = self.pipe.unet.register_forward_pre_hook(self.counter, with_kwargs=True)
            try:
                latents = self.ladder.run(DENOISE, f"Animation of {self.timing.native_frames} frames",
                                          partial(self._denoise, progress, cancelled, on_step)).float().cpu()
            finally:
                hook.remove()
            self.cache.put_array(self.clip_key, latents.numpy())
        return latents

    # --- denoising -----------------------------------------------------------------------------
    def _denoise(self, progress: ProgressFn, cancelled: CancelledFn, on_step: StepFn) -> Any:
        """The clip's clean latents (1, 4, frames, h/8, w/8); a retry starts again from the same seed."""
        import torch

        s, pipe, frames = self.settings, self.pipe, self.timing.native_frames
        config = self.loaded.pipe.scheduler.config
        pipe.scheduler = make_scheduler(s.scheduler, {**config, **MOTION_NOISE_SCHEDULE} if s.animate_version >= 2
                                        else config)
        self.ladder.enable_free_noise(pipe, context_length=min(CONTEXT_FRAMES, frames), context_stride=CONTEXT_STRIDE,
                                      prompt_interpolation_callback=self.travel)
        generator = torch.Generator(device="cpu").manual_seed(int(s.seed))
        starts = self.schedule.scene_frames

        def on_step_end(_pipe: Any, step: int, _timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            # Each step previews another scene's first frame, so the user watches every subject form.
            frame = starts[step % len(starts)]
            preview = self.decoders.preview(tensors["latents"][:, :, frame])
            on_step(DenoiseStep(frame, step + 1, s.steps, preview))
            progress(step + 1, self._total, f"Animating {frames} frames, step {step + 1}/{s.steps}", preview)
            if cancelled():
                raise CancelledError()
            return tensors

        with torch.inference_mode():
            return pipe(prompt=self.schedule.prompts, negative_prompt=self.schedule.negatives, num_frames=frames,
                        num_inference_steps=s.steps, guidance_scale=s.cfg, width=s.width, height=s.height,
                        generator=generator, output_type="latent", callback_on_step_end=on_step_end,
                        callback_on_step_end_tensor_inputs=["latents"]).frames

    # --- decoding and writing ------------------------------------------------------------------
    def _write(self, latents: Any, progress: ProgressFn, cancelled: CancelledFn, on_frame: FrameFn,
               on_image: ImageFn) -> None:
        """Decode the native frames a chunk at a time and write every output frame as soon as the native frames
        on both sides of it are decoded."""
        timing = self.timing
        out_index = 0
        previous: np.ndarray | None = None
        for first in range(0, timing.native_frames, DECODE_CHUNK):
            if cancelled():
                raise CancelledError()
            chunk = latents[0, :, first:first + DECODE_CHUNK].permute(1, 0, 2, 3).contiguous()  # (n, 4, h/8, w/8)
            pictures = self._decoded(first, chunk)
            for offset, picture in enumerate(pictures):
                index = first + offset
                on_image(index, index / timing.native_fps, picture)
                if previous is not None:
                    out_index = self._emit(out_index, index - 1, previous, picture, on_frame)
                previous = picture
            progress(self.settings.steps + first + len(pictures), self._total,
                     f"Decoding frame {first + len(pictures)}/{timing.native_frames}", None)
        assert previous is not None
        while out_index < timing.output_frames:  # on or past the last native frame
            self._output(out_index, previous, on_frame)
            out_index += 1

    def _decoded(self, first: int, chunk: Any) -> list[np.ndarray]:
        """The pictures of native frames first.. (their clean latents `chunk`), from the cache when it has them
        all, else decoded (and kept, unless a leaner VAE tiling makes them differ from what the keys say)."""
        keys = [cache_key("animate frame", self.clip_key, first + offset) for offset in range(chunk.shape[0])]
        cached = [self.cache.get_image(key) for key in keys]
        if all(picture is not None for picture in cached):
            return [picture for picture in cached if picture is not None]
        label = f"Frames {first + 1}-{first + chunk.shape[0]}"
        pictures = self.ladder.run(DECODE, label, partial(self.decoders.final_batch, self.loaded.pipe, chunk))
        if self.ladder.pictures_cacheable:
            for key, picture in zip(keys, pictures, strict=True):
                self.cache.put_image(key, picture)
        return pictures

    def _emit(self, out_index: int, native: int, first: np.ndarray, second: np.ndarray, on_frame: FrameFn) -> int:
        """Write the output frames that fall from native frame `native` up to (not on) the next; returns the next
        output frame's index."""
        positions: list[tuple[int, float]] = []
        while out_index < self.timing.output_frames and self.timing.position(out_index) < native + 1 - 1e-9:
            positions.append((out_index, max(0.0, self.timing.position(out_index) - native)))
            out_index += 1
        pictures = interpolate_pair(first, second, [t for _, t in positions]) if positions else []
        for (index, _t), picture in zip(positions, pictures, strict=True):
            self._output(index, picture, on_frame)
        return out_index

    def _output(self, index: int, picture: np.ndarray, on_frame: FrameFn) -> None:
        """Output frame `index`, punched in by its onset pulse when the sound paces the clip."""
        pulse = 0.0 if self.pulse is None else float(self.pulse[index])
        on_frame(index, zoom_pulse(picture, pulse) if pulse > 0 else picture)
