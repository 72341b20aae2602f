"""A toy Stable Diffusion trained on the toy world: SD 1.5's architecture and schedule at toy size.

`AutoencoderKL` with four levels (SD's 8x latent downscale: 64x64 pictures are 4x8x8 latents) and a
`UNet2DConditionModel` with cross-attention on the toy CLIP's text encoder (trained first, then frozen:
the UNet learns to follow a text model that already separates the world's words). SD 1.5's scheduler
configuration, epsilon prediction, caption dropout so classifier-free guidance works, EMA weights.
Saved as a diffusers folder that `StableDiffusionPipeline.from_pretrained` and `hear2see render
--model` load offline.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from hear2see_desktop.core.prompt.builder import DEFAULT_NEGATIVE
from tests.toyworld import world
from tests.toyworld.optim import warmup_cosine

VAE_CHANNELS = (16, 32, 64, 64)  # cheap at full size, room where the 8x8 latents must hold the objects
UNET_CHANNELS = (64, 128)
CAPTION_DROPOUT = 0.1
# What a dropped caption becomes: no text, or the negative prompt the app sends with every render, so
# classifier-free guidance in the app (its default negative as the unconditional side) pushes away from
# "nothing in particular", as a real SD 1.5 does with it.
UNCONDITIONAL = ("", DEFAULT_NEGATIVE)
SD15_SCHEDULER = {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012,
                  "beta_schedule": "scaled_linear", "prediction_type": "epsilon", "steps_offset": 1,
                  "clip_sample": False, "set_alpha_to_one": False, "timestep_spacing": "leading"}


def make_vae() -> Any:
    from diffusers import AutoencoderKL

    levels = len(VAE_CHANNELS)
    return AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * levels,
                         up_block_types=("UpDecoderBlock2D",) * levels, block_out_channels=VAE_CHANNELS,
                         layers_per_block=2, latent_channels=4, norm_num_groups=8, sample_size=world.SIZE_PX)


def make_unet(cross_attention_dim: int) -> Any:
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(
        sample_size=world.SIZE_PX // 8, in_channels=4, out_channels=4, block_out_channels=UNET_CHANNELS,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D"), layers_per_block=1,
        cross_attention_dim=cross_attention_dim, attention_head_dim=8, norm_num_groups=32)


def to_unit(pictures: np.ndarray) -> torch.Tensor:
    """(n, 64, 64, 3) uint8 -> (n, 3, 64, 64) floats in [-1, 1], as the SD pipeline's VAE sees them."""
    return torch.from_numpy(pictures).permute(0, 3, 1, 2).float() / 127.5 - 1.0


@dataclass
class VaeTraining:
    steps: int = 2000
    batch: int = 32
    pictures: int = 8000
    lr: float = 2e-3
    kl_weight: float = 1e-6
    object_weight: float = 20.0  # a pixel of an object counts this much more than one of sky or ground
    # Pixel error alone blurs thin shapes (sun rays, wings, masts), and a blurred green sun reads as a tree: an
    # L1 term on the pictures' Sobel gradients keeps edges. It lifted what the toy CLIP names right after an
    # encode and decode alone from 0.74 to 0.84 (200 held-out pictures), the ceiling of any UNet on top.
    edge_weight: float = 0.5
    seed: int = 1


def sobel_edges(x: torch.Tensor) -> torch.Tensor:
    """Horizontal and vertical Sobel gradients of each channel of (n, 3, h, w) pictures: (n, 6, h, w)."""
    sobel = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    kernel = torch.stack([sobel, sobel.T])[:, None].repeat(3, 1, 1, 1)
    return F.conv2d(x, kernel, padding=1, groups=3)


def weighted_pictures(count: int, seed: int, object_weight: float) -> tuple[np.ndarray, torch.Tensor]:
    """`count` training pictures (n, 64, 64, 3) and per-pixel loss weights (n, 1, 64, 64) of mean 1 that weigh
    the objects and their edges `object_weight` times more: plain pixel error blurs the small objects away (the
    sky and the ground are most of every picture), and the objects are what the captions name."""
    drawn = [e.picture_and_mask() for e in world.examples(world.training_scenes(), count, seed=seed,
                                                           with_app_prompts=False)]
    pictures = np.stack([picture for picture, _ in drawn])
    masks = F.max_pool2d(torch.from_numpy(np.stack([mask for _, mask in drawn]))[:, None], 3, 1, 1)
    weights = 1.0 + object_weight * masks
    return pictures, weights / weights.mean()


def train_vae(recipe: VaeTraining | None = None, log: Any = print) -> Any:
    """An AutoencoderKL that reconstructs the world's pictures; its scaling factor gives latents unit std."""
    recipe = recipe or VaeTraining()
    torch.manual_seed(recipe.seed)
    rng = random.Random(recipe.seed)
    pictures, weights = weighted_pictures(recipe.pictures, recipe.seed + 10, recipe.object_weight)
    vae = make_vae()
    optimiser = torch.optim.AdamW(vae.parameters(), lr=recipe.lr, weight_decay=0.0)
    schedule = warmup_cosine(optimiser, recipe.steps, 50)
    vae.train()
    for step in range(recipe.steps):
        index = rng.sample(range(len(pictures)), recipe.batch)
        x = to_unit(pictures[index])
        posterior = vae.encode(x).latent_dist
        recon = vae.decode(posterior.sample()).sample
        mse = F.mse_loss(recon, x)
        loss = ((recon - x) ** 2 * weights[index]).mean() + recipe.kl_weight * posterior.kl().mean()
        if recipe.edge_weight:
            loss = loss + recipe.edge_weight * ((sobel_edges(recon) - sobel_edges(x)).abs() * weights[index]).mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        if step % 200 == 0 or step == recipe.steps - 1:
            log(f"vae step {step}/{recipe.steps} mse {mse.item():.4f}")
    vae.eval()
    with torch.inference_mode():
        latents = torch.cat([vae.encode(to_unit(pictures[i:i + 256])).latent_dist.mean
                             for i in range(0, min(len(pictures), 2048), 256)])
    vae.register_to_config(scaling_factor=float(1.0 / latents.std()))
    return vae


@dataclass
class DecoderPolish:
    """The VAE's decoder trained on with its encoder frozen, as Stable Diffusion's own ft-MSE VAE was: the
    latents (so the UNet trained on them) stay as they are, and what is drawn from them gets sharper. Noise on
    the latents stands for the UNet's small errors, which the decoder meets in every render. From world v4's
    VAE, 3,000 steps lifted what the toy CLIP names in encoded-and-decoded held-out pictures from 0.815 to 0.835,
    and in the toy SD's renders from 0.79 to 0.80 (1,500 steps at 2e-4: 0.795)."""

    steps: int = 3000
    batch: int = 32
    pictures: int = 8000
    picture_seed: int = 30
    lr: float = 3e-4
    latent_noise: float = 0.1  # times the latents' std
    object_weight: float = 20.0
    edge_weight: float = 0.5
    seed: int = 7


def polish_decoder(vae: Any, recipe: DecoderPolish | None = None, log: Any = print) -> Any:
    """Train `vae`'s decoder (and its post-quant conv) in place on the world's pictures; the encoder is frozen."""
    recipe = recipe or DecoderPolish()
    torch.manual_seed(recipe.seed)
    rng = random.Random(recipe.seed)
    pictures, weights = weighted_pictures(recipe.pictures, recipe.picture_seed, recipe.object_weight)
    vae.requires_grad_(False)
    trained = [*vae.decoder.parameters(), *vae.post_quant_conv.parameters()]
    for parameter in trained:
        parameter.requires_grad_(True)
    optimiser = torch.optim.AdamW(trained, lr=recipe.lr, weight_decay=0.0)
    schedule = warmup_cosine(optimiser, recipe.steps, 50)
    vae.train()
    for step in range(recipe.steps):
        index = rng.sample(range(len(pictures)), recipe.batch)
        x = to_unit(pictures[index])
        with torch.no_grad():
            latents = vae.encode(x).latent_dist.sample()
            if recipe.latent_noise:
                latents = latents + recipe.latent_noise * latents.std() * torch.randn_like(latents)
        recon = vae.decode(latents).sample
        loss = ((recon - x) ** 2 * weights[index]).mean() + recipe.edge_weight * (
            (sobel_edges(recon) - sobel_edges(x)).abs() * weights[index]).mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        if step % 200 == 0 or step == recipe.steps - 1:
            log(f"vae decoder polish step {step}/{recipe.steps} loss {loss.item():.4f}")
    vae.requires_grad_(False)
    return vae.eval()


@dataclass
class UnetTraining:
    steps: int = 9000
    batch: int = 64
    pictures: int = 16_000
    lr: float = 1e-3
    ema: float = 0.999
    min_snr: float = 5.0  # Min-SNR loss weighting (Hang et al. 2023): the easy low-noise steps stop dominating
    # A latent cell the objects touch counts this much more: the sky and the ground fill most of the 8x8 cells,
    # and an unweighted loss let the UNet paint settings well and leave out (or blur) what the captions name.
    object_weight: float = 4.0
    seed: int = 2
    warmup: int = 200


# The first run's learning rate decays to nothing by 9,000 steps while it still improves (object and colour named
# 0.62, 0.73, 0.745 at 3,000, 6,000, 9,000): a shorter cosine run from its weights as the world ships them, at a
# third of its rate and on other batches, goes on learning where it stopped (0.79). A further run at half that
# rate gave nothing more (0.785), so there is one; `train_into` runs each stage listed here in turn.
POLISH = (UnetTraining(steps=4500, lr=3e-4, seed=3, warmup=100),)


def cached_text_encoder(tokenizer: Any, text_encoder: Any) -> Callable[[list[str]], torch.Tensor]:
    """Captions to frozen text-encoder states, each distinct caption encoded once: the world has few
    captions and training asks for them thousands of times."""
    encoded: dict[str, torch.Tensor] = {}

    def encode(batch: list[str]) -> torch.Tensor:
        missing = sorted({t for t in batch if t not in encoded})
        if missing:
            tokens = tokenizer(missing, padding="max_length", max_length=tokenizer.model_max_length,
                               truncation=True, return_tensors="pt")
            with torch.inference_mode():
                hidden = text_encoder(tokens.input_ids)[0]
            encoded.update(zip(missing, hidden.clone(), strict=True))
        return torch.stack([encoded[t] for t in batch])

    return encode


def train_unet(vae: Any, text_encoder: Any, tokenizer: Any, recipe: UnetTraining | None = None,
               log: Any = print, checkpoint: Any = None, start: Any = None) -> Any:
    """A text-conditioned UNet on the VAE's latents, the text encoder frozen; returns the EMA weights.

    `start`, when given, is a UNet to go on training (a copy; it is left as it is) instead of a new one.
    `checkpoint(step, ema)`, when given, is called every 1,000 steps (to watch a long run learn).
    """
    recipe = recipe or UnetTraining()
    from diffusers import DDPMScheduler

    torch.manual_seed(recipe.seed)
    rng = random.Random(recipe.seed)
    data = world.examples(world.training_scenes(), recipe.pictures, seed=recipe.seed + 20)
    scale = vae.config.scaling_factor
    latents, masks = [], []
    with torch.inference_mode():
        for i in range(0, len(data), 256):
            drawn = [e.picture_and_mask() for e in data[i:i + 256]]
            latents.append(vae.encode(to_unit(np.stack([p for p, _ in drawn]))).latent_dist.mean * scale)
            masks.append(torch.from_numpy(np.stack([m for _, m in drawn]))[:, None])
    latents = torch.cat(latents)
    cells = F.max_pool2d(torch.cat(masks).float(), 8)  # 1 where any object pixel falls in the latent cell
    weights = 1.0 + recipe.object_weight * cells
    weights = weights / weights.mean()
    texts = [[c.text for c in e.captions] for e in data]
    text_encoder.requires_grad_(False).eval()
    encode = cached_text_encoder(tokenizer, text_encoder)

    unet = make_unet(text_encoder.config.hidden_size) if start is None else copy.deepcopy(start).requires_grad_(True)
    ema = copy.deepcopy(unet).requires_grad_(False)
    noise_schedule = DDPMScheduler.from_config(SD15_SCHEDULER)
    optimiser = torch.optim.AdamW(unet.parameters(), lr=recipe.lr, weight_decay=0.01)
    schedule = warmup_cosine(optimiser, recipe.steps, recipe.warmup)
    unet.train()
    for step in range(recipe.steps):
        index = rng.sample(range(len(data)), recipe.batch)
        prompts = [rng.choice(UNCONDITIONAL) if rng.random() < CAPTION_DROPOUT else rng.choice(texts[i]) for i in index]
        clean = latents[index]
        noise = torch.randn_like(clean)
        t = torch.randint(0, noise_schedule.config.num_train_timesteps, (recipe.batch,))
        noisy = noise_schedule.add_noise(clean, noise, t)
        prediction = unet(noisy, t, encoder_hidden_states=encode(prompts)).sample
        alphas = noise_schedule.alphas_cumprod[t]
        snr = alphas / (1 - alphas)
        weight = torch.clamp(snr, max=recipe.min_snr) / snr
        error = F.mse_loss(prediction, noise, reduction="none") * weights[index]
        loss = (error.mean(dim=(1, 2, 3)) * weight).mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        decay = min(recipe.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for kept, live in zip(ema.parameters(), unet.parameters(), strict=True):
                kept.mul_(decay).add_(live.detach(), alpha=1 - decay)
        if step % 250 == 0 or step == recipe.steps - 1:
            log(f"unet step {step}/{recipe.steps} loss {loss.item():.4f}")
        if checkpoint is not None and step and step % 1000 == 0:
            checkpoint(step, ema)
    return ema.eval()


def save_pipeline(folder: Path, vae: Any, unet: Any, text_encoder: Any, tokenizer: Any) -> Path:
    """The diffusers folder: SD 1.5's layout, the toy parts, SD 1.5's scheduler (DPM++ 2M as the app's default)."""
    from diffusers import PNDMScheduler, StableDiffusionPipeline

    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                   scheduler=PNDMScheduler.from_config({**SD15_SCHEDULER, "skip_prk_steps": True}),
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder
