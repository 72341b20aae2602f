"""Importing SD 1.5 checkpoints and LoRAs a creator already has (from other SD apps' folders), offline.

A file is recognised from its safetensors header alone, never by loading it; it is checked against the
configuration it will be loaded with (the bundled SD 1.5 configs unless another is given), copied into
`<models>/sd` or `<models>/loras` under a temporary name and renamed, and listed in `<models>/imported.json`
for the pickers. Pickle-based files (.ckpt .pt .pth .bin) can run code when loaded, so they are refused
unless the user trusts that one file; even then they are read with PyTorch's weights-only unpickler (which
builds tensors and plain containers only, never calls what the pickle names) and converted to
.safetensors once.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn

from hear2see_desktop.core import paths
from hear2see_desktop.core.errors import BadInputError, Fix, ModelMissingError
from hear2see_desktop.core.hashing import sha256_file
from hear2see_desktop.core.part_files import part_path
from hear2see_desktop.core.weights_format import PICKLE_SUFFIXES, safetensors_header

log = logging.getLogger(__name__)

KIND_CHECKPOINT = "checkpoint"
KIND_LORA = "lora"
KIND_FOLDERS = {KIND_CHECKPOINT: "sd", KIND_LORA: "loras"}
INDEX_NAME = "imported.json"

_LDM_UNET = "model.diffusion_model."
_LDM_VAE = "first_stage_model."
_LDM_CLIP = "cond_stage_model.transformer."
_KOHYA_PREFIXES = ("lora_unet_", "lora_te_", "lora_te1_", "lora_te2_")
_KOHYA_WEIGHT_SUFFIXES = (".lora_down.weight", ".lora_up.weight")  # beside them: a scalar `.alpha`
_DIFFUSERS_LORA_MARKERS = (".lora_A.", ".lora_B.", ".lora.down.", ".lora.up.", ".lora_linear_layer.")
_DIFFUSERS_LORA_PREFIXES = ("unet.", "text_encoder.", "text_encoder_2.", "transformer.")
_WIDTH_NAMES = {768: "Stable Diffusion 1.x", 1024: "Stable Diffusion 2.x", 2048: "SDXL"}
_index_lock = threading.Lock()


@dataclass(frozen=True)
class Expected:
    """The shapes a file must have to load with a given config folder (SD 1.5: 768, 4, 768)."""

    cross_attention_dim: int
    in_channels: int
    text_hidden_size: int
    where: str  # how to name that config in a refusal
    bundled: bool  # the bundled SD 1.5 configs, rather than a folder the user gave


# ---------------------------------------------------------------------------------------------------------
# Reading what a file is, from its header


def read_safetensors_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape from a .safetensors header; no tensor data is read, so recognising a multi-GB
    file costs a few KB of reading and imports nothing. A damaged or cut-short file is refused in one
    sentence (`weights_format.safetensors_header`, the reader renders use too)."""

    header = safetensors_header(path, "The file")
    try:
        return {name: tuple(int(n) for n in info["shape"]) for name, info in header.items()
                if name != "__metadata__"}
    except (ValueError, TypeError, KeyError) as error:
        raise BadInputError(f"The file {path} is not a safetensors file (a tensor's shape is unreadable): "
                            "download it again, or choose another file.") from error


def _is_kohya_lora(names: list[str]) -> bool:
    return any(n.startswith(_KOHYA_PREFIXES) and n.endswith(_KOHYA_WEIGHT_SUFFIXES) for n in names)


def _is_diffusers_lora(names: list[str]) -> bool:
    return any(n.startswith(_DIFFUSERS_LORA_PREFIXES) and any(m in n for m in _DIFFUSERS_LORA_MARKERS) for n in names)


def _kind_of(path: Path, names: list[str]) -> str:
    if any(n.startswith(_LDM_UNET) for n in names):
        return KIND_CHECKPOINT
    if _is_kohya_lora(names) or _is_diffusers_lora(names):
        return KIND_LORA
    raise BadInputError(
        f"{path.name} is not an SD 1.5 checkpoint or LoRA: none of its weights have the names of a "
        "single-file Stable Diffusion checkpoint (model.diffusion_model.*) or of a LoRA (lora_unet_*, unet.*.lora_A)."
    )


def _refuse_pickle(path: Path) -> NoReturn:
    raise BadInputError(
        f"{path.name} is a pickle-based file, which can run code on this computer when it is loaded: import it "
        "only if you trust where it came from, with ", Fix("trust"), " (it is then read with PyTorch's weights-only "
        "loader, which runs no code, and converted to .safetensors once), or use a .safetensors version of it."
    )


def _is_pickle(path: Path) -> bool:
    return path.suffix.lower() in PICKLE_SUFFIXES


def detect_kind(path: Path) -> str:
    """"checkpoint" or "lora", from the tensor names in the safetensors header (pickles are never opened)."""
    path = Path(path).expanduser()
    if _is_pickle(path):
        _refuse_pickle(path)
    return _kind_of(path, list(read_safetensors_shapes(path)))


def lora_format(names: list[str]) -> str:
    """"kohya" (lora_unet_* / lora_te_*, as kohya-ss and A1111 save) or "diffusers" (unet.* / PEFT names)."""
    return "kohya" if _is_kohya_lora(names) else "diffusers"


# ---------------------------------------------------------------------------------------------------------
# Checking that it fits the configuration it will be loaded with


def expected_shapes(config_dir: Path | None = None) -> Expected:
    """What the UNet and text encoder in `config_dir` (default: the bundled SD 1.5 configs) take as input."""
    folder = Path(config_dir).expanduser() if config_dir else paths.resource_path("sd15")
    try:
        unet = json.loads((folder / "unet" / "config.json").read_text(encoding="utf-8"))
        text = json.loads((folder / "text_encoder" / "config.json").read_text(encoding="utf-8"))
        cross, channels, hidden = int(unet["cross_attention_dim"]), int(unet["in_channels"]), int(text["hidden_size"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        if config_dir is None:
            raise ModelMissingError(f"The bundled Stable Diffusion 1.5 configs in {folder} are unreadable: "
                                    "reinstall the app.") from error
        raise BadInputError(f"{folder} is not a diffusers model folder with readable unet/config.json and "
                            "text_encoder/config.json: pass the folder of a matching diffusers model.") from error
    where = "Stable Diffusion 1.5" if config_dir is None else f"the model configuration in {folder}"
    return Expected(cross, channels, hidden, where, bundled=config_dir is None)


def _looks_like(width: int) -> str:
    return _WIDTH_NAMES.get(width, f"a model with {width}-wide text conditioning")


def _first_shape(shapes: dict[str, tuple[int, ...]], pattern: str) -> tuple[int, ...] | None:
    regex = re.compile(pattern)
    for name in sorted(shapes):
        if regex.search(name) and len(shapes[name]) >= 2:
            return shapes[name]
    return None


def _refuse_mismatch(path: Path, what: str, expected: Expected) -> NoReturn:
    remedy = (
        "only Stable Diffusion 1.5 models and LoRAs can be used"
        if expected.bundled
        else "give the configuration folder of the model it was made for (none for SD 1.5)"
    )
    raise BadInputError(f"{path.name} looks like {what}, which does not fit {expected.where}: {remedy}.")


def check_checkpoint(path: Path, shapes: dict[str, tuple[int, ...]], expected: Expected) -> None:
    """Refuse, in one sentence naming what it looks like, a checkpoint that would not load as `expected`."""
    names = list(shapes)
    if any(n.startswith("conditioner.embedders.") for n in names):
        _refuse_mismatch(path, "an SDXL checkpoint", expected)
    if any(n.startswith("cond_stage_model.model.") for n in names):
        _refuse_mismatch(path, "a Stable Diffusion 2.x checkpoint (OpenCLIP text encoder)", expected)
    key = _first_shape(shapes, r"^model\.diffusion_model\..*attn2\.to_k\.weight$")
    if key is None:
        raise BadInputError(f"{path.name} has no UNet cross-attention weights: it is not a Stable Diffusion 1.5 "
                            "checkpoint.")
    if key[1] != expected.cross_attention_dim:
        _refuse_mismatch(path, f"a checkpoint for {_looks_like(key[1])}", expected)
    conv_in = shapes.get(_LDM_UNET + "input_blocks.0.0.weight")
    if conv_in is not None and len(conv_in) == 4 and conv_in[1] != expected.in_channels:
        kind = "an inpainting checkpoint" if conv_in[1] == 9 else f"a checkpoint whose UNet takes {conv_in[1]} channels"
        _refuse_mismatch(path, kind, expected)
    for prefix, part in ((_LDM_VAE, "VAE"), (_LDM_CLIP, "text encoder")):
        if not any(n.startswith(prefix) for n in names):
            raise BadInputError(f"{path.name} has no {part} weights ({prefix}*): it holds only part of a model, "
                                "which cannot be used on its own; import the full checkpoint.")


def check_lora(path: Path, shapes: dict[str, tuple[int, ...]], expected: Expected) -> None:
    """Refuse a LoRA trained for another model family; one with no telling layer is let through to the loader."""
    names = list(shapes)
    if any(n.startswith(("lora_te1_", "lora_te2_", "text_encoder_2.")) for n in names):
        _refuse_mismatch(path, "an SDXL LoRA (it has two text encoders)", expected)
    down = r"(\.lora_down\.weight|\.lora_A\.weight|\.lora\.down\.weight|\.lora_linear_layer\.down\.weight)$"
    cross = _first_shape(shapes, r"attn2[._]to_k" + down)
    if cross is not None and cross[1] != expected.cross_attention_dim:
        _refuse_mismatch(path, f"a LoRA for {_looks_like(cross[1])}", expected)
    text = _first_shape(shapes, r"(lora_te_|text_encoder\.).*self_attn[._]q_proj" + down)
    if text is not None and text[1] != expected.text_hidden_size:
        _refuse_mismatch(path, f"a LoRA for {_looks_like(text[1])}", expected)


# ---------------------------------------------------------------------------------------------------------
# Pickles, only when trusted: weights-only unpickling, then safetensors


def convert_pickle(path: Path, out_path: Path) -> Path:
    """Read `path` with torch's weights-only unpickler and save its tensors as `out_path` (.safetensors).

    The weights-only unpickler only rebuilds tensors and plain containers and refuses any other callable a
    pickle names (os.system, eval, a class's __reduce__), so even a trusted file cannot run code here.
    """
    import torch
    from safetensors.torch import save_file

    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a refusal or a corrupt file: either way it cannot be converted safely
        log.warning("weights-only loading of %s refused: %s", path, error)
        raise BadInputError(
            f"{path.name} holds more than plain weights (PyTorch's safe loader refused it), so it cannot be "
            "converted safely: ask its author for a .safetensors version."
        ) from error
    state = loaded
    while isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    tensors: dict[str, torch.Tensor] = {}
    seen_storages: set[int] = set()
    if isinstance(state, dict):
        for name, value in state.items():
            if isinstance(name, str) and isinstance(value, torch.Tensor):
                tensor = value.detach().contiguous()
                storage = tensor.untyped_storage().data_ptr()
                # safetensors refuses tensors that share memory (tied weights): give repeats their own copy
                tensors[name] = tensor.clone() if storage in seen_storages else tensor
                seen_storages.add(storage)
    if not tensors:
        raise BadInputError(f"{path.name} holds no named weights: it is not a checkpoint or a LoRA.")
    save_file(tensors, str(out_path), metadata={"format": "pt", "converted_from": path.name})
    return out_path


# ---------------------------------------------------------------------------------------------------------
# The index of imported files


def index_path() -> Path:
    """`<models>/imported.json`: what was imported, so the pickers can list it."""
    return paths.models_dir() / INDEX_NAME


def _read_index() -> list[dict[str, Any]]:
    try:
        data = json.loads(index_path().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as error:
        log.warning("the import index %s is unreadable (%s); starting a new one", index_path(), error)
        return []
    entries = data.get("imported") if isinstance(data, dict) else None
    return [entry for entry in entries or [] if isinstance(entry, dict) and isinstance(entry.get("file"), str)]


def _write_index(entries: list[dict[str, Any]]) -> None:
    target = index_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f"{target.name}.tmp{os.getpid()}")
    temporary.write_text(json.dumps({"format": 1, "imported": entries}, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, target)


def _with_path(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, "path": str(paths.models_dir() / entry["file"])}


def list_imported(kind: str | None = None) -> list[dict[str, Any]]:
    """Imported files still on disk, oldest first: name, kind, path, source, sha256, imported_at, ...

    `kind` ("checkpoint" or "lora") keeps only that kind; `path` is absolute under the current models folder.
    """
    with _index_lock:
        entries = _read_index()
    return [
        _with_path(entry)
        for entry in entries
        if (kind is None or entry.get("kind") == kind) and (paths.models_dir() / entry["file"]).is_file()
    ]


def _already_imported(kind: str | None, source_sha256: str) -> tuple[str, Path] | None:
    for entry in list_imported(kind):
        if source_sha256 in (entry.get("source_sha256"), entry.get("sha256")):
            return entry["kind"], Path(entry["path"])
    return None


# ---------------------------------------------------------------------------------------------------------
# Importing


def _destination(folder: Path, stem: str, sha256: str) -> Path:
    """`<stem>.safetensors`, or `<stem>-<sha8>.safetensors` when a different file already has that name."""
    safe_stem = re.sub(r"[^\w.\- ]+", "_", stem).strip(" .") or "model"
    plain = folder / f"{safe_stem}.safetensors"
    return plain if not plain.exists() else folder / f"{safe_stem}-{sha256[:8]}.safetensors"


def _import(path: Path, kind: str | None, trust_pickle: bool, config_dir: Path | None) -> tuple[str, Path]:
    """Check, copy (or convert) and index one file; `kind` None takes whichever kind the file is."""
    source = Path(path).expanduser()
    if not source.is_file():
        raise BadInputError(f"{source} does not exist or is not a file: check the path.")
    pickle = _is_pickle(source)
    if pickle and not trust_pickle:
        _refuse_pickle(source)
    if not pickle and source.suffix.lower() != ".safetensors":
        raise BadInputError(f"{source.name} is not a .safetensors file: only SD 1.5 checkpoints and LoRAs in "
                            ".safetensors (or trusted .ckpt/.pt/.pth/.bin files) can be imported.")
    expected = expected_shapes(config_dir)
    source_sha256 = sha256_file(source)
    installed = _already_imported(kind, source_sha256)
    if installed is not None:
        log.info("%s is already imported as %s", source, installed[1])
        return installed

    # The part file sits in the models folder (same disk, so the final rename is atomic) under a hidden name
    # no picker lists and the start-up sweep recognises (what a killed import leaves is gigabytes); a pickle is
    # converted into it first, since its kind is only known once it is read.
    scratch = paths.models_dir() / KIND_FOLDERS[kind or KIND_CHECKPOINT]
    scratch.mkdir(parents=True, exist_ok=True)
    part = part_path(scratch / f"{source.stem}.safetensors")
    try:
        if pickle:
            convert_pickle(source, part)
        shapes = read_safetensors_shapes(part if pickle else source)
        found = _kind_of(source, list(shapes))
        if kind is not None and found != kind:
            raise BadInputError(f"{source.name} is a {'LoRA' if found == KIND_LORA else 'checkpoint'}, not a "
                                f"{'LoRA' if kind == KIND_LORA else 'checkpoint'}: import it as one.")
        kind = found
        (check_lora if kind == KIND_LORA else check_checkpoint)(source, shapes, expected)
        folder = paths.models_dir() / KIND_FOLDERS[kind]
        folder.mkdir(parents=True, exist_ok=True)
        if not pickle:
            shutil.copyfile(source, part)
        sha256 = source_sha256 if not pickle else sha256_file(part)
        with _index_lock:
            target = _destination(folder, source.stem, sha256)
            os.replace(part, target)
            entry: dict[str, Any] = {
                "name": target.stem,
                "kind": kind,
                "file": target.relative_to(paths.models_dir()).as_posix(),
                "source": str(source.absolute()),
                "sha256": sha256,
                "source_sha256": source_sha256,
                "size_bytes": target.stat().st_size,
                "imported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "config": str(Path(config_dir).expanduser().absolute()) if config_dir else None,
            }
            if kind == KIND_LORA:
                entry["format"] = lora_format(list(shapes))
            if pickle:
                entry["converted_from"] = source.suffix.lower().lstrip(".")
            _write_index([*_read_index(), entry])
    finally:
        part.unlink(missing_ok=True)
    log.info("imported %s as %s", source, target)
    return kind, target


def import_checkpoint(path: Path, trust_pickle: bool = False, config_dir: Path | None = None) -> Path:
    """Copy an SD 1.5 single-file checkpoint into `<models>/sd`; returns the installed `.safetensors`.

    `config_dir` is the diffusers folder it will be loaded with (--model-config), when not the bundled SD 1.5
    configs: the file is checked against that. Importing the same file again is a no-op returning its path.
    """
    return _import(path, KIND_CHECKPOINT, trust_pickle, config_dir)[1]


def import_lora(path: Path, trust_pickle: bool = False, config_dir: Path | None = None) -> Path:
    """Copy an SD 1.5 LoRA (kohya/A1111 or diffusers/PEFT keys) into `<models>/loras`; returns its path."""
    return _import(path, KIND_LORA, trust_pickle, config_dir)[1]


def import_file(path: Path, trust_pickle: bool = False, config_dir: Path | None = None) -> tuple[str, Path]:
    """Import a checkpoint or a LoRA, whichever it is (what `hear2see models import` does); returns
    (kind, installed path)."""
    return _import(path, None, trust_pickle, config_dir)
