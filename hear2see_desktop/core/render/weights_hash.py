"""SHA-256 of a model's weights for the run record, cached so multi-GB files are hashed once.

The cache (in the app's cache folder) is keyed by path, size and modification time, so a changed
file is hashed again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from hear2see_desktop.core import paths
from hear2see_desktop.core.atomic import write_bytes_atomically
from hear2see_desktop.core.hashing import sha256_file

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".ckpt", ".pt", ".pth")


def _cache_file() -> Path:
    return paths.cache_dir() / "weights-sha256.json"


def _load_cache() -> dict[str, str]:
    try:
        data = json.loads(_cache_file().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _save_cache(cache: dict[str, str]) -> None:
    target = _cache_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomically(target, json.dumps(cache, indent=0).encode("utf-8"))
    except OSError:
        pass  # a cache that can't be written only costs time


def cached_sha256(path: Path) -> str:
    """SHA-256 of one file, reusing the cached value while size and mtime are unchanged."""
    resolved = path.resolve()
    stat = resolved.stat()
    key = f"{resolved}|{stat.st_size}|{stat.st_mtime_ns}"
    cache = _load_cache()
    if key not in cache:
        cache[key] = sha256_file(resolved)
        _save_cache(cache)
    return cache[key]


def weights_sha256(path: Path) -> str:
    """One hash for a checkpoint file, or for all weight files of a diffusers folder (by relative name)."""
    if path.is_file():
        return cached_sha256(path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in WEIGHT_SUFFIXES):
        digest.update(str(file.relative_to(path)).encode("utf-8"))
        digest.update(cached_sha256(file).encode("ascii"))
    return digest.hexdigest()


def weights_fingerprint(path: Path) -> str:
    """A cheap identity of a model's weights (names, sizes, modification times), for the frame cache.

    Hashing gigabytes before the first frame would delay the first preview by seconds on a cold
    model, so the cache keys use this; the run record still gets the full SHA-256.
    """
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()
                                                  and p.suffix.lower() in WEIGHT_SUFFIXES)
    digest = hashlib.sha256()
    for file in files:
        stat = file.stat()
        digest.update(f"{file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()
