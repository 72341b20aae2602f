"""The toy world's trained weights in one small file, so tests and the bench need no hour of training.

Training the world takes longer than a test run can wait (about 2 hours on two cores), so the trained
models are committed, packed into `weights/world.safetensors` (about 6 MB):
- the CLIP token embedding keeps only the rows of the tokens the world and the app's prompts use (49,408
  rows of which the world reads a few hundred; the others are zeroed right after CLIP training, before
  the UNet learns on the text encoder, so packing them away changes nothing);
- UNet and VAE matrices are int8 with one float16 scale per output channel; everything else is float16.
`unpack` turns the file back into the clip/ and sd/ folders the libraries load. A build that trains
(`python -m tests.toyworld.build DIR --train`) packs what it trained the same way and unpacks that, so
the models measured are always the packed ones.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import torch

from tests.toyworld import world

WEIGHTS = Path(__file__).resolve().parent / "weights" / "world.safetensors"
_TEXT = "text_model."  # CLIPModel's prefix for its text tower; a saved CLIPTextModel's keys go without it
EMBEDDING = _TEXT + "embeddings.token_embedding.weight"
_QUANTISED_MIN = 1024  # smaller tensors stay float16: their scales would cost more than they save


def world_token_ids(tokenizer: Any) -> list[int]:
    """Every token the world's captions, their app prompts and the app's negative prompt are made of."""
    from hear2see_desktop.core.errors import BadInputError
    from hear2see_desktop.core.prompt.builder import DEFAULT_NEGATIVE

    texts = {"", DEFAULT_NEGATIVE}
    texts_of_app: set[str] = set()
    rng = random.Random(0)
    for scene in world.all_scenes():
        for _ in range(4):  # the phrasings are drawn at random: several draws meet every phrase
            for caption in world.captions(scene, rng):
                texts.add(caption.text)
    for text in sorted(texts):
        try:
            texts_of_app.add(world.app_prompt(text))
        except BadInputError:  # a caption of nothing but fillers ('day'): the app refuses it, adds nothing
            continue
    texts |= texts_of_app
    ids: set[int] = set(tokenizer.all_special_ids)
    for text in texts:
        ids.update(tokenizer(text).input_ids)
    return sorted(ids)


def trim_vocabulary(clip_folder: Path, tokenizer: Any) -> int:
    """Zero the token embeddings the world never uses (in place); returns how many rows are kept."""
    from safetensors.torch import load_file, save_file

    path = clip_folder / "model.safetensors"
    weights = load_file(path)
    keep = torch.tensor(world_token_ids(tokenizer))
    trimmed = torch.zeros_like(weights[EMBEDDING])
    trimmed[keep] = weights[EMBEDDING][keep]
    weights[EMBEDDING] = trimmed
    save_file(weights, path, metadata={"format": "pt"})
    return len(keep)


def _quantise(tensor: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    rows = tensor.reshape(tensor.shape[0], -1).float()
    scale = (rows.abs().amax(dim=1) / 127.0).clamp(min=1e-12)
    return torch.round(rows / scale[:, None]).to(torch.int8), scale.to(torch.float16)


def _dequantise(values: torch.Tensor, scale: torch.Tensor, shape: list[int]) -> torch.Tensor:
    return (values.float() * scale.float()[:, None]).reshape(shape)


def _stored(key: str, part: str, name: str, tensor: torch.Tensor) -> dict[str, torch.Tensor]:
    """How one tensor is kept in the packed file (see the module's docstring)."""
    if name == EMBEDDING:
        rows = torch.nonzero(tensor.abs().sum(dim=1)).flatten().to(torch.int32)
        return {f"{key}::rows": rows, f"{key}::values": tensor[rows.long()].to(torch.float16)}
    if part in ("unet", "vae") and tensor.dim() >= 2 and tensor.numel() >= _QUANTISED_MIN:
        values, scale = _quantise(tensor)
        return {f"{key}::int8": values, f"{key}::scale": scale}
    return {key: tensor.to(torch.float16)}


def _restored(key: str, stored: dict[str, torch.Tensor], shape: list[int]) -> torch.Tensor:
    if f"{key}::rows" in stored:
        full = torch.zeros(shape)
        full[stored[f"{key}::rows"].long()] = stored[f"{key}::values"].float()
        return full
    if f"{key}::int8" in stored:
        return _dequantise(stored[f"{key}::int8"], stored[f"{key}::scale"], shape)
    return stored[key].float()


def as_shipped(part: str, weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`weights` (a state dict of `part`) rounded the way the packed file keeps them, so a model trained on top
    of them (the UNet on the VAE's latents and the text encoder's states) learns on what the world ships."""
    return {name: _restored(f"{part}/{name}", _stored(f"{part}/{name}", part, name, tensor), list(tensor.shape))
            for name, tensor in weights.items()}


def ship_clip(clip_folder: Path) -> None:
    """Round the toy CLIP's saved weights (in place) as the packed file keeps them."""
    from safetensors.torch import load_file, save_file

    path = clip_folder / "model.safetensors"
    save_file(as_shipped("clip", load_file(path)), path, metadata={"format": "pt"})


_PARTS = {"clip": "clip/model.safetensors", "vae": "sd/vae/diffusion_pytorch_model.safetensors",
          "text_encoder": "sd/text_encoder/model.safetensors", "unet": "sd/unet/diffusion_pytorch_model.safetensors"}
_CONFIGS = ("clip/config.json", "clip/preprocessor_config.json", "sd/model_index.json", "sd/vae/config.json",
            "sd/text_encoder/config.json", "sd/unet/config.json", "sd/scheduler/scheduler_config.json")


def pack(world_folder: Path, target: Path) -> Path:
    """Write the world in `world_folder` (clip/, sd/) as one packed file at `target`."""
    from safetensors.torch import load_file, save_file

    tensors: dict[str, torch.Tensor] = {}
    for part, relative in _PARTS.items():
        weights = load_file(world_folder / relative)
        if part == "text_encoder":  # the toy CLIP's own text tower: stored once, under clip
            clip_text = load_file(world_folder / _PARTS["clip"])
            if any(not torch.equal(v, clip_text[_TEXT + k]) for k, v in weights.items()):
                raise ValueError("The SD text encoder is not the toy CLIP's text tower.")
            continue
        for name, tensor in weights.items():
            tensors.update(_stored(f"{part}/{name}", part, name, tensor))
    shapes = {f"{part}/{name}": list(t.shape) for part, relative in _PARTS.items() if part != "text_encoder"
              for name, t in load_file(world_folder / relative).items()}
    metadata = {"shapes": json.dumps(shapes, sort_keys=True)}
    for relative in _CONFIGS:  # (where the folders were trained is nobody's business: configs name no paths)
        metadata[relative] = re.sub(r'("_name_or_path": )"[^"]*"', r'\1""',
                                    (world_folder / relative).read_text(encoding="utf-8"))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    save_file(tensors, partial, metadata=metadata)
    partial.replace(target)
    return target


def unpack(source: Path, world_folder: Path) -> Path:
    """Rebuild clip/ and sd/ (float32 weights, configs, the real CLIP tokenizer) from a packed file."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    from tests.toyworld.clip import tokenizer

    with safe_open(str(source), framework="pt") as handle:
        metadata = handle.metadata()
        stored = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 (not a dict)
    shapes: dict[str, list[int]] = json.loads(metadata["shapes"])
    parts: dict[str, dict[str, torch.Tensor]] = {part: {} for part in _PARTS}
    for key, shape in shapes.items():
        part, name = key.split("/", 1)
        parts[part][name] = _restored(key, stored, shape).contiguous()
    parts["text_encoder"] = {name.removeprefix(_TEXT): tensor.clone() for name, tensor in parts["clip"].items()
                             if name.startswith(_TEXT)}
    for relative in _CONFIGS:
        path = world_folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(metadata[relative], encoding="utf-8")
    for part, relative in _PARTS.items():
        save_file(parts[part], world_folder / relative, metadata={"format": "pt"})
    tokenizer(world_folder / "clip")
    tokenizer(world_folder / "sd" / "tokenizer")
    return world_folder
