"""Rendered frames kept on disk by what made them, so renders resume and edits re-render little.

A frame's key is the SHA-256 of everything that decides its pixels (model weights, LoRAs,
sampler, size, the prompt or the keys of the keyframes it is made from, its noise and its place
in the transition). An interrupted render finds its finished frames again; a render after a
one-scene prompt edit finds every frame whose inputs did not change. Images are PNG, latents
`.npy`, each written under a temp name and renamed, so a crash never leaves a half file that a
later render would trust. The folder is pruned to `max_bytes`, oldest first.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

CACHE_VERSION = 1
"""Bumped when the rendering maths change, so frames made the old way are not reused."""

DEFAULT_MAX_BYTES = 4 * 1024**3


def cache_key(*parts: Any) -> str:
    """A stable hex key for JSON-ready parts (floats rounded so 0.1 + 0.2 and 0.3 agree)."""

    def tidy(value: Any) -> Any:
        if isinstance(value, float):
            return round(value, 6)
        if isinstance(value, (list, tuple)):
            return [tidy(v) for v in value]
        if isinstance(value, dict):
            return {str(k): tidy(v) for k, v in value.items()}
        return value

    text = json.dumps([CACHE_VERSION, tidy(list(parts))], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class FrameCache:
    """Images and latents on disk under `root`; `root=None` keeps nothing (every lookup misses)."""

    def __init__(self, root: Path | None, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0

    def _path(self, key: str, suffix: str) -> Path:
        assert self.root is not None
        return self.root / key[:2] / f"{key}{suffix}"

    def get_image(self, key: str) -> np.ndarray | None:
        """The cached RGB uint8 image for `key`, or None (also for an unreadable file)."""
        if self.root is None:
            return None
        path = self._path(key, ".png")
        if not path.is_file():
            self.misses += 1
            return None
        from PIL import Image

        try:
            with Image.open(path) as image:
                rgb = np.asarray(image.convert("RGB"))
        except (OSError, ValueError):
            log.warning("ignoring unreadable cached frame %s", path)
            self.misses += 1
            return None
        self.hits += 1
        _touch(path)
        return rgb

    def put_image(self, key: str, rgb: np.ndarray) -> None:
        """Keep `rgb`; a full disk or a read-only cache only costs a re-render later."""
        if self.root is None:
            return
        from PIL import Image

        path = self._path(key, ".png")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_name(f".{path.name}.{os.getpid()}.part")
            Image.fromarray(rgb).save(temp, format="PNG", compress_level=1)
            os.replace(temp, path)
        except OSError as error:
            log.warning("could not cache frame %s: %s", path, error)

    def get_array(self, key: str) -> np.ndarray | None:
        """A cached float array (keyframe latents) for `key`, or None."""
        if self.root is None:
            return None
        path = self._path(key, ".npy")
        if not path.is_file():
            return None
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            log.warning("ignoring unreadable cached array %s", path)
            return None
        _touch(path)
        return array

    def put_array(self, key: str, array: np.ndarray) -> None:
        """Keep a float array next to the images (never pickled)."""
        if self.root is None:
            return
        path = self._path(key, ".npy")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_name(f".{path.stem}.{os.getpid()}.part.npy")
            np.save(temp, np.ascontiguousarray(array), allow_pickle=False)
            os.replace(temp, path)
        except OSError as error:
            log.warning("could not cache array %s: %s", path, error)

    def prune(self) -> int:
        """Delete the least recently used files until the cache fits `max_bytes`; returns files deleted."""
        if self.root is None or not self.root.is_dir():
            return 0
        entries = []
        for path in self.root.glob("*/*"):
            try:
                stat = path.stat()
            except OSError:
                continue
            entries.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in entries)
        deleted = 0
        for _, size, path in sorted(entries):
            if total <= self.max_bytes:
                break
            try:
                path.unlink()
            except OSError:
                continue
            total -= size
            deleted += 1
        return deleted


def _touch(path: Path) -> None:
    """Mark a file as used now, so pruning keeps what recent renders read."""
    try:
        os.utime(path)
    except OSError:
        pass
