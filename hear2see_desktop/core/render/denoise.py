"""One denoising loop for keyframes and in-betweens: from pure noise, or from a latent part-way.

The pipeline's `__call__` always starts from pure noise; the smooth mode also needs SDEdit-style
partial denoising of an interpolated latent with *our* interpolated noise (the pipeline's img2img
draws its own), so the loop is written here on the pipeline's own parts: its UNet, scheduler
config and VAE. Shapes: latents are (1, 4, height/8, width/8) float tensors for SD 1.5 on the pipeline's
device (`latent_shape`); text embeddings (1, 77, 768) as `pipe.encode_prompt` returns them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hear2see_desktop.core.errors import CancelledError
from hear2see_desktop.core.jobs import CancelledFn
from hear2see_desktop.core.render.schedulers import make_scheduler

StepFn = Callable[[int, int, Any], None]  # (step done, steps in this call, latents) after each step


@dataclass
class TextCondition:
    """Encoded prompt and negative prompt of one scene (negative is None without CFG)."""

    prompt_embeds: Any
    negative_embeds: Any | None


def encode_text(pipe: Any, prompt: str, negative: str, use_cfg: bool) -> TextCondition:
    """Encode once per distinct prompt; the caller keeps the result for every frame that uses it."""
    import torch

    with torch.inference_mode():
        prompt_embeds, negative_embeds = pipe.encode_prompt(
            prompt,
            device=pipe.device,
            num_images_per_prompt=1,
            do_classifier_free_guidance=use_cfg,
            negative_prompt=negative or None,
        )
    return TextCondition(prompt_embeds, negative_embeds if use_cfg else None)


def seeded_noise(seed: int, shape: tuple[int, ...]) -> Any:
    """Unit Gaussian noise from a CPU generator, so a seed gives the same noise on every device."""
    import torch

    generator = torch.Generator(device="cpu").manual_seed(int(seed) % 2**63)
    return torch.randn(shape, generator=generator, dtype=torch.float32)


def latent_shape(pipe: Any, width: int, height: int) -> tuple[int, int, int, int]:
    """The latents of one `width` x `height` picture for this pipeline: its UNet's input channels at
    1/`vae_scale_factor` of the size (SD 1.5: 4 channels at 1/8; other VAEs downsample by other factors)."""
    factor = int(getattr(pipe, "vae_scale_factor", 8))
    return (1, int(pipe.unet.config.in_channels), height // factor, width // factor)


def steps_for_strength(steps: int, strength: float) -> int:
    """UNet steps a partial denoise at `strength` runs: the last `int(steps * strength)` of `steps`."""
    return min(int(steps * strength + 1e-9), steps)


def guided(step_index: int, steps: int, guidance_end: float) -> bool:
    """Whether step `step_index` (0-based, of a `steps`-step schedule) runs with classifier-free guidance.

    Guidance shapes the composition in the early, noisy steps; the late steps refine detail that the
    conditional prediction alone gets right (the "dynamic CFG" recipe in diffusers' callback docs stops
    guidance after 40% of the steps). Stopping it at `guidance_end` of the schedule halves those steps' cost.
    """
    return step_index < guidance_end * steps - 1e-9


def denoise(
    pipe: Any,
    scheduler_name: str,
    steps: int,
    cfg: float,
    condition: TextCondition,
    noise: Any,
    start: Any | None = None,
    strength: float = 1.0,
    seed: int | list[int] = 0,
    cancelled: CancelledFn | None = None,
    on_step: StepFn | None = None,
    guidance_end: float = 1.0,
) -> Any:
    """Clean latents from `noise` (strength 1, `start` ignored) or from `start` re-noised to `strength`.

    With `start`, only the last `steps_for_strength(steps, strength)` timesteps of a `steps`-step
    schedule run (as diffusers' img2img does); zero such steps return `start` unchanged, which is
    how the smooth mode skips the UNet for frames next to a keyframe. `seed` drives the sampler's
    own randomness (Euler a), so a frame re-renders identically; a batch (every tensor with n rows)
    takes one seed per row, and each row is denoised as it would be alone. CFG runs only on the steps that
    `guided` allows under `guidance_end` (1.0: all of them, as diffusers' pipeline does).
    """
    import torch

    scheduler = make_scheduler(scheduler_name, pipe.scheduler.config)
    device = pipe.device
    dtype = pipe.unet.dtype
    scheduler.set_timesteps(steps, device=device)
    noise = noise.to(device=device, dtype=dtype)
    t_start = 0
    if start is None or strength >= 1.0:
        timesteps = scheduler.timesteps
        latents = noise * scheduler.init_noise_sigma
    else:
        run = steps_for_strength(steps, strength)
        if run == 0:
            return start
        t_start = steps - run
        timesteps = scheduler.timesteps[t_start * scheduler.order:]
        if hasattr(scheduler, "set_begin_index"):
            scheduler.set_begin_index(t_start * scheduler.order)
        latents = scheduler.add_noise(start.to(device=device, dtype=dtype), noise, timesteps[:1])
    use_cfg = condition.negative_embeds is not None and cfg > 1.0
    conditional = condition.prompt_embeds.to(device=device, dtype=dtype)
    both = (torch.cat([condition.negative_embeds.to(device=device, dtype=dtype), conditional]) if use_cfg
            else conditional)
    seeds = seed if isinstance(seed, list) else [seed]
    generators = [torch.Generator(device="cpu").manual_seed(int(value) % 2**63) for value in seeds]
    extra: dict[str, Any] = {}
    if "generator" in _step_parameters(scheduler):
        extra["generator"] = generators if isinstance(seed, list) else generators[0]
    with torch.inference_mode():
        for index, timestep in enumerate(timesteps):
            if cancelled is not None and cancelled():
                raise CancelledError()
            with_cfg = use_cfg and guided(t_start + index, steps, guidance_end)
            model_input = torch.cat([latents] * 2) if with_cfg else latents
            model_input = scheduler.scale_model_input(model_input, timestep)
            embeds = both if with_cfg else conditional
            predicted = pipe.unet(model_input, timestep, encoder_hidden_states=embeds, return_dict=False)[0]
            if with_cfg:
                uncond, text = predicted.chunk(2)
                predicted = uncond + cfg * (text - uncond)
            latents = scheduler.step(predicted, timestep, latents, return_dict=False, **extra)[0]
            if on_step is not None:
                on_step(index + 1, len(timesteps), latents)
    return latents


def decode(pipe: Any, latents: Any) -> np.ndarray:
    """The RGB uint8 (h, w, 3) picture of one clean latent, through the model's VAE."""
    return decode_batch(pipe, latents[:1])[0]


def decode_batch(pipe: Any, latents: Any) -> list[np.ndarray]:
    """The RGB uint8 (h, w, 3) pictures of a batch of clean latents, in one VAE call."""
    import torch

    vae = pipe.vae
    with torch.inference_mode():
        image = vae.decode(latents.to(device=pipe.device, dtype=vae.dtype) / vae.config.scaling_factor,
                           return_dict=False)[0]
    array = (image.float().clamp(-1.0, 1.0) * 0.5 + 0.5).permute(0, 2, 3, 1).cpu().numpy()
    return list((array * 255.0 + 0.5).astype(np.uint8))


def _step_parameters(scheduler: Any) -> set[str]:
    import inspect

    return set(inspect.signature(scheduler.step).parameters)
