"""Tiled VAE decoding: how large a picture the VAE decodes in one piece on each device.

The pipeline cache sets it up when a model loads; the memory ladder halves the tiles after running out of
memory; the render job names the tile size in the frame cache's identity (tiles blend slightly differently).
"""

from __future__ import annotations

from typing import Any

from hear2see_desktop.core.render.devices import DeviceChoice

CPU_VAE_TILE_PX = 256
"""On the CPU the VAE decodes pictures larger than this in overlapping tiles of this size: at 512 px the
decode's peak falls from ~1 GB to ~0.45 GB for 1.2-1.4x its time (bench/results/memory.md, three runs),
which keeps a 512 px render's peak RSS within 1.3x the weights. Larger tiles were no faster at 512 px (320
and 384 px tiles), and at 384 px tiles and one piece took about as long, either way round from run to run.
Pictures this size or smaller decode in one piece."""


def vae_tile_px(device: DeviceChoice) -> int:
    """The tile size the render's VAE decodes with on `device` (diffusers' 512 on GPUs: VRAM for larger sizes)."""
    return CPU_VAE_TILE_PX if device.device == "cpu" else 512


def configure_vae_tiling(pipe: Any, device: DeviceChoice, tile_px: int | None = None) -> None:
    """Tiled VAE decoding above `tile_px` (default `vae_tile_px`); a no-op for pictures up to that size."""
    tile = tile_px or vae_tile_px(device)
    vae = pipe.vae
    vae.enable_tiling()
    vae.tile_sample_min_size = tile
    vae.tile_latent_min_size = tile // 2 ** (len(vae.config.block_out_channels) - 1)
