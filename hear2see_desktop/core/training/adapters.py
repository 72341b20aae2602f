"""The LoRA layers being trained, and the .safetensors file the renderer and diffusers load.

Training adds PEFT LoRA layers to the UNet's attention projections (and, when asked, the text encoder's).
The exported file uses the PEFT key names diffusers' `load_lora_weights` reads
(`unet.<module>.lora_A.weight`, `text_encoder.text_model.<module>.lora_B.weight`) with the scale
alpha / rank folded into `lora_B`: a file without alpha entries is applied at scale 1 by every loader, so
this keeps the trained strength wherever it is loaded. The text encoder keys keep CLIP's `text_model.`
level, which newer transformers dropped from the module names and diffusers strips again when loading.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hear2see_desktop.core.atomic import through_part

UNET_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")
TEXT_ENCODER_TARGETS = ("q_proj", "k_proj", "v_proj", "out_proj")
UNET_PREFIX = "unet."
TEXT_ENCODER_PREFIX = "text_encoder."


def add_lora(model: Any, targets: tuple[str, ...], rank: int, alpha: float) -> list[Any]:
    """Freeze `model`, add a fresh LoRA (A Gaussian, B zero: no change yet) and return its trainable parameters.

    The caller seeds torch's CPU RNG first (PEFT draws A from it), so the starting A matrices are the same
    for a seed.
    """
    from peft import LoraConfig

    model.requires_grad_(False)
    model.add_adapter(LoraConfig(r=rank, lora_alpha=alpha, init_lora_weights="gaussian",
                                 target_modules=list(targets)))
    return [parameter for parameter in model.parameters() if parameter.requires_grad]


def lora_state(model: Any) -> dict[str, Any]:
    """The model's LoRA weights under PEFT's names (`<module>.lora_A.weight`), detached float32 CPU copies."""
    from peft.utils import get_peft_model_state_dict

    return {key: tensor.detach().float().cpu().contiguous().clone()
            for key, tensor in get_peft_model_state_dict(model).items()}


def load_lora_state(model: Any, state: dict[str, Any]) -> None:
    """Put saved LoRA weights (from `lora_state`) back into a model that has the same adapter."""
    from peft.utils import set_peft_model_state_dict

    result = set_peft_model_state_dict(model, state)
    unexpected = getattr(result, "unexpected_keys", None) or []
    if unexpected:
        raise KeyError(f"LoRA weights for modules this model lacks: {unexpected[:3]}")


def export_state(unet_state: dict[str, Any], text_encoder_state: dict[str, Any] | None,
                 rank: int, alpha: float) -> dict[str, Any]:
    """The tensors of the exported file: prefixed keys, alpha / rank folded into every `lora_B`."""
    scale = alpha / rank
    exported: dict[str, Any] = {}
    parts = [(UNET_PREFIX, unet_state)]
    if text_encoder_state:
        parts.append((TEXT_ENCODER_PREFIX, {
            key if key.startswith("text_model.") else f"text_model.{key}": tensor
            for key, tensor in text_encoder_state.items()
        }))
    for prefix, state in parts:
        for key, tensor in state.items():
            value = tensor * scale if ".lora_B." in key and scale != 1.0 else tensor
            exported[prefix + key] = value.detach().float().cpu().contiguous().clone()
    return exported


def write_safetensors(tensors: dict[str, Any], path: Path, metadata: dict[str, str]) -> None:
    """Write through a temporary file in the same folder and rename, so `path` is never half written."""
    from safetensors.torch import save_file


    with through_part(path) as part:
        save_file(tensors, str(part), metadata={"format": "pt", **metadata})
