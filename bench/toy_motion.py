"""Toy AnimateDiff motion models that fit the toy world's UNet, for animate mode's rows in bench/quality.py.

No motion model has been trained on the toy world, so animate mode is measured there with untrained ones,
built in the toy UNet's layout (its block widths and layers per block, read from the model's own
`unet/config.json`; a motion mid block, 8 heads and 32 norm groups as every SD 1.5 module has), seeded:

* "zero": every temporal transformer's output projection (`proj_out`) is zero, as AnimateDiff's own code
  starts its modules (`zero_initialize` in its VanillaTemporalModule). Each motion layer then adds nothing to
  its residual, so the motion UNet is the image UNet frame by frame: what animate keeps of the pictures with
  FreeNoise's shared noise, the prompt travel, the motion noise schedule and the flow in-betweens, and no motion.
* "random": the weights exactly as diffusers' `MotionAdapter` initialises them (diffusers does NOT zero
  `proj_out`: it is a default `nn.Linear`), so every motion layer mixes frames at random: how much an
  untrained module corrupts the pictures.

Neither shows motion a trained module would make (water moving, a bird flapping); see bench/README.md.
Each is saved once as a diffusers folder (`config.json` + safetensors) under bench/.cache and reused.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from common import CACHE_DIR

VARIANTS = ("zero", "random")
HEADS = 8
NORM_GROUPS = 32
MAX_FRAMES = 32
_COMPLETE = ".complete"


def unet_layout(sd_folder: Path) -> tuple[tuple[int, ...], int]:
    """(block widths, layers per block) of the diffusers model in `sd_folder`, from its UNet's config."""
    config = json.loads((Path(sd_folder) / "unet" / "config.json").read_text(encoding="utf-8"))
    layers = config["layers_per_block"]
    if not isinstance(layers, int):
        raise ValueError(f"{sd_folder}: a UNet with per-block layer counts {layers} has no toy motion model")
    return tuple(int(c) for c in config["block_out_channels"]), layers


def build_toy_motion_adapter(sd_folder: Path, variant: str, seed: int = 0) -> Any:
    """A `MotionAdapter` that fits `sd_folder`'s UNet, its weights drawn from `seed` (the global torch RNG is
    left as it was); `variant` is "zero" or "random" (see the module docstring)."""
    import torch
    from diffusers import MotionAdapter

    if variant not in VARIANTS:
        raise ValueError(f"unknown toy motion variant {variant!r}: use one of {', '.join(VARIANTS)}")
    channels, layers = unet_layout(sd_folder)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        adapter = MotionAdapter(block_out_channels=channels, motion_layers_per_block=layers,
                                motion_num_attention_heads=HEADS, motion_norm_num_groups=NORM_GROUPS,
                                motion_max_seq_length=MAX_FRAMES, use_motion_mid_block=True)
    if variant == "zero":
        with torch.no_grad():
            for name, parameter in adapter.named_parameters():
                if ".proj_out." in name:
                    parameter.zero_()
    return adapter.eval()


def toy_motion_folder(sd_folder: Path, variant: str, seed: int = 0, cache: Path | None = None) -> Path:
    """The toy motion model for `sd_folder` as a diffusers folder: built once under `cache` (default: the
    benchmarks' cache folder, bench/.cache), then reused.

    The folder's name carries the UNet layout, the variant and the seed, so a toy world with other block
    widths gets its own; a folder left half-written by an interrupted build is built again."""
    channels, layers = unet_layout(sd_folder)
    layout = "-".join(map(str, channels)) + f"x{layers}"
    folder = Path(cache if cache is not None else CACHE_DIR) / f"toy-motion-{variant}-{layout}-seed{seed}"
    if (folder / "config.json").is_file() and (folder / _COMPLETE).is_file():
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    adapter = build_toy_motion_adapter(sd_folder, variant, seed)
    adapter.save_pretrained(folder, safe_serialization=True)
    (folder / _COMPLETE).write_text(f"toy motion model ({variant}) for UNet blocks {layout}, seed {seed}\n",
                                    encoding="utf-8")
    return folder
