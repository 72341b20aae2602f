"""LoRAs for the tiny test pipeline, in the key formats creators' files come in.

Random (non-zero) LoRA weights on the UNet attention projections (and, for kohya, the text encoder's), so
applying one visibly changes the render. The same random factors can be written as

* `save_tiny_lora`: diffusers' own format (`unet.<module>.lora.down.weight`), through `save_lora_weights`;
* `save_tiny_lora_peft`: the PEFT format newer trainers write (`unet.<module>.lora_A.weight`);
* `save_tiny_lora_kohya`: the kohya-ss / A1111 format (`lora_unet_<module_with_underscores>.lora_down.weight`
  plus a scalar `.alpha` per module; the applied scale is alpha / rank).

With alpha == rank all three describe the same change to the model.
"""

from __future__ import annotations

from pathlib import Path

import torch

_UNET_TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]
_TEXT_TARGETS = ["q_proj", "k_proj", "v_proj", "out_proj"]


def _random_lora_factors(model: torch.nn.Module, targets: list[str], seed: int, rank: int) -> dict[str, torch.Tensor]:
    """PEFT's state dict (`<module>.lora_A.weight` / `.lora_B.weight`) of a random rank-`rank` LoRA on `model`."""
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    model.add_adapter(LoraConfig(r=rank, lora_alpha=rank, target_modules=targets))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.5)
    return {key: tensor.detach().contiguous().clone() for key, tensor in get_peft_model_state_dict(model).items()}


def _unet_factors(diffusers_dir: Path, seed: int, rank: int) -> dict[str, torch.Tensor]:
    from diffusers import UNet2DConditionModel

    unet = UNet2DConditionModel.from_pretrained(diffusers_dir, subfolder="unet", local_files_only=True)
    return _random_lora_factors(unet, _UNET_TARGETS, seed, rank)


def _text_encoder_factors(diffusers_dir: Path, seed: int, rank: int) -> dict[str, torch.Tensor]:
    from transformers import CLIPTextModel

    text_encoder = CLIPTextModel.from_pretrained(diffusers_dir / "text_encoder", local_files_only=True)
    return _random_lora_factors(text_encoder, _TEXT_TARGETS, seed + 1000, rank)


def save_tiny_lora(diffusers_dir: Path, out_dir: Path, seed: int = 1, rank: int = 4) -> Path:
    """Write `pytorch_lora_weights.safetensors` (diffusers format) for the tiny pipeline; returns the file."""
    from diffusers import StableDiffusionPipeline
    from diffusers.utils import convert_state_dict_to_diffusers

    layers = convert_state_dict_to_diffusers(_unet_factors(diffusers_dir, seed, rank))
    out_dir.mkdir(parents=True, exist_ok=True)
    StableDiffusionPipeline.save_lora_weights(out_dir, unet_lora_layers=layers, safe_serialization=True)
    return out_dir / "pytorch_lora_weights.safetensors"


def save_tiny_lora_peft(diffusers_dir: Path, out_path: Path, seed: int = 1, rank: int = 4) -> Path:
    """Write the same UNet LoRA as `save_tiny_lora` with PEFT's `lora_A` / `lora_B` key names."""
    from safetensors.torch import save_file

    layers = {f"unet.{key}": tensor for key, tensor in _unet_factors(diffusers_dir, seed, rank).items()}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    save_file(layers, str(out_path), metadata={"format": "pt"})
    return out_path


def kohya_key(prefix: str, peft_key: str) -> str:
    """`down_blocks.0.attn1.to_q.lora_A.weight` -> `lora_unet_down_blocks_0_attn1_to_q.lora_down.weight`."""
    module, _, rest = peft_key.rpartition(".lora_")
    role = {"A.weight": "lora_down.weight", "B.weight": "lora_up.weight"}[rest]
    return f"{prefix}_{module.replace('.', '_')}.{role}"


def save_tiny_lora_kohya(
    diffusers_dir: Path,
    out_path: Path,
    seed: int = 1,
    rank: int = 4,
    alpha: float | None = None,
    text_encoder: bool = True,
) -> Path:
    """Write the tiny pipeline's LoRA as kohya-ss trainers and A1111 save it; returns the file.

    The UNet factors are those of `save_tiny_lora` with the same seed and rank. Kohya names the SD 1.x
    UNet modules as diffusers does (underscores for dots) and the text encoder as HF CLIP's
    `text_model.encoder.layers...`; `alpha` defaults to `rank` (scale 1).
    """
    from safetensors.torch import save_file

    alpha = float(rank if alpha is None else alpha)
    parts = [("lora_unet", _unet_factors(diffusers_dir, seed, rank))]
    if text_encoder:
        text = _text_encoder_factors(diffusers_dir, seed, rank)
        # transformers >= 5.6 dropped CLIPTextModel's `text_model.` level from its own names; kohya keeps it.
        parts.append(("lora_te", {k if k.startswith("text_model.") else f"text_model.{k}": v for k, v in text.items()}))
    layers: dict[str, torch.Tensor] = {}
    for prefix, factors in parts:
        for key, tensor in factors.items():
            name = kohya_key(prefix, key)
            layers[name] = tensor
            layers[name.rsplit(".", 2)[0] + ".alpha"] = torch.tensor(alpha)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"ss_network_module": "networks.lora", "ss_network_dim": str(rank), "ss_network_alpha": str(alpha)}
    save_file(layers, str(out_path), metadata=metadata)
    return out_path


def save_tiny_lora_for_another_model(
    out_path: Path,
    *,
    block_out_channels: tuple[int, ...] = (32, 64),
    cross_attention_dim: int = 32,
    seed: int = 1,
    rank: int = 4,
) -> Path:
    """Write a UNet LoRA (PEFT key names, as `save_tiny_lora_peft`) for a tiny UNet of other widths; returns the file.

    With the defaults it fits the tiny pipeline; another `cross_attention_dim` makes it a LoRA "for another base
    model" (as an SD 2.x or SDXL LoRA is for SD 1.5: its cross-attention takes other text features); other
    `block_out_channels` give layers of the same names but other sizes.
    """
    from diffusers import UNet2DConditionModel
    from safetensors.torch import save_file

    from tests.tiny_pipeline import TINY_UNET_DOWN_BLOCKS, TINY_UNET_UP_BLOCKS

    with torch.random.fork_rng(devices=[]):  # leave the global RNG as it was
        torch.manual_seed(seed)
        unet = UNet2DConditionModel(
            sample_size=8, in_channels=4, out_channels=4, down_block_types=TINY_UNET_DOWN_BLOCKS,
            up_block_types=TINY_UNET_UP_BLOCKS, block_out_channels=block_out_channels, layers_per_block=2,
            cross_attention_dim=cross_attention_dim, attention_head_dim=4, norm_num_groups=32,
        )
    layers = {f"unet.{key}": tensor for key, tensor in _random_lora_factors(unet, _UNET_TARGETS, seed, rank).items()}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    save_file(layers, str(out_path), metadata={"format": "pt"})
    return out_path
