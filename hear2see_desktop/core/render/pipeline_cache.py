"""Loading a Stable Diffusion pipeline once per process and applying LoRAs to it.

Loading SD 1.5 takes seconds to minutes; a second render with the same model and device reuses
the loaded pipeline. Only one pipeline is kept, so switching models frees the previous one.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hear2see_desktop.core.errors import BadInputError, Fix, ModelMissingError, RenderFailedError
from hear2see_desktop.core.render.convert_weights import TORCH_DTYPES, convert, files_precision
from hear2see_desktop.core.render.denoise import encode_text
from hear2see_desktop.core.render.devices import DeviceChoice
from hear2see_desktop.core.render.model_files import check_lora_file, check_model_files
from hear2see_desktop.core.render.model_source import ModelSource
from hear2see_desktop.core.render.out_of_memory import is_out_of_memory
from hear2see_desktop.core.render.vae_tiling import configure_vae_tiling
from hear2see_desktop.core.settings import LoraSpec

log = logging.getLogger(__name__)


@dataclass
class LoadedPipeline:
    """A ready pipeline with what it was loaded from, and the LoRAs now active on it."""

    pipe: Any
    source: ModelSource
    device: DeviceChoice
    loras: tuple[LoraSpec, ...] = ()
    adapter_names: list[str] = field(default_factory=list)
    load_s: float = 0.0
    text_conditions: OrderedDict[tuple[str, str, bool], Any] = field(default_factory=OrderedDict)
    """Encoded prompts of this model with these LoRAs (see `text_condition`), most recently used last."""
    memory_ladder: Any = None
    """The `memory_ladder.MemoryLadder` of the last render: its steps down after running out of memory."""
    animate: tuple[Any, Any] | None = None
    """(motion source, `AnimateDiffPipeline`) of animate mode, sharing this pipeline's modules
    (`motion_pipeline.animate_pipeline`)."""


TEXT_CACHE_SIZE = 64
"""Prompts whose embeddings are kept per loaded model: a storyboard's scenes, across re-renders."""


def text_condition(loaded: LoadedPipeline, prompt: str, negative: str, use_cfg: bool) -> Any:
    """The `denoise.TextCondition` of a prompt, encoded once while the model and its LoRAs stay loaded:
    re-rendering after editing one scene encodes only that scene's prompt."""

    key = (prompt, negative, use_cfg)
    cache = loaded.text_conditions
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    condition = encode_text(loaded.pipe, prompt, negative, use_cfg)
    cache[key] = condition
    while len(cache) > TEXT_CACHE_SIZE:
        cache.popitem(last=False)
    return condition


_lock = threading.Lock()
_cached: LoadedPipeline | None = None
load_count = 0  # how many times a model was read from disk in this process (tests check reuse)


def load_pipeline(source: ModelSource, device: DeviceChoice) -> Any:
    """A fresh pipeline from disk, not shared: `get_pipeline` caches one for rendering; training adds layers
    to its own copy."""
    import torch
    from diffusers import StableDiffusionPipeline
    from diffusers.loaders.single_file_utils import SingleFileComponentError
    from safetensors import SafetensorError


    check_model_files(source)  # a damaged or incomplete model: one sentence naming the file, before loading
    dtype = getattr(torch, device.dtype_name)
    stored = files_precision(source)  # None: a mix, or unreadable headers: the library converts as it loads
    load_dtype = getattr(torch, TORCH_DTYPES[stored]) if stored else dtype
    converting = stored is not None and (load_dtype != dtype or device.device != "cpu")
    common = dict(torch_dtype=load_dtype, safety_checker=None, requires_safety_checker=False, local_files_only=True)
    try:
        if source.kind == "single_file":
            pipe = StableDiffusionPipeline.from_single_file(
                str(source.path), config=str(source.config_dir), **common
            )
        else:
            pipe = StableDiffusionPipeline.from_pretrained(str(source.path), feature_extractor=None, **common)
    except (OSError, ValueError, KeyError, RuntimeError, SafetensorError, SingleFileComponentError) as error:
        log.exception("loading %s failed", source.path)
        if isinstance(error, OSError) and "tokenizer" in str(error).lower():
            raise ModelMissingError(
                f"The tokenizer for {source.path.name} was not found in {source.config_dir}: set ",
                Fix("model_config"), " to a diffusers folder of the same model."
            ) from error
        raise BadInputError(
            f"{source.path} could not be loaded as a Stable Diffusion 1.5 model ({type(error).__name__}): "
            "check that it is an SD 1.5 checkpoint and that the file is complete."
        ) from error
    if converting:  # a tensor at a time, straight to the device (see convert_weights)
        convert([pipe.unet, pipe.vae, pipe.text_encoder], dtype, device.device)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device.device)


def get_pipeline(source: ModelSource, device: DeviceChoice) -> LoadedPipeline:
    """The pipeline for `source` on `device`, loaded at most once while it stays the current one."""
    import time

    global _cached, load_count
    with _lock:
        if _cached is not None and _cached.source == source and _cached.device == device:
            return _cached
        _cached = None  # free the previous model before loading the next
        start = time.perf_counter()
        pipe = load_pipeline(source, device)
        configure_vae_tiling(pipe, device)
        load_count += 1
        _cached = LoadedPipeline(pipe=pipe, source=source, device=device, load_s=time.perf_counter() - start)
        return _cached


def apply_loras(loaded: LoadedPipeline, loras: list[LoraSpec]) -> None:
    """Make exactly `loras` active with their weights; files are loaded only when the set changes."""
    from safetensors import SafetensorError


    wanted = tuple(loras)
    if wanted == loaded.loras:
        return
    loaded.text_conditions.clear()  # a LoRA on the text encoder changes every embedding
    pipe = loaded.pipe
    same_files = [lora.path for lora in wanted] == [lora.path for lora in loaded.loras]
    if same_files and wanted:
        pipe.set_adapters(loaded.adapter_names, adapter_weights=[lora.weight for lora in wanted])
        loaded.loras = wanted
        return
    if loaded.adapter_names:
        pipe.unload_lora_weights()
        loaded.adapter_names = []
        loaded.loras = ()
    names: list[str] = []
    for index, lora in enumerate(wanted):
        path = Path(lora.path).expanduser()
        if not path.is_file():
            raise BadInputError(f"The LoRA file {path} does not exist: check the path given to ", Fix("loras"), ".")
        if path.suffix.lower() != ".safetensors":
            raise BadInputError(f"The LoRA {path.name} is not a .safetensors file: only safetensors LoRAs are loaded.")
        name = f"lora{index}"
        try:
            check_lora_file(path, loaded.source)
            pipe.load_lora_weights(str(path), adapter_name=name)
        except BadInputError:  # damaged, or made for another base model (from its header)
            if names:
                pipe.unload_lora_weights()
            raise
        except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as error:
            log.exception("loading LoRA %s failed", path)
            if names:
                pipe.unload_lora_weights()
            raise lora_failed(path, error) from error
        names.append(name)
    if names:
        pipe.set_adapters(names, adapter_weights=[lora.weight for lora in wanted])
    loaded.adapter_names = names
    loaded.loras = wanted


def lora_failed(path: Path, error: BaseException) -> BadInputError:
    """The sentence for a LoRA the library refused: its layers do not fit, or none of them is in this model."""
    text = str(error)
    if "size mismatch" in text:
        why = "its layers have other sizes than this model's, so it was trained for another base model"
    elif "not found in the base model" in text or type(error).__name__ == "NoMatchingPeftModuleError":
        why = "none of its layers exists in this model, so it was trained for another base model"
    else:
        why = f"{type(error).__name__}: {text.splitlines()[0][:120] if text else 'no details'}"
    return BadInputError(f"The LoRA {path} could not be applied to this model ({why}): use a LoRA trained for "
                         "Stable Diffusion 1.5, or render without it.")


def release() -> None:
    """Forget the cached pipeline (frees its memory once nothing else holds it)."""
    global _cached
    with _lock:
        _cached = None


def render_failed_for(error: BaseException, settings_hint: str, device: str = "cpu") -> RenderFailedError:
    """Turn a backend failure into a sentence; out-of-memory says what to lower (and, on a GPU, the way out
    to the CPU, which has more memory)."""
    if is_out_of_memory(error):
        remedy: tuple[str | Fix, ...] = ("close other programs",) if device == "cpu" else ("use ", Fix("device", "cpu"))
        return RenderFailedError(f"The render ran out of memory at {settings_hint}: lower the width/height, or ",
                                 *remedy, ".")
    return RenderFailedError(f"The render failed ({type(error).__name__}: {str(error)[:200]}).")
