"""Where an AnimateDiff motion model comes from, and whether it fits the model: checked before any loading.

Animate mode adds a motion model (diffusers' `MotionAdapter`: temporal attention layers for each UNet block)
to the Stable Diffusion model. It comes as a hub id found in the local Hugging Face cache or the app's models
folder, a diffusers folder (`config.json` + weights), or one `.safetensors` file in the original AnimateDiff
layout. Nothing here downloads or loads tensors: the shape of the motion layers comes from the folder's
config or the file's safetensors header, so a motion model made for another base model (SDXL, say) is
refused in one sentence before the model loads, and a pickle file is never opened.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hear2see_desktop.core import paths
from hear2see_desktop.core.errors import BadInputError, Fix, ModelMissingError
from hear2see_desktop.core.models.catalogue import CatalogueEntry, load_catalogue
from hear2see_desktop.core.render.model_source import ModelSource, cached_hub_snapshot, hub_cache_dir
from hear2see_desktop.core.settings import DEFAULT_MOTION_MODEL
from hear2see_desktop.core.weights_format import PICKLE_SUFFIXES, safetensors_header

MOTION_WEIGHTS = "diffusion_pytorch_model.safetensors"
DEFAULT_HEADS = 8
DEFAULT_NORM_GROUPS = 32
"""Attention heads and norm groups of the motion layers: a file's shapes do not say them, and every released
SD 1.5 motion module (AnimateDiff v1-v3, AnimateLCM) uses these."""
DEFAULT_MAX_FRAMES = 32
_DOWN_MODULE = re.compile(r"^down_blocks\.(\d+)\.motion_modules\.(\d+)\.(?:temporal_transformer\.)?proj_in\.weight$")
_FIRST_TRANSFORMER = re.compile(
    r"^down_blocks\.0\.motion_modules\.0\.(?:temporal_transformer\.)?transformer_blocks\.(\d+)\.")
_POSITIONS = re.compile(r"\.(pos_encoder|pos_embed)\.pe$")


@dataclass(frozen=True)
class MotionSource:
    """A resolved motion model: `kind` is "diffusers" (a folder) or "single_file" (a .safetensors)."""

    kind: str
    path: Path
    requested: str = ""


@dataclass(frozen=True)
class MotionShape:
    """What a motion model's layers need of the UNet, and the longest clip its positions cover."""

    block_out_channels: tuple[int, ...]
    layers_per_block: tuple[int, ...]
    transformer_layers_per_block: int = 1
    mid_block: bool = False
    max_frames: int = DEFAULT_MAX_FRAMES

    def adapter_config(self) -> dict[str, Any]:
        """The `MotionAdapter` config of a single file (what `from_single_file(config=...)` reads)."""
        return {"_class_name": "MotionAdapter", "block_out_channels": list(self.block_out_channels),
                "motion_layers_per_block": list(self.layers_per_block),
                "motion_transformer_layers_per_block": self.transformer_layers_per_block,
                "motion_mid_block_layers_per_block": 1, "motion_transformer_layers_per_mid_block": 1,
                "motion_num_attention_heads": DEFAULT_HEADS, "motion_norm_num_groups": DEFAULT_NORM_GROUPS,
                "motion_max_seq_length": self.max_frames, "use_motion_mid_block": self.mid_block,
                "conv_in_channels": None}


def resolve_motion_source(requested: str) -> MotionSource:
    """Turn the user's --motion-model value into local files, or say in one sentence what to do."""
    text = requested.strip()
    if not text:
        raise BadInputError("Animate mode needs a motion model: set ", Fix("motion_model"),
                            f" to a hub id (such as {DEFAULT_MOTION_MODEL}), a diffusers folder or a .safetensors "
                            "file.")
    candidate = Path(text).expanduser()
    if candidate.suffix.lower() in PICKLE_SUFFIXES:
        raise _pickle(candidate)
    if candidate.is_file():
        if candidate.suffix.lower() != ".safetensors":
            raise BadInputError(f"The motion model {candidate} is not a .safetensors file or a diffusers folder: "
                                "set ", Fix("motion_model"), " to one.")
        return MotionSource("single_file", candidate.resolve(), text)
    if candidate.is_dir():
        _check_folder(candidate)
        return MotionSource("diffusers", candidate.resolve(), text)
    if text.startswith((".", "/", "~", "\\")) or text.count("/") != 1 or text.lower().endswith(".safetensors"):
        raise BadInputError(f"The motion model {text} does not exist: check the path given to ", Fix("motion_model"),
                            f", or give a hub id such as {DEFAULT_MOTION_MODEL}.")
    found = hub_motion_folder(text)
    if found is None:
        entry = motion_catalogue_entry(text)
        how = (f"download it once with `hear2see models download {entry.name}` (File > Models… in the app, about "
               f"{entry.size_bytes / 1e9:.1f} GB)" if entry is not None
               else f"download it once with `huggingface-cli download {text}`")
        raise ModelMissingError(
            f"The motion model '{text}' is not on this machine (looked in {local_motion_copy(text)} and the Hugging "
            f"Face cache at {hub_cache_dir()}): {how}, or set ", Fix("motion_model"),
            " to a diffusers folder or a .safetensors motion module.")
    _check_folder(found)
    return MotionSource("diffusers", found, text)


def local_motion_copy(hub_id: str) -> Path:
    """Where the models folder keeps a hub motion model (`motion/<name>`)."""
    return paths.models_dir() / "motion" / hub_id.split("/")[-1]


def motion_catalogue_entry(hub_id: str) -> CatalogueEntry | None:
    """The catalogue's entry that installs `hub_id` (its folder is the hub model's local copy), or None; a broken
    catalogue counts as none (the Models dialog says what is wrong with it)."""
    folder = f"motion/{hub_id.split('/')[-1]}"
    try:
        entries = load_catalogue()
    except BadInputError:
        return None
    return next((entry for entry in entries if entry.kind == "motion" and entry.folder == folder), None)


def hub_motion_folder(hub_id: str) -> Path | None:
    """The diffusers folder of motion model `hub_id` on this machine (the models folder, then the Hugging Face
    cache), or None."""
    local_copy = local_motion_copy(hub_id)
    if (local_copy / "config.json").is_file():
        return local_copy.resolve()
    return cached_hub_snapshot(hub_id, "config.json")


def motion_shape(source: MotionSource) -> MotionShape:
    """The shape of the motion layers, from the folder's config.json or the single file's header."""
    if source.kind == "single_file":
        return _shape_from_header(source.path)
    config = _read_json(source.path / "config.json")
    if config is None or config.get("_class_name", "MotionAdapter") != "MotionAdapter":
        raise BadInputError(f"{source.path} is not a motion model folder (its config.json describes no "
                            "MotionAdapter): set ", Fix("motion_model"), " to an AnimateDiff motion model.")
    try:
        channels = tuple(int(c) for c in config.get("block_out_channels", (320, 640, 1280, 1280)))
        layers = config.get("motion_layers_per_block", 2)
        per_block = (tuple(int(n) for n in layers) if isinstance(layers, list) else (int(layers),) * len(channels))
        transformer_layers = config.get("motion_transformer_layers_per_block", 1)
        return MotionShape(channels, per_block, int(transformer_layers) if isinstance(transformer_layers, int) else 1,
                           bool(config.get("use_motion_mid_block", True)),
                           int(config.get("motion_max_seq_length", DEFAULT_MAX_FRAMES)))
    except (TypeError, ValueError) as error:
        raise BadInputError(f"The motion model's config {source.path / 'config.json'} holds values of the wrong "
                            f"type ({error}): download the motion model again.") from error


def check_motion_fits(source: MotionSource, shape: MotionShape, model: ModelSource) -> None:
    """Refuse, in one sentence, a motion model whose layers do not fit the model's UNet blocks (made for SDXL,
    say); a model whose UNet config cannot be read is checked again when the layers are joined."""
    config = _read_json((model.config_dir or model.path) / "unet" / "config.json")
    if config is None:
        return
    channels = tuple(config.get("block_out_channels") or ())
    layers = config.get("layers_per_block", 2)
    per_block = tuple(layers) if isinstance(layers, list) else (layers,) * len(channels)
    check_shapes_fit(source, shape, channels, per_block)


def check_shapes_fit(source: MotionSource, shape: MotionShape, unet_channels: tuple[int, ...],
                     unet_layers: tuple[int, ...]) -> None:
    """The sentence for motion layers of other widths or counts than the UNet's blocks."""
    if shape.block_out_channels != tuple(unet_channels):
        why = (f"its layers are for UNet blocks of {_widths(shape.block_out_channels)} channels, this model's have "
               f"{_widths(unet_channels)}")
    elif shape.layers_per_block != tuple(unet_layers):
        why = (f"it has {_widths(shape.layers_per_block)} motion layers per block, this model "
               f"{_widths(unet_layers)} layers")
    else:
        return
    raise BadInputError(f"The motion model {source.requested or source.path} does not fit this model ({why}), so it "
                        "was made for another base model: set ", Fix("motion_model"), " to a motion model for Stable "
                        "Diffusion 1.5, or render in another mode.")


def _shape_from_header(path: Path) -> MotionShape:
    header = safetensors_header(path, "The motion model")
    shapes = {name: info.get("shape", []) for name, info in header.items()
              if name != "__metadata__" and isinstance(info, dict)}
    widths: dict[int, int] = {}
    modules: dict[int, set[int]] = {}
    for name, tensor_shape in shapes.items():
        match = _DOWN_MODULE.match(name)
        if match and tensor_shape:
            block, module = int(match.group(1)), int(match.group(2))
            widths[block] = int(tensor_shape[0])
            modules.setdefault(block, set()).add(module)
    if not widths or sorted(widths) != list(range(len(widths))):
        raise BadInputError(f"The file {path} holds no AnimateDiff motion layers (down_blocks.*.motion_modules.*): "
                            "set ", Fix("motion_model"), " to a motion module, not a checkpoint or a LoRA.")
    transformers = {int(m.group(1)) for name in shapes if (m := _FIRST_TRANSFORMER.match(name))}
    frames = next((int(s[1]) for name, s in shapes.items() if _POSITIONS.search(name) and len(s) == 3),
                  DEFAULT_MAX_FRAMES)
    return MotionShape(tuple(widths[b] for b in sorted(widths)), tuple(len(modules[b]) for b in sorted(modules)),
                       max(1, len(transformers)), any(name.startswith("mid_block.motion_modules.") for name in shapes),
                       frames)


def _check_folder(folder: Path) -> None:
    """A motion folder must hold config.json and safetensors weights; pickled weights alone are refused."""
    if not (folder / "config.json").is_file():
        raise BadInputError(f"{folder} is not a motion model folder (it has no config.json): set ",
                            Fix("motion_model"), " to the folder that holds config.json, or to a .safetensors file.")
    weights = folder / MOTION_WEIGHTS
    if weights.is_file():
        safetensors_header(weights, "The motion model's weights")
        return
    pickled = sorted(p for p in folder.glob("*") if p.suffix.lower() in PICKLE_SUFFIXES)
    if pickled:
        raise _pickle(pickled[0])
    raise BadInputError(f"The motion model folder {folder} has no {MOTION_WEIGHTS}: download it again, or copy the "
                        "whole folder.")


def _pickle(path: Path) -> BadInputError:
    return BadInputError(f"The motion model {path.name} is a pickle-based file, which can run code on this computer "
                         "when it is loaded: set ", Fix("motion_model"), " to a .safetensors version of it (or to "
                         f"{DEFAULT_MOTION_MODEL}, which has one).")


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _widths(values: tuple[int, ...]) -> str:
    return "/".join(str(v) for v in values)
