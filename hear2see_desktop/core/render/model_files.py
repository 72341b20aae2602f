"""Checking a model's and a LoRA's files before loading them, from their safetensors headers alone.

A render should fail in a moment, with one sentence naming the file, when a download stopped half-way, a
component's weights are missing, a file is not safetensors at all, or a LoRA was trained for another base
model: not after the model has been read for a minute, and not with a library's traceback. Reading a
header costs a few kilobytes whatever the file's size; no tensor data is read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from hear2see_desktop.core.errors import BadInputError, Fix
from hear2see_desktop.core.render.model_source import ModelSource
from hear2see_desktop.core.weights_format import safetensors_header

WEIGHTED_COMPONENTS = ("unet", "vae", "text_encoder")
"""The parts of an SD 1.5 diffusers folder that hold weights (the safety checker is never loaded)."""
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".safetensors.index.json", ".bin.index.json")
_CHECKPOINT_PARTS = (("model.diffusion_model.", "UNet"), ("first_stage_model.", "VAE"),
                     ("cond_stage_model.", "text encoder"))
"""Key prefixes of the original (LDM / A1111) single-file layout, one per part the loader needs."""
_DEFAULT_WEIGHTS = re.compile(r"(diffusion_pytorch_model|model)(-\d+-of-\d+)?\.safetensors")
_LORA_DOWN = r"(\.lora_down\.weight|\.lora_A\.weight|\.lora\.down\.weight|\.lora_linear_layer\.down\.weight)$"


def check_model_files(source: ModelSource) -> None:
    """Refuse, in one sentence, a model whose files could not load: damaged or missing weights."""
    if source.kind == "single_file":
        names = safetensors_header(source.path, "The checkpoint").keys()
        for prefix, part in _CHECKPOINT_PARTS:
            if not any(name.startswith(prefix) for name in names):
                lora = any(name.startswith(("lora_", "unet.", "text_encoder.")) for name in names)
                remedy = ("it looks like a LoRA, so pass it with ", Fix("loras"), " and choose a model.") if lora else (
                    "choose the full checkpoint.",)
                raise BadInputError(f"The checkpoint {source.path} holds no {part} weights ({prefix}*), so it is not a "
                                    "whole Stable Diffusion 1.5 model: ", *remedy)
        return
    folder = source.path
    for component in _weighted_components(folder):
        part = folder / component
        files = sorted(p for p in part.glob("*") if p.name.endswith(_WEIGHT_SUFFIXES)) if part.is_dir() else []
        if not files:
            raise BadInputError(
                f"The model folder {folder} has no weights for its {component} (nothing like "
                f"{component}/diffusion_pytorch_model.safetensors): download the model again, or copy the whole "
                "folder."
            )
        for file in files:
            if _DEFAULT_WEIGHTS.fullmatch(file.name):  # what the loader reads (not fp16 or other variants)
                safetensors_header(file, f"The {component} weights file")


def check_lora_file(path: Path, source: ModelSource) -> None:
    """Refuse a damaged LoRA, or one whose layers take other widths than the model's (another base model)."""
    header = safetensors_header(path, "The LoRA")
    shapes = {name: info.get("shape", []) for name, info in header.items()
              if name != "__metadata__" and isinstance(info, dict)}
    config = source.config_dir or source.path
    checks = (
        (r"attn2[._]to_k" + _LORA_DOWN, _config_value(config / "unet" / "config.json", "cross_attention_dim"),
         "cross-attention"),
        (r"(lora_te_|text_encoder\.).*self_attn[._]q_proj" + _LORA_DOWN,
         _config_value(config / "text_encoder" / "config.json", "hidden_size"), "text encoder"),
    )
    for pattern, expected, layer in checks:
        width = _first_width(shapes, pattern)
        if expected is not None and width is not None and width != expected:
            raise BadInputError(
                f"The LoRA {path} was trained for another base model (its {layer} layers take {width} values, "
                f"this model's take {expected}): use a LoRA trained for Stable Diffusion 1.5, or render without it."
            )


def _weighted_components(folder: Path) -> list[str]:
    """The weighted parts `model_index.json` lists (all three when it cannot be read: the loader will say why)."""
    try:
        index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return list(WEIGHTED_COMPONENTS)
    if not isinstance(index, dict):
        return list(WEIGHTED_COMPONENTS)
    return [name for name in WEIGHTED_COMPONENTS
            if isinstance(index.get(name), list) and index[name] and index[name][0] is not None]


def _config_value(path: Path, key: str) -> int | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get(key)
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


def _first_width(shapes: dict[str, Any], pattern: str) -> int | None:
    """The input width of the first LoRA down-projection whose name matches `pattern`."""
    regex = re.compile(pattern)
    for name in sorted(shapes):
        shape = shapes[name]
        if regex.search(name) and isinstance(shape, list) and len(shape) >= 2:
            return int(shape[1])
    return None
