"""The classic mode: the distinct images of a clip denoised one by one, with previews and cancellation.

Each distinct prompt is encoded once while the model stays loaded (not once per frame); each image gets its own
CPU-seeded generator so the same seed gives the same picture on any device, and replays are exact.
Images found in the frame cache (by `keys`) are handed out without touching the model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from hear2see_desktop.core.errors import CancelledError
from hear2see_desktop.core.jobs import CancelledFn, ProgressFn
from hear2see_desktop.core.render.events import DenoiseStep, StepFn
from hear2see_desktop.core.render.frame_cache import FrameCache
from hear2see_desktop.core.render.memory_ladder import DECODE, DENOISE, MemoryLadder
from hear2see_desktop.core.render.pipeline_cache import LoadedPipeline, text_condition
from hear2see_desktop.core.render.schedulers import make_scheduler
from hear2see_desktop.core.render.taesd import Decoders
from hear2see_desktop.core.settings import RenderSettings

if TYPE_CHECKING:
    from hear2see_desktop.core.render.denoise import TextCondition
    from hear2see_desktop.core.render.taesd import Decoders

log = logging.getLogger(__name__)

ImageFn = Callable[[int, np.ndarray], None]


@dataclass(frozen=True)
class ScenePrompt:
    """The prompt and negative prompt one scene (or the whole clip) renders with."""

    prompt: str
    negative: str


@dataclass
class UNetCounter:
    """Counts UNet forward calls and the samples they denoised (CFG doubles the samples). A motion UNet's
    sample is a clip (batch, channels, frames, h, w): each of its frames counts, as each costs a picture's
    UNet work."""

    calls: int = 0
    samples: int = 0

    def __call__(self, module: object, args: tuple, kwargs: dict | None = None) -> None:
        self.calls += 1
        sample = args[0] if args else (kwargs or {}).get("sample")
        if sample is None:
            self.samples += 1
        else:
            self.samples += int(sample.shape[0]) * (int(sample.shape[2]) if sample.ndim == 5 else 1)


def render_images(
    loaded: LoadedPipeline,
    settings: RenderSettings,
    seeds: Sequence[int],
    progress: ProgressFn,
    cancelled: CancelledFn,
    on_image: ImageFn,
    prompts: Sequence[ScenePrompt] | None = None,
    cache: FrameCache | None = None,
    keys: Sequence[str] | None = None,
    decoders: Decoders | None = None,
    ladder: MemoryLadder | None = None,
    on_step: StepFn | None = None,
) -> UNetCounter:
    """Render one image per seed; hand each finished RGB uint8 image to `on_image` in order.

    `prompts[i]` is image i's prompt (default: `settings.prompt` for all); with a `cache` and
    `keys[i]`, a cached image i is reused and a new one is stored. `decoders` make the step previews
    and the finished pictures (default: built here, as `Decoders(pipe)`). Each image's denoise and decode run
    on `ladder` (default: a fresh one), which retries them leaner after running out of memory.
    `on_step` hears each denoising step as a `DenoiseStep` (which image, which step, its preview).
    """

    default = ScenePrompt(settings.prompt, settings.negative_prompt)
    prompts = list(prompts) if prompts is not None else [default] * len(seeds)
    pipe = loaded.pipe
    decoders = decoders if decoders is not None else Decoders(pipe)
    ladder = ladder if ladder is not None else MemoryLadder(pipe, loaded.device, settings.width, settings.height)
    pipe.scheduler = make_scheduler(settings.scheduler, pipe.scheduler.config)
    counter = UNetCounter()
    hook = pipe.unet.register_forward_pre_hook(counter, with_kwargs=True)
    steps = settings.steps
    total = max(1, len(seeds) * steps)
    use_cfg = settings.cfg > 1.0
    try:
        for index, seed in enumerate(seeds):
            if cancelled():
                raise CancelledError()
            key = keys[index] if cache is not None and keys is not None else None
            cached = cache.get_image(key) if cache is not None and key is not None else None
            if cached is not None:
                progress((index + 1) * steps, total, f"Image {index + 1}/{len(seeds)} (cached)", None)
                on_image(index, cached)
                continue
            condition = text_condition(loaded, prompts[index].prompt, prompts[index].negative, use_cfg)

            def on_step_end(_pipe: object, step: int, _timestep: object, tensors: dict, index: int = index) -> dict:
                latents = tensors["latents"]
                preview = decoders.preview(latents)
                if on_step is not None:
                    on_step(DenoiseStep(index, step + 1, steps, preview))
                progress(index * steps + step + 1, total, f"Image {index + 1}/{len(seeds)}, step {step + 1}/{steps}",
                         preview)
                if cancelled():
                    raise CancelledError()
                return tensors

            label = f"Image {index + 1}/{len(seeds)}"
            latents = ladder.run(DENOISE, label, partial(_denoise_image, pipe, settings, seed, condition, on_step_end))
            rgb = ladder.run(DECODE, label, partial(decoders.final, pipe, latents))
            if cache is not None and key is not None and ladder.pictures_cacheable:
                cache.put_image(key, rgb)
            on_image(index, rgb)
    finally:
        hook.remove()
    return counter


def _denoise_image(pipe: Any, settings: RenderSettings, seed: int, condition: TextCondition,
                   on_step_end: Callable[..., dict]) -> Any:
    """The clean latents (1, 4, h/8, w/8) of one image; a retry draws the same noise from the same seed."""
    import torch

    use_cfg = settings.cfg > 1.0
    generator = torch.Generator(device="cpu").manual_seed(int(seed))
    with torch.inference_mode():
        return pipe(
            prompt_embeds=condition.prompt_embeds,
            negative_prompt_embeds=condition.negative_embeds if use_cfg else None,
            num_inference_steps=settings.steps,
            guidance_scale=settings.cfg,
            width=settings.width,
            height=settings.height,
            generator=generator,
            output_type="latent",
            callback_on_step_end=on_step_end,
            callback_on_step_end_tensor_inputs=["latents"],
        ).images[:1]
