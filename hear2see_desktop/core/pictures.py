"""Reading a picture file back as RGB, for the thumbnails the model manager and the history show."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def read_rgb(path: Path) -> np.ndarray | None:
    """The picture at `path` as an (h, w, 3) uint8 array, or None (logged) when it cannot be read: a broken
    thumbnail is shown as none, never as an error."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()
    except (OSError, ValueError) as error:  # PIL's UnidentifiedImageError is an OSError
        log.warning("unreadable picture %s: %s", path, error)
        return None
