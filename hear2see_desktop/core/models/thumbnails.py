"""Small PNG thumbnails that show in the model pickers what a model's pictures look like.

A thumbnail is kept under `<models>/thumbnails/`, named by the SHA-256 of the model's resolved path, so
finding one costs a path join and a stat (never a hash of a multi-GB file). The first render with a model
leaves one; later renders keep it, so the picture a user knows a model by does not change under them.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

from hear2see_desktop.core.atomic import through_part
from hear2see_desktop.core.models.registry import models_root
from hear2see_desktop.core.pictures import read_rgb

log = logging.getLogger(__name__)

THUMBNAIL_FOLDER = "thumbnails"
THUMBNAIL_PX = 96


def _key(model_path: str) -> str:
    """The model's resolved path when it is on disk; else the text as given (a hub id such as `org/name`)."""
    text = str(model_path).strip()
    path = Path(text).expanduser()
    return str(path.resolve()) if path.exists() else text


def thumbnail_path(model_path: str) -> Path:
    """Where the thumbnail of `model_path` is (or would be): `<models>/thumbnails/<sha256>.png`."""
    digest = hashlib.sha256(_key(model_path).encode("utf-8")).hexdigest()
    return models_root() / THUMBNAIL_FOLDER / f"{digest}.png"


def _square(rgb: np.ndarray) -> np.ndarray:
    """The centre square of an (h, w, 3) image, so a wide frame is cropped rather than squashed."""
    height, width = rgb.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return rgb[top:top + side, left:left + side]


def save_thumbnail(model_path: str, rgb: np.ndarray) -> Path | None:
    """Save a 96x96 centre crop of `rgb` ((h, w, 3) uint8) as `model_path`'s thumbnail, once.

    An existing thumbnail is kept and its path returned. The PNG is written to a temporary file beside it
    and renamed, so a picker never reads half a file. Returns None when it cannot be written (a read-only
    or missing models folder): a thumbnail is a nicety and never fails a render.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8 or 0 in rgb.shape:
        raise ValueError(f"a thumbnail needs an (h, w, 3) uint8 image, not {rgb.shape} {rgb.dtype}")
    target = thumbnail_path(model_path)
    if target.is_file():
        return target
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(_square(rgb)), "RGB")
    image = image.resize((THUMBNAIL_PX, THUMBNAIL_PX), Image.Resampling.LANCZOS)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with through_part(target, keep_suffix=True) as part:
            image.save(part, format="PNG")
    except OSError as error:
        log.warning("could not save the thumbnail of %s at %s: %s", model_path, target, error)
        return None
    return target


def load_thumbnail(model_path: str) -> np.ndarray | None:
    """The thumbnail of `model_path` as a (96, 96, 3) uint8 array, or None when there is none (or it is broken)."""
    target = thumbnail_path(model_path)
    return read_rgb(target) if target.is_file() else None
