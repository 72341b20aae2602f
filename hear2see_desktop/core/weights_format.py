"""What a weights file is, read from its first bytes: the model manager's imports and the renderer share it.

A safetensors file starts with an 8-byte header length and a JSON header naming every tensor and where
its bytes end, so a damaged or truncated file shows itself in a few kilobytes whatever its size. Pickle
checkpoints (`.ckpt`, `.pt`, `.pth`, `.bin`) can run code when loaded: the app refuses them everywhere.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any

from hear2see_desktop.core.errors import BadInputError

PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin")
MAX_HEADER_BYTES = 100 * 1024 * 1024  # safetensors' own limit


def safetensors_header(path: Path, what: str) -> dict[str, Any]:
    """The JSON header of the .safetensors file `path`, after checking that the file holds all its tensors.

    `what` says what the file is in the sentence ("The checkpoint", "The LoRA"); damaged files raise
    `BadInputError`: not safetensors at all, or cut short (a download or copy that stopped).
    """
    try:
        with open(path, "rb") as file:
            size_bytes = file.seek(0, os.SEEK_END)
            file.seek(0)
            prefix = file.read(8)
            header_bytes = struct.unpack("<Q", prefix)[0] if len(prefix) == 8 else -1
            if not 2 <= header_bytes <= MAX_HEADER_BYTES:
                raise _not_safetensors(path, what)
            raw = file.read(header_bytes)
    except OSError as error:
        raise BadInputError(f"{what} {path} could not be read ({error.strerror or error}): check that the file "
                            "is there and that you may read it.") from error
    if len(raw) < header_bytes:
        if raw.lstrip()[:1] == b"{":
            raise _cut_short(path, what, size_bytes, 8 + header_bytes)
        raise _not_safetensors(path, what)
    try:
        header = json.loads(raw.decode("utf-8"))
        ends = [int(info["data_offsets"][1]) for name, info in header.items() if name != "__metadata__"]
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
        raise _not_safetensors(path, what) from error
    needed = 8 + header_bytes + max(ends, default=0)
    if size_bytes < needed:
        raise _cut_short(path, what, size_bytes, needed)
    return header


def _not_safetensors(path: Path, what: str) -> BadInputError:
    return BadInputError(f"{what} {path} is not a safetensors file (its header is unreadable): download it "
                         "again, or choose another file.")


def _cut_short(path: Path, what: str, have: int, need: int) -> BadInputError:
    return BadInputError(f"{what} {path} is cut short ({_size(have)} of {_size(need)}): the download or copy "
                         "stopped part-way, so download or copy it again.")


def _size(size_bytes: int) -> str:
    return f"{size_bytes / 2**20:.1f} MB" if size_bytes >= 2**20 else f"{size_bytes / 1024:.0f} KB"
