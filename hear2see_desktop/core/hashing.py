"""SHA-256 of files, streamed, so run records can name exact inputs and models without loading them."""

from __future__ import annotations

import hashlib
import os

_CHUNK_BYTES = 1 << 20


def sha256_file(path: str | os.PathLike[str], chunk_bytes: int = _CHUNK_BYTES) -> str:
    """The file's SHA-256 as lowercase hex, read in `chunk_bytes` pieces so memory stays flat."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()
