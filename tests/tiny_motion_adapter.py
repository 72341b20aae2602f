"""A tiny AnimateDiff motion adapter that fits the tiny SD 1.5 pipeline (tests/tiny_pipeline.py).

Real motion modules are 400 MB or more and cannot be downloaded in tests, yet animate mode needs a genuine
`MotionAdapter` to run diffusers' AnimateDiff and FreeNoise code. This one has the tiny UNet's block widths
(32, 64) and layers per block, a motion mid block, and random weights (its output layers too, which real
adapters train from zero, so the motion modules visibly change the frames). It can be saved as

* a diffusers folder (`config.json` + `diffusion_pytorch_model.safetensors`, what `from_pretrained` reads), and
* one `.safetensors` file in the original AnimateDiff key layout (`...motion_modules.0.temporal_transformer.
  transformer_blocks.0.attention_blocks.0...`, with the `pos_encoder.pe` tables), as creators publish them.

A mismatched adapter (other block widths) and a pickle file are here for the refusals.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from diffusers import MotionAdapter
from safetensors.torch import save_file

TINY_MOTION_CHANNELS = (32, 64)  # the tiny UNet's block_out_channels
TINY_MOTION_MAX_FRAMES = 32


def build_tiny_motion_adapter(seed: int = 0, *, channels: tuple[int, ...] = TINY_MOTION_CHANNELS,
                              mid_block: bool = True) -> MotionAdapter:
    """A MotionAdapter with 8 heads and 32 norm groups (what every SD 1.5 adapter uses) at toy width, random
    weights; the global torch RNG is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        adapter = MotionAdapter(block_out_channels=channels, motion_layers_per_block=2,
                                motion_num_attention_heads=8, motion_norm_num_groups=32,
                                motion_max_seq_length=TINY_MOTION_MAX_FRAMES, use_motion_mid_block=mid_block)
        with torch.no_grad():
            for name, parameter in adapter.named_parameters():
                # AnimateDiff starts these at zero, where the modules would do nothing (diffusers' MotionAdapter
                # leaves them at nn.Linear's default); a known scale makes the modules visibly change the frames
                if "proj_out" in name:
                    parameter.copy_(torch.randn(parameter.shape) * 0.2)
    return adapter.eval()


def save_tiny_motion_folder(folder: Path, seed: int = 0, **kwargs: object) -> Path:
    """The adapter as a diffusers folder (safetensors weights); returns the folder."""
    build_tiny_motion_adapter(seed, **kwargs).save_pretrained(folder, safe_serialization=True)  # type: ignore[arg-type]
    return folder


def to_original_layout(key: str) -> str:
    """A diffusers MotionAdapter key in the original AnimateDiff layout (the inverse of diffusers'
    `convert_animatediff_checkpoint_to_diffusers`)."""
    key = re.sub(r"(motion_modules\.\d+\.)", r"\1temporal_transformer.", key)
    return (key.replace(".attn1.", ".attention_blocks.0.").replace(".attn2.", ".attention_blocks.1.")
            .replace(".norm1.", ".norms.0.").replace(".norm2.", ".norms.1.").replace(".norm3.", ".ff_norm."))


def save_tiny_motion_file(path: Path, seed: int = 0, **kwargs: object) -> Path:
    """The adapter as one original-layout `.safetensors` file, with each attention's positional table
    (`pos_encoder.pe`, 1 x max frames x width) as the original files carry it; returns the file."""
    adapter = build_tiny_motion_adapter(seed, **kwargs)  # type: ignore[arg-type]
    tensors: dict[str, torch.Tensor] = {}
    for key, tensor in adapter.state_dict().items():
        if ".pos_embed." in key:
            continue
        tensors[to_original_layout(key)] = tensor.detach().contiguous().clone()
        match = re.match(r"(.*\.attention_blocks\.\d+\.)to_q\.weight$", to_original_layout(key))
        if match:
            width = tensor.shape[1]
            tensors[match.group(1) + "pos_encoder.pe"] = torch.zeros(1, TINY_MOTION_MAX_FRAMES, width)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={"format": "pt"})
    return path


def save_pickle_motion_file(path: Path) -> Path:
    """A motion module as a pickle (`.ckpt`), the form the app refuses to open."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(build_tiny_motion_adapter().state_dict(), path)
    return path
