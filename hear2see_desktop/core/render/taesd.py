"""TAESD: a tiny autoencoder that decodes SD latents to true colours in milliseconds.

When the catalogue's `taesd` model is installed (`hear2see models download taesd`), every step
preview is decoded by it instead of the fixed colour map of `preview.latents_to_rgb`, so what the
user watches is the picture being made, not an approximation; and `decoder="taesd"` makes it the
final decoder too (a draft: a fraction of the full VAE's time, slightly softer detail).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from hear2see_desktop.core.errors import BadInputError, ModelMissingError
from hear2see_desktop.core.models.catalogue import find_entry
from hear2see_desktop.core.models.registry import model_state
from hear2see_desktop.core.render.denoise import decode_batch
from hear2see_desktop.core.render.preview import latents_to_rgb

TAESD_ENTRY = "taesd"

_lock = threading.Lock()
_loaded: dict[tuple[str, str, str], Any] = {}


def installed_taesd() -> Path | None:
    """The installed TAESD folder, or None when the catalogue model is not downloaded."""

    try:
        state = model_state(find_entry(TAESD_ENTRY))
    except BadInputError:  # a custom catalogue without TAESD
        return None
    return state.path if state.installed else None


def require_taesd() -> Path:
    """The TAESD folder for a draft decode, or one sentence on how to get it."""
    folder = installed_taesd()
    if folder is None:
        raise ModelMissingError(
            "The draft decoder TAESD is not installed: run `hear2see models download taesd` "
            "(10 MB) or render with the full VAE."
        )
    return folder


def load_taesd(folder: Path, device: Any, dtype: Any) -> Any:
    """TAESD from `folder` on `device` in `dtype`, loaded once per process for each of them."""
    key = (str(folder), str(device), str(dtype))
    with _lock:
        if key not in _loaded:
            from diffusers import AutoencoderTiny

            try:
                model = AutoencoderTiny.from_pretrained(str(folder), torch_dtype=dtype, local_files_only=True)
            except (OSError, ValueError, RuntimeError) as error:
                raise BadInputError(
                    f"TAESD in {folder} could not be loaded ({type(error).__name__}): remove it with "
                    "`hear2see models remove taesd` and download it again."
                ) from error
            _loaded.clear()  # one TAESD at a time, like the pipeline
            _loaded[key] = model.to(device).eval()
        return _loaded[key]


def taesd_decode(taesd: Any, latents: Any) -> np.ndarray:
    """RGB uint8 (n, h, w, 3) pictures of SD latents (n, 4, h/8, w/8), through TAESD.

    TAESD takes the UNet's latents as they are (its config's scaling_factor is 1.0, so the division
    below is the same one diffusers' pipelines make) and returns pictures in [-1, 1].
    """
    import torch

    with torch.inference_mode():
        scale = float(getattr(taesd.config, "scaling_factor", 1.0))
        image = taesd.decode(latents.to(device=taesd.device, dtype=taesd.dtype) / scale, return_dict=False)[0]
    array = (image.float().clamp(-1.0, 1.0) * 0.5 + 0.5).permute(0, 2, 3, 1).cpu().numpy()
    return (array * 255.0 + 0.5).astype(np.uint8)


class Decoders:
    """How a render turns latents into pictures: step previews (TAESD's when installed, else the colour
    map) and finished frames (the model's VAE, or TAESD for a draft)."""

    def __init__(self, pipe: Any, final: str = "vae") -> None:
        folder = require_taesd() if final == "taesd" else installed_taesd()
        self.taesd = load_taesd(folder, pipe.device, pipe.unet.dtype) if folder is not None else None
        self.final_kind = final

    @property
    def preview_kind(self) -> str:
        """What the run log records: "taesd" or "latent-colours"."""
        return "taesd" if self.taesd is not None else "latent-colours"

    def final(self, pipe: Any, latents: Any) -> np.ndarray:
        """The finished (h, w, 3) uint8 picture of one clean latent (1, 4, h/8, w/8)."""
        return self.final_batch(pipe, latents[:1])[0]

    def final_batch(self, pipe: Any, latents: Any) -> list[np.ndarray]:
        """The finished pictures of a batch of clean latents (n, 4, h/8, w/8), decoded together."""
        if self.final_kind == "taesd" and self.taesd is not None:
            return list(taesd_decode(self.taesd, latents))

        return decode_batch(pipe, latents)

    def preview(self, latents: Any) -> np.ndarray:
        """(h, w, 3) uint8 preview of the first latent in `latents` (n, 4, h, w)."""
        if self.taesd is not None:
            return taesd_decode(self.taesd, latents[:1])[0]

        return latents_to_rgb(latents[0].detach().float().cpu().numpy())
