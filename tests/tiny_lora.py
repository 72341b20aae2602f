"""A LoRA for the tiny test pipeline, saved the way diffusers' trainers save one.

Random (non-zero) LoRA weights on the UNet attention projections, so applying it visibly
changes the render; saved with `StableDiffusionPipeline.save_lora_weights` (safetensors).
"""

from __future__ import annotations

from pathlib import Path

import torch


def save_tiny_lora(diffusers_dir: Path, out_dir: Path, seed: int = 1, rank: int = 4) -> Path:
    """Write `pytorch_lora_weights.safetensors` for the tiny pipeline in `diffusers_dir`; returns the file."""
    from diffusers import StableDiffusionPipeline, UNet2DConditionModel
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    unet = UNet2DConditionModel.from_pretrained(diffusers_dir, subfolder="unet", local_files_only=True)
    unet.add_adapter(LoraConfig(r=rank, lora_alpha=rank, target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in unet.named_parameters():
            if "lora_" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.5)
    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    out_dir.mkdir(parents=True, exist_ok=True)
    StableDiffusionPipeline.save_lora_weights(out_dir, unet_lora_layers=layers, safe_serialization=True)
    return out_dir / "pytorch_lora_weights.safetensors"
