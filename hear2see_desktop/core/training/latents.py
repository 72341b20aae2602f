"""Each training image through the VAE once: resize, centre crop, and its mirror image encoded too.

The encoder is the slowest part of a small run's set-up and its output never changes, so the latent
distribution (mean and standard deviation, shape (4, res/8, res/8)) of every image and of its
horizontal flip is kept on the CPU in float32; each step samples from it with that step's generator.
Encoding the flip (rather than flipping the latent) keeps the flipped sample exactly what the VAE
would give for the mirrored picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hear2see_desktop.core.jobs import CancelledFn, ProgressFn, raise_if_cancelled


@dataclass
class CachedLatents:
    """Per image: the latent mean and std of [plain, flipped] (flipped only when flips are on)."""

    means: list[list[Any]]
    stds: list[list[Any]]
    scaling_factor: float
    shift_factor: float

    def sample(self, index: int, flipped: bool, generator: Any) -> Any:
        """One scaled latent (4, h, w) for the UNet, drawn with `generator` (CPU)."""
        import torch

        side = 1 if flipped else 0
        mean, std = self.means[index][side], self.stds[index][side]
        latent = mean + std * torch.randn(mean.shape, generator=generator, dtype=mean.dtype)
        return (latent - self.shift_factor) * self.scaling_factor


def image_tensor(path: Path, resolution: int) -> Any:
    """The image as a (3, res, res) float tensor in [-1, 1]: shorter side resized to `resolution`, centre crop."""
    import numpy as np
    import torch
    from PIL import Image, ImageOps

    with Image.open(path) as opened:
        image = ImageOps.exif_transpose(opened).convert("RGB")
    scale = resolution / min(image.width, image.height)
    size = (max(resolution, round(image.width * scale)), max(resolution, round(image.height * scale)))
    image = image.resize(size, Image.Resampling.BICUBIC)
    left, top = (image.width - resolution) // 2, (image.height - resolution) // 2
    image = image.crop((left, top, left + resolution, top + resolution))
    pixels = torch.from_numpy(np.asarray(image, dtype=np.float32).copy()).permute(2, 0, 1)
    return pixels / 127.5 - 1.0


def encode_images(vae: Any, paths: list[Path], resolution: int, flip: bool,
                  progress: ProgressFn, cancelled: CancelledFn) -> CachedLatents:
    """Encode every image (and its mirror when `flip`) once, in float32 on the VAE's device."""
    import torch

    device = vae.device
    original_dtype = vae.dtype
    if original_dtype != torch.float32:
        vae.to(dtype=torch.float32)  # a half-precision VAE can overflow; it runs once per image
    means: list[list[Any]] = []
    stds: list[list[Any]] = []
    try:
        with torch.no_grad():
            for done, path in enumerate(paths):
                raise_if_cancelled(cancelled)
                progress(done, len(paths), f"Encoding the images, {done + 1}/{len(paths)}", None)
                pixels = image_tensor(path, resolution)
                batch = torch.stack([pixels, pixels.flip(-1)] if flip else [pixels]).to(device)
                dist = vae.encode(batch).latent_dist
                means.append(list(dist.mean.float().cpu().unbind(0)))
                stds.append(list(dist.std.float().cpu().unbind(0)))
    finally:
        if original_dtype != torch.float32:
            vae.to(dtype=original_dtype)
    config = vae.config
    shift = getattr(config, "shift_factor", None)
    return CachedLatents(means, stds, float(config.scaling_factor), float(shift) if shift is not None else 0.0)
