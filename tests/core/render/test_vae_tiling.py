"""Tiled VAE decoding on the CPU above 256 px: same picture size, nearly the same picture, less memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hear2see_desktop.core.render.denoise import decode
from hear2see_desktop.core.render.devices import DeviceChoice
from hear2see_desktop.core.render.model_source import resolve_model_source
from hear2see_desktop.core.render.pipeline_cache import get_pipeline, load_pipeline
from hear2see_desktop.core.render.vae_tiling import CPU_VAE_TILE_PX, configure_vae_tiling, vae_tile_px


def test_render_pipelines_decode_in_tiles_above_the_tile_size(tiny_models: tuple[Path, Path, Path]) -> None:
    import torch

    cpu = DeviceChoice("cpu", "float32")
    assert vae_tile_px(cpu) == CPU_VAE_TILE_PX == 256 and vae_tile_px(DeviceChoice("cuda", "float16")) == 512
    tiled = get_pipeline(resolve_model_source(str(tiny_models[0])), cpu).pipe
    assert tiled.vae.use_tiling and tiled.vae.tile_sample_min_size == 256
    whole = load_pipeline(resolve_model_source(str(tiny_models[0])), cpu)  # training's copy: not tiled
    assert not whole.vae.use_tiling

    small = torch.randn(1, 4, 256 // 8, 256 // 8, generator=torch.Generator().manual_seed(0))
    assert np.array_equal(decode(tiled, small), decode(whole, small))  # up to the tile size: one piece
    large = torch.randn(1, 4, 320 // 8, 384 // 8, generator=torch.Generator().manual_seed(1))
    in_tiles, in_one = decode(tiled, large), decode(whole, large)
    assert in_tiles.shape == in_one.shape == (320, 384, 3)
    assert not np.array_equal(in_tiles, in_one)  # the tiles really ran...
    configure_vae_tiling(whole, cpu)
    assert np.array_equal(decode(whole, large), in_tiles)  # ...and configuring a pipeline is all it takes
