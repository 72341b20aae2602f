"""The AnimateDiff pipeline of animate mode, built on the Stable Diffusion model already loaded.

A motion model adds temporal layers between the UNet's spatial ones. diffusers' `UNetMotionModel.from_unet2d`
copies the spatial weights into a new UNet: a second copy of the model's largest part in memory, and one
without the LoRAs, which PEFT keeps as extra layers inside the loaded UNet's attention modules. Here the
motion UNet is built empty (on the meta device) and then *shares* the loaded UNet's modules and the
motion model's own: nothing is copied, and the LoRAs that `pipeline_cache.apply_loras` makes active on the
loaded pipeline are active in animate mode too. The text encoder, tokenizer and VAE are the loaded ones.

The motion model is read once per process (one at a time, like the pipeline); the joined pipeline lives on
the `LoadedPipeline` it was built on, so switching models drops both.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
from pathlib import Path
from typing import Any

from hear2see_desktop.core.errors import BadInputError, Fix
from hear2see_desktop.core.render.devices import DeviceChoice
from hear2see_desktop.core.render.motion_source import MotionShape, MotionSource, check_shapes_fit
from hear2see_desktop.core.render.pipeline_cache import LoadedPipeline

log = logging.getLogger(__name__)

_SPATIAL_PARTS = ("resnets", "attentions", "downsamplers", "upsamplers")
_TOP_LEVEL_PARTS = ("conv_in", "time_proj", "time_embedding", "conv_norm_out", "conv_act", "conv_out")

_lock = threading.Lock()
_adapter: tuple[tuple[MotionSource, str, str], Any] | None = None
adapter_load_count = 0  # how many times a motion model was read from disk in this process (tests check reuse)


def load_motion_adapter(source: MotionSource, shape: MotionShape, device: DeviceChoice) -> Any:
    """The `MotionAdapter` of `source` on `device`, read from disk at most once while it stays the current one."""
    global _adapter, adapter_load_count
    key = (source, device.device, device.dtype_name)
    with _lock:
        if _adapter is not None and _adapter[0] == key:
            return _adapter[1]
        _adapter = None
        adapter = _read_adapter(source, shape, device)
        adapter_load_count += 1
        _adapter = (key, adapter)
        return adapter


def _read_adapter(source: MotionSource, shape: MotionShape, device: DeviceChoice) -> Any:
    import torch
    from diffusers import MotionAdapter
    from safetensors import SafetensorError

    dtype = getattr(torch, device.dtype_name)
    try:
        if source.kind == "single_file":
            # A single file carries no config: the one read from its header, so nothing is fetched from the hub.
            with tempfile.TemporaryDirectory(prefix="hear2see-motion-config-") as config_dir:
                (Path(config_dir) / "config.json").write_text(json.dumps(shape.adapter_config()), encoding="utf-8")
                adapter = MotionAdapter.from_single_file(str(source.path), config=config_dir, torch_dtype=dtype,
                                                         local_files_only=True)
        else:
            adapter = MotionAdapter.from_pretrained(str(source.path), torch_dtype=dtype, use_safetensors=True,
                                                    local_files_only=True)
    except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as error:
        log.exception("loading the motion model %s failed", source.path)
        raise BadInputError(f"The motion model {source.path} could not be loaded ({type(error).__name__}): check that "
                            "it is a complete AnimateDiff motion module for Stable Diffusion 1.5, or set ",
                            Fix("motion_model"), " to another.") from error
    if adapter.device.type != device.device:  # (a move within the device warns about fp32 modules)
        adapter = adapter.to(device.device)
    return adapter.eval()


def animate_pipeline(loaded: LoadedPipeline, source: MotionSource, shape: MotionShape) -> Any:
    """The `AnimateDiffPipeline` of `loaded` with motion model `source`, built once while both stay loaded."""
    from diffusers import AnimateDiffPipeline

    if loaded.animate is not None and loaded.animate[0] == source:
        return loaded.animate[1]
    loaded.animate = None
    adapter = load_motion_adapter(source, shape, loaded.device)
    pipe = loaded.pipe
    unet = motion_unet(pipe.unet, adapter, source, shape)
    animate = AnimateDiffPipeline(vae=pipe.vae, text_encoder=pipe.text_encoder, tokenizer=pipe.tokenizer, unet=unet,
                                  motion_adapter=adapter, scheduler=pipe.scheduler, feature_extractor=None,
                                  image_encoder=None)
    animate.set_progress_bar_config(disable=True)
    loaded.animate = (source, animate)
    return animate


def motion_unet(unet: Any, adapter: Any, source: MotionSource, shape: MotionShape) -> Any:
    """A `UNetMotionModel` made of `unet`'s spatial modules and `adapter`'s motion modules, shared, not copied.

    Refuses in one sentence a motion model whose layers do not fit `unet`'s blocks (checked on the loaded
    model, whose config the pre-flight check may not have been able to read)."""
    import torch
    from diffusers import UNetMotionModel

    layers = unet.config.layers_per_block
    per_block = tuple(layers) if isinstance(layers, (list, tuple)) else (layers,) * len(unet.config.block_out_channels)
    check_shapes_fit(source, shape, tuple(unet.config.block_out_channels), per_block)
    with torch.device("meta"):
        model = UNetMotionModel.from_unet2d(unet, adapter, load_weights=False)
    for name in _TOP_LEVEL_PARTS:
        setattr(model, name, getattr(unet, name))
    for ours, spatial, motion in [*zip(model.down_blocks, unet.down_blocks, adapter.down_blocks, strict=True),
                                  *zip(model.up_blocks, unet.up_blocks, adapter.up_blocks, strict=True)]:
        _share(ours, spatial, motion)
    if hasattr(model.mid_block, "motion_modules"):
        _share(model.mid_block, unet.mid_block, adapter.mid_block)
    else:
        model.mid_block = unet.mid_block
    empty = [name for name, tensor in [*model.named_parameters(), *model.named_buffers()] if tensor.is_meta]
    if empty:
        raise BadInputError(f"The motion model {source.requested or source.path} does not fit this model (it leaves "
                            f"{empty[0]} without weights): set ", Fix("motion_model"), " to a motion model for Stable "
                            "Diffusion 1.5, or render in another mode.")
    return model.eval()


def _share(block: Any, spatial: Any, motion: Any) -> None:
    """Make `block` use `spatial`'s resnets, attentions and samplers and `motion`'s motion modules."""
    for name in _SPATIAL_PARTS:
        if getattr(block, name, None) is not None:
            setattr(block, name, getattr(spatial, name))
    block.motion_modules = motion.motion_modules


def release() -> None:
    """Forget the cached motion model (frees its memory once no pipeline holds it)."""
    global _adapter
    with _lock:
        _adapter = None
